import path from 'node:path';
import type { DataConfig, ResolvedConfig } from '../config/types.js';
import { hasOwnData } from '../data/data-groups.js';
import { MtlError } from '../errors.js';
import { readDataGroupsIfAny, readDataSourceIfAny, type DataSource, type GroupSource } from '../runs/data-source.js';
import { readResolvedConfig } from '../runs/inputs.js';
import type { StoredRunMeta } from '../runs/meta.js';
import { configDifferences, formatChange } from './config-diff.js';
import { dataFilePath } from './run-description.js';

/** A run's resolved config as `compare` reads it: absent when config.resolved.json cannot be read. */
export interface ComparedConfig {
  resolved?: ResolvedConfig;
  /** The CSV the run read, as an absolute path (a config names it relative to its own folder). */
  dataFile?: string;
  /** The CSV's size and sha256 when the run read it (runs made before data-source.json existed have none). */
  source?: DataSource;
  /** Multi-input runs: each data group's tasks and CSV fingerprint (data-groups.json). */
  groups?: GroupSource[];
  /** The folder the run's config names its CSVs relative to (absolute). */
  configDir?: string;
}

export function readComparedConfig(dir: string, meta: StoredRunMeta): ComparedConfig {
  let resolved: ResolvedConfig;
  try {
    resolved = readResolvedConfig(dir);
  } catch (error) {
    if (error instanceof MtlError) return {};
    throw error;
  }
  const dataFile = dataFilePath(resolved, meta);
  const source = readDataSourceIfAny(dir);
  const groups = readDataGroupsIfAny(dir);
  return {
    resolved,
    configDir: path.resolve(meta.cwd, meta.configFile ? path.dirname(meta.configFile) : meta.cwd),
    ...(dataFile ? { dataFile } : {}),
    ...(source ? { source } : {}),
    ...(groups ? { groups } : {}),
  };
}

/**
 * Why two runs did not train on the same data, one line per reason: another built-in dataset or CSV file (by the
 * bytes when both runs kept the CSV's sha256, else by the path it resolves to, so the same file named from two config
 * folders is the same data), other dataset options, another split. Empty when the data is the same as far as the runs
 * tell, or when a config cannot be read. Runs whose tasks have their own data (multi-input) are compared per task:
 * each task common to both runs, its source against its source (lines `tasks y, z: …`, tasks with the same reasons
 * together).
 */
export function dataDifferences(baseline: ComparedConfig, other: ComparedConfig): string[] {
  const a = baseline.resolved;
  const b = other.resolved;
  if (!a || !b) return [];
  if (!hasOwnData(a) && !hasOwnData(b)) {
    return sourceDifferences(
      { data: a.data, file: baseline.dataFile, sha256: baseline.source?.sha256 },
      { data: b.data, file: other.dataFile, sha256: other.source?.sha256 },
    );
  }
  const byReason = new Map<string, string[]>();
  for (const task of a.tasks) {
    if (!b.tasks.some((t) => t.name === task.name)) continue;
    for (const reason of sourceDifferences(taskSource(baseline, a, task.name), taskSource(other, b, task.name))) {
      byReason.set(reason, [...(byReason.get(reason) ?? []), task.name]);
    }
  }
  return [...byReason].map(
    ([reason, tasks]) => `${tasks.length === 1 ? 'task' : 'tasks'} ${tasks.join(', ')}: ${reason}`,
  );
}

interface SourceIdentity {
  data: DataConfig;
  file: string | undefined;
  sha256: string | undefined;
}

/** The data a task of a run read: its group's source, file (absolute) and the CSV's sha256 when the run kept it. */
function taskSource(compared: ComparedConfig, config: ResolvedConfig, task: string): SourceIdentity {
  const data = config.tasks.find((t) => t.name === task)?.data ?? config.data;
  const group = compared.groups?.find((g) => g.tasks.includes(task));
  // A single-source run (or one before data-groups.json): its top-level source.
  const sha256 = compared.groups ? group?.source?.sha256 : hasOwnData(config) ? undefined : compared.source?.sha256;
  const file =
    data.csv === undefined || compared.configDir === undefined ? data.csv : path.resolve(compared.configDir, data.csv);
  return { data, file, sha256 };
}

function sourceDifferences(a: SourceIdentity, b: SourceIdentity): string[] {
  const reasons: string[] = [];
  const source = (s: SourceIdentity): string =>
    s.data.dataset !== undefined ? `dataset ${s.data.dataset}` : `CSV ${s.file ?? s.data.csv}`;
  const sourceA = source(a);
  const sourceB = source(b);
  const hashA = a.sha256;
  const hashB = b.sha256;
  if (hashA !== undefined && hashB !== undefined) {
    // The file's bytes decide: a copy elsewhere is the same data, a file edited in place is not.
    if (hashA !== hashB) {
      reasons.push(
        sourceA === sourceB
          ? `${sourceA} changed between the runs: sha256 ${hashA.slice(0, 12)}… → ${hashB.slice(0, 12)}…`
          : `${sourceA} → ${sourceB}, other contents`,
      );
    }
  } else if (sourceA !== sourceB) reasons.push(`${sourceA} → ${sourceB}`);
  for (const field of ['options', 'split'] as const) {
    reasons.push(...configDifferences(a.data[field], b.data[field], `data.${field}`).map(formatChange));
  }
  return reasons;
}
