import type { ResolvedConfig } from '../config/types.js';
import { MtlError } from '../errors.js';
import { readResolvedConfig } from '../runs/inputs.js';
import type { StoredRunMeta } from '../runs/meta.js';
import { configDifferences, formatChange } from './config-diff.js';
import { dataFilePath } from './run-description.js';

/** A run's resolved config as `compare` reads it: absent when config.resolved.json cannot be read. */
export interface ComparedConfig {
  resolved?: ResolvedConfig;
  /** The CSV the run read, as an absolute path (a config names it relative to its own folder). */
  dataFile?: string;
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
  return { resolved, ...(dataFile ? { dataFile } : {}) };
}

/**
 * Why two runs did not train on the same data, one line per reason: another built-in dataset or CSV file (by the
 * path it resolves to, so the same file named from two config folders is the same data), other dataset options, another
 * split. Empty when the data is the same as far as the configs tell, or when a config cannot be read.
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
  if (sourceA !== sourceB) reasons.push(`${sourceA} → ${sourceB}`);
  for (const field of ['options', 'split'] as const) {
    reasons.push(...configDifferences(a[field], b[field], `data.${field}`).map(formatChange));
  }
  return reasons;
}
