import path from 'node:path';
import type { ResolvedConfig } from '../config/types.js';
import { dataGroups, hasOwnData } from '../data/data-groups.js';
import { MtlError } from '../errors.js';
import { readResolvedConfig } from '../runs/inputs.js';
import type { StoredRunMeta } from '../runs/meta.js';

/** What tells runs apart at a glance: `mtl runs` and `mtl compare` show it (text and --json). */
export interface RunDescription {
  /** `model.architecture`; absent when the run's config.resolved.json cannot be read. */
  architecture?: string;
  /** The strategy as it ran (meta.json), else as configured. */
  strategy?: string;
  /** Gradient methods: the target their task gradients were taken on. */
  gradTarget?: 'params' | 'representation';
  /** A built-in dataset's name, or the CSV path (relative to the current folder when under it). */
  data?: string;
  seed: number;
}

/**
 * The run's description from its meta.json and config.resolved.json. A listing must not fail for one damaged run, so
 * an unreadable config leaves the fields it would give absent (`mtl runs` shows `?`).
 */
export function describeRun(dir: string, meta: StoredRunMeta): RunDescription {
  const config = readConfigIfAny(dir);
  const strategy = meta.strategy?.name ?? config?.strategy.name;
  const gradTarget = meta.strategy?.gradTarget;
  const data = config && dataLabel(config, meta);
  return {
    ...(config ? { architecture: config.model.architecture } : {}),
    ...(strategy ? { strategy } : {}),
    ...(gradTarget ? { gradTarget } : {}),
    ...(data ? { data } : {}),
    seed: meta.seed,
  };
}

/** The run's resolved config, or undefined when it cannot be read (a damaged or partial run). */
export function readConfigIfAny(dir: string): ResolvedConfig | undefined {
  try {
    return readResolvedConfig(dir);
  } catch (error) {
    if (error instanceof MtlError) return undefined;
    throw error;
  }
}

/** Where a run's CSV is: its config names it relative to the config's folder. */
export function dataFilePath(config: ResolvedConfig, meta: StoredRunMeta): string | undefined {
  if (config.data.csv === undefined) return undefined;
  const configDir = meta.configFile ? path.dirname(meta.configFile) : meta.cwd;
  return path.resolve(meta.cwd, configDir, config.data.csv);
}

/**
 * The data column: a built-in dataset's name or the CSV's path; for a run whose tasks have their own data, each data
 * group's, in group order, joined by `+` (`source.csv+target.csv`).
 */
function dataLabel(config: ResolvedConfig, meta: StoredRunMeta): string | undefined {
  if (hasOwnData(config)) {
    const labels = dataGroups(config).map((group) => sourceLabel({ ...config, data: group.data }, meta) ?? '?');
    return labels.join('+');
  }
  return sourceLabel(config, meta);
}

function sourceLabel(config: ResolvedConfig, meta: StoredRunMeta): string | undefined {
  if (config.data.dataset !== undefined) return config.data.dataset;
  const file = dataFilePath(config, meta);
  if (file === undefined) return undefined;
  const relative = path.relative(process.cwd(), file);
  return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}

/** `pcgrad` or `pcgrad (representation)`: the text form of a description's strategy. */
export function strategyLabel(description: Pick<RunDescription, 'strategy' | 'gradTarget'>): string {
  if (!description.strategy) return '?';
  return description.gradTarget === 'representation' ? `${description.strategy} (repr.)` : description.strategy;
}
