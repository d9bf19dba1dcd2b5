import { UsageError } from '../errors.js';
import { DELTA_M_DEFINITION, deltaMBreakdown, relativeImprovement, type DeltaMTerm } from '../metrics/aggregate.js';
import { higherIsBetter, metricName, taskName } from '../metrics/direction.js';
import { openRun, resolveRunsDir } from '../runs/store.js';
import { readSummary, type RunSummary } from '../runs/summary.js';
import { suggest } from '../util/suggest.js';
import { configDifferences, type ConfigChange } from './config-diff.js';
import { dataDifferences, readComparedConfig } from './data-identity.js';
import { describeRun, type RunDescription } from './run-description.js';

export interface CompareOptions {
  runsDir?: string;
  /** Only this metric name (e.g. `accuracy`), across tasks. */
  metric?: string;
  split?: 'test' | 'val';
}

export interface ComparedRun extends RunDescription {
  id: string;
  name: string;
  status: string;
  /**
   * Where this run's resolved config differs from the baseline's (only the differences, dotted paths); absent for
   * the baseline itself.
   */
  configChanges?: ConfigChange[];
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
  /** What makes the comparison doubtful: runs trained on different data, runs without metrics on this split. */
  warnings: string[];
}

/** Side-by-side per-task metrics of finished runs, with per-metric deltas and Δm against the first run. */
export function compareRuns(references: string[], options: CompareOptions = {}): Comparison {
  if (references.length < 1) throw new UsageError('compare needs at least one run (the first one is the baseline).');
  const split = options.split ?? 'test';
  const store = resolveRunsDir(options.runsDir);
  const opened = references.map((reference) => {
    const { id, dir, meta } = openRun(reference, store);
    return {
      summary: readSummary(dir, id),
      description: describeRun(dir, meta),
      config: readComparedConfig(dir, meta),
    };
  });
  const summaries = opened.map((run) => run.summary);
  const keys = new Set<string>();
  for (const s of summaries) for (const k of Object.keys(s[split])) keys.add(k);
  const selected = [...keys]
    .filter((k) => !options.metric || metricName(k) === options.metric)
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  if (keys.size === 0) throw noMetrics(summaries, split);
  if (selected.length === 0) throw unknownMetric(options.metric ?? '', keys);
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
    const { description, config } = opened[i]!;
    const entry: ComparedRun = { id: s.id, name: s.name, status: s.status, ...description };
    if (i === 0) return entry;
    const base = opened[0]!.config.resolved;
    if (base && config.resolved) entry.configChanges = configDifferences(base, config.resolved);
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
  const warnings = [
    ...opened.slice(1).flatMap(({ summary, config }) => {
      const differences = dataDifferences(opened[0]!.config, config);
      if (differences.length === 0) return [];
      return [
        `${summary.id} was trained on other data than ${baseline.id} (${differences.join('; ')}): its metrics are ` +
          "not comparable with the baseline's",
      ];
    }),
    ...summaries
      .filter((s) => Object.keys(s[split]).length === 0)
      .map((s) => `${s.id} has no ${split} metrics (its ${split} split was empty); its column shows —`),
  ];
  return { split, runs, rows, deltaMMetrics, deltaMDefinition: DELTA_M_DEFINITION, warnings };
}

/** Not one of the runs reports a metric on this split: say which split, and where metrics are. */
function noMetrics(summaries: readonly RunSummary[], split: 'test' | 'val'): UsageError {
  const other = split === 'test' ? 'val' : 'test';
  const hasOther = summaries.some((s) => Object.keys(s[other]).length > 0);
  const only = summaries.length === 1 ? summaries[0] : undefined;
  const message = only
    ? `Run ${only.id} has no ${split} metrics: its ${split} split was empty.`
    : `None of these runs has ${split} metrics: their ${split} splits were empty.`;
  return new UsageError(message, [
    hasOther ? `compare on the ${other} split: --split ${other}` : `give the data a ${split} split and train again`,
  ]);
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
