import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import type { ResolvedConfig } from '../config/types.js';
import { dataGroups } from '../data/data-groups.js';
import { writeJsonAtomic } from './atomic.js';
import { JsonFields } from './json.js';
import { runFile } from './layout.js';

/**
 * The CSV file a run trained on, as it was then: data-source.json. `mtl compare` tells by it whether two runs read
 * the same data, also when the file was edited in place between them or copied to another folder. Built-in datasets
 * are generated from their options and the seed, which the resolved config already holds: they have no such file.
 */
export interface DataSource {
  /** Absolute path of the CSV when the run read it. */
  file: string;
  bytes: number;
  sha256: string;
}

/** The fingerprint of a config's CSV (`configDir`: where its relative path starts); undefined for built-in data. */
export function fingerprintData(config: ResolvedConfig, configDir: string): DataSource | undefined {
  if (config.data.csv === undefined) return undefined;
  const file = path.resolve(configDir, config.data.csv);
  try {
    return { file, ...hashFile(file) };
  } catch {
    return undefined; // read a moment ago by training: gone now, it is no fingerprint that the comparison could use
  }
}

/** sha256 and size, read in 1 MiB pieces (a CSV of 100 MB takes about 0.3 s, less than parsing it did). */
function hashFile(file: string): { bytes: number; sha256: string } {
  const hash = createHash('sha256');
  const piece = Buffer.alloc(1 << 20);
  const fd = openSync(file, 'r');
  let bytes = 0;
  try {
    for (let read = readSync(fd, piece); read > 0; read = readSync(fd, piece)) {
      hash.update(piece.subarray(0, read));
      bytes += read;
    }
  } finally {
    closeSync(fd);
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** One data group of a multi-input run: where its source is written, its tasks, its CSV's fingerprint (if a CSV). */
export interface GroupSource {
  field: string;
  tasks: string[];
  source?: DataSource;
}

/** Each data group's fingerprint (data/multi-input.ts `dataGroups`), for a config whose tasks have their own data. */
export function fingerprintGroups(config: ResolvedConfig, configDir: string): GroupSource[] {
  return dataGroups(config).map((group) => {
    const source = fingerprintData({ ...config, data: group.data }, configDir);
    return { field: group.field, tasks: group.tasks.map((t) => t.name), ...(source ? { source } : {}) };
  });
}

export function writeDataGroups(runDir: string, groups: GroupSource[]): void {
  writeJsonAtomic(runFile(runDir, 'dataGroups'), { groups });
}

/** A multi-input run's data-groups.json; undefined for single-source runs and runs made before the file existed. */
export function readDataGroupsIfAny(runDir: string): GroupSource[] | undefined {
  const file = runFile(runDir, 'dataGroups');
  if (!existsSync(file)) return undefined;
  return JsonFields.read(file)
    .objects('groups')
    .map((group) => {
      const source = group.has('source') ? group.object('source') : undefined;
      return {
        field: group.string('field'),
        tasks: group.strings('tasks'),
        ...(source
          ? { source: { file: source.string('file'), bytes: source.number('bytes'), sha256: source.string('sha256') } }
          : {}),
      };
    });
}

export function writeDataSource(runDir: string, source: DataSource): void {
  writeJsonAtomic(runFile(runDir, 'dataSource'), source);
}

/** A run's data-source.json; undefined for built-in data and for runs made before the file existed. */
export function readDataSourceIfAny(runDir: string): DataSource | undefined {
  const file = runFile(runDir, 'dataSource');
  if (!existsSync(file)) return undefined;
  const fields = JsonFields.read(file);
  return { file: fields.string('file'), bytes: fields.number('bytes'), sha256: fields.string('sha256') };
}
