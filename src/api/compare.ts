import { UsageError } from '../errors.js';
import { DELTA_M_DEFINITION, deltaMBreakdown, relativeImprovement, type DeltaMTerm } from '../metrics/aggregate.js';
import { higherIsBetter, metricName, taskName } from '../metrics/direction.js';
import { openRun, resolveRunsDir } from '../runs/store.js';
import { readSummary } from '../runs/summary.js';
import { suggest } from '../util/suggest.js';

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
   * Δm against the first run (see {@link DELTA_M_DEFINITION}), a fraction: +0.05 means 5 % better on average. Null
   * when it is undefined (a metric missing or not finite, a baseline of 0: `deltaMProblems` says which); absent for
   * the baseline itself.
   */
  deltaM?: number | null;
  /** Per task, the mean signed relative change over its metrics (null where undefined); absent for the baseline. */
  deltaMPerTask?: Record<string, number | null>;
  /** Why `deltaM` is null, one line per metric at fault; absent when it is a number. */
  deltaMProblems?: string[];
}

export interface ComparisonRow {
  metric: string;
  higherIsBetter: boolean;
  /** One value per run, in the order given (undefined when a run lacks the metric, NaN when it is not finite). */
  values: (number | undefined)[];
  /** Signed relative improvement of each run over the first (positive = better). */
  relative: (number | undefined)[];
}

export interface Comparison {
  split: 'test' | 'val';
  runs: ComparedRun[];
  rows: ComparisonRow[];
  /** The metrics Δm is computed over: the baseline's per-task metrics (not the means, not the losses). */
  deltaMMetrics: string[];
  /** How Δm is defined, and when it is undefined. */
  deltaMDefinition: string;
}

/** Side-by-side per-task metrics of finished runs, with per-metric deltas and Δm against the first run. */
export function compareRuns(references: string[], options: CompareOptions = {}): Comparison {
  if (references.length < 1) throw new UsageError('compare needs at least one run (the first one is the baseline).');
  const split = options.split ?? 'test';
  const store = resolveRunsDir(options.runsDir);
  const summaries = references.map((reference) => {
    const { id, dir } = openRun(reference, store);
    return readSummary(dir, id);
  });
  const keys = new Set<string>();
  for (const s of summaries) for (const k of Object.keys(s[split])) keys.add(k);
  const selected = [...keys]
    .filter((k) => !options.metric || metricName(k) === options.metric)
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  if (selected.length === 0) {
    if (options.metric === undefined)
      throw new UsageError(`These runs report no ${split} metrics (an empty ${split} split?); try --split val.`);
    throw unknownMetric(options.metric, keys);
  }
  const baseline = summaries[0]!;
  const rows: ComparisonRow[] = selected.map((metric) => {
    const higher = higherIsBetter(metric);
    const values = summaries.map((s) => s[split][metric]);
    const base = values[0];
    return {
      metric,
      higherIsBetter: higher,
      values,
      relative: values.map((v, i) =>
        i === 0 || v === undefined || base === undefined ? undefined : relativeImprovement(v, base, higher),
      ),
    };
  });
  // Δm is over what the baseline reports: a run lacking one of those metrics gets no Δm, never a better one.
  const deltaMMetrics = selected.filter((k) => rank(k) === 0 && baseline[split][k] !== undefined);
  const runs: ComparedRun[] = summaries.map((s, i) => {
    const entry: ComparedRun = { id: s.id, name: s.name, status: s.status };
    if (i === 0) return entry;
    const terms: DeltaMTerm[] = deltaMMetrics.map((key) => ({
      task: taskName(key),
      metric: metricName(key),
      value: s[split][key],
      baseline: baseline[split][key],
      higherIsBetter: higherIsBetter(key),
    }));
    const breakdown = deltaMBreakdown(terms);
    entry.deltaM = breakdown.value ?? null;
    entry.deltaMPerTask = Object.fromEntries(Object.entries(breakdown.perTask).map(([task, v]) => [task, v ?? null]));
    if (breakdown.problems.length > 0) entry.deltaMProblems = breakdown.problems;
    return entry;
  });
  return { split, runs, rows, deltaMMetrics, deltaMDefinition: DELTA_M_DEFINITION };
}

function unknownMetric(metric: string, keys: ReadonlySet<string>): UsageError {
  const reported = [...new Set([...keys].map(metricName))].sort();
  const guess = suggest(metric, reported);
  return new UsageError(`No metric "${metric}" in these runs${guess ? `; did you mean "${guess}"?` : '.'}`, [
    `they report: ${reported.join(', ')}`,
  ]);
}

/** Per-task metrics first, then the means, then losses. */
function rank(key: string): number {
  if (metricName(key) === 'loss') return 2;
  if (taskName(key) === 'mean') return 1;
  return 0;
}
