import path from 'node:path';
import { existsSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { meanOver, relativeImprovement } from '../metrics/aggregate.js';
import { readJson, resolveRun, resolveRunsDir } from '../runs/store.js';
import { higherIsBetter } from '../train/evaluate.js';
import type { RunSummary } from './train.js';

export interface CompareOptions {
  runsDir?: string;
  /** Only this metric name (e.g. `accuracy`), across tasks. */
  metric?: string;
  split?: 'test' | 'val';
}

export interface ComparedRun {
  id: string;
  name: string;
  status: string;
  /**
   * Δm against the first run (Maninis et al. 2019; Vandenhende et al. 2021): the mean over tasks of the mean over
   * that task's metrics of the signed relative change, (M − M_base)/|M_base|, negated for lower-is-better metrics.
   * A fraction: +0.05 means 5 % better on average. Undefined for the baseline itself.
   */
  deltaM?: number;
}

export interface ComparisonRow {
  metric: string;
  higherIsBetter: boolean;
  /** One value per run, in the order given (undefined when a run lacks the metric). */
  values: (number | undefined)[];
  /** Signed relative improvement of each run over the first (positive = better). */
  relative: (number | undefined)[];
}

export interface Comparison {
  split: 'test' | 'val';
  runs: ComparedRun[];
  rows: ComparisonRow[];
}

/** Side-by-side per-task metrics of finished runs, with per-metric deltas and Δm against the first run. */
export function compareRuns(references: string[], options: CompareOptions = {}): Comparison {
  if (references.length < 1) throw new UsageError('compare needs at least one run (the first one is the baseline).');
  const split = options.split ?? 'test';
  const store = resolveRunsDir(options.runsDir);
  const summaries = references.map((reference) => {
    const { id, dir } = resolveRun(reference, store);
    const file = path.join(dir, 'summary.json');
    if (!existsSync(file)) throw new UsageError(`Run ${id} has no summary.json yet (still running, or it failed before the end).`);
    return readJson<RunSummary>(file);
  });
  const keys = new Set<string>();
  for (const s of summaries) for (const k of Object.keys(s[split])) keys.add(k);
  const selected = [...keys]
    .filter((k) => !options.metric || k.endsWith(`/${options.metric}`))
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  if (selected.length === 0) {
    throw new UsageError(`No metric "${options.metric}" in these runs; they report: ${[...new Set([...keys].map((k) => k.split('/')[1]))].join(', ')}.`);
  }
  const baseline = summaries[0] as RunSummary;
  const rows: ComparisonRow[] = selected.map((metric) => {
    const higher = higherIsBetter(metric);
    const values = summaries.map((s) => s[split][metric]);
    const base = values[0];
    return {
      metric,
      higherIsBetter: higher,
      values,
      relative: values.map((v, i) => (i === 0 || v === undefined || base === undefined ? undefined : relativeImprovement(v, base, higher))),
    };
  });
  const perTaskKeys = selected.filter((k) => !k.startsWith('mean/') && !k.endsWith('/loss'));
  const runs: ComparedRun[] = summaries.map((s, i) => {
    const entry: ComparedRun = { id: s.id, name: s.name, status: s.status };
    if (i === 0) return entry;
    const byTask = new Map<string, number[]>();
    for (const key of perTaskKeys) {
      const value = s[split][key];
      const base = baseline[split][key];
      if (value === undefined || base === undefined) continue;
      const task = key.slice(0, key.lastIndexOf('/'));
      byTask.set(task, [...(byTask.get(task) ?? []), relativeImprovement(value, base, higherIsBetter(key))]);
    }
    if (byTask.size > 0) entry.deltaM = meanOver([...byTask.values()].map((v) => meanOver(v)));
    return entry;
  });
  return { split, runs, rows };
}

/** Per-task metrics first, then the means, then losses. */
function rank(key: string): number {
  if (key.endsWith('/loss')) return 2;
  if (key.startsWith('mean/')) return 1;
  return 0;
}
