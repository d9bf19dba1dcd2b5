import type { ResolvedConfig } from '../config/types.js';
import { MtlError } from '../errors.js';
import { readDataSourceIfAny, type DataSource } from '../runs/data-source.js';
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
  return { resolved, ...(dataFile ? { dataFile } : {}), ...(source ? { source } : {}) };
}

/**
 * Why two runs did not train on the same data, one line per reason: another built-in dataset or CSV file (by the
 * bytes when both runs kept the CSV's sha256, else by the path it resolves to, so the same file named from two config
 * folders is the same data), other dataset options, another split. Empty when the data is the same as far as the runs
 * tell, or when a config cannot be read.
 */
export function dataDifferences(baseline: ComparedConfig, other: ComparedConfig): string[] {
  const a = baseline.resolved?.data;
  const b = other.resolved?.data;
  if (!a || !b) return [];
  const reasons: string[] = [];
  const source = (data: ResolvedConfig['data'], file: string | undefined): string =>
    data.dataset !== undefined ? `dataset ${data.dataset}` : `CSV ${file ?? data.csv}`;
  const sourceA = source(a, baseline.dataFile);
  const sourceB = source(b, other.dataFile);
  const hashA = baseline.source?.sha256;
  const hashB = other.source?.sha256;
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
    reasons.push(...configDifferences(a[field], b[field], `data.${field}`).map(formatChange));
  }
  return reasons;
}
