/**
 * `mtl compare --sweep ID`: one row per configuration of a sweep (its completed trials with the same overrides and
 * task subset, seeds pooled), or per value of the `--group-by` config paths (everything else pooled). Per row: the
 * config paths whose value differs between rows, n, per task its main metric as mean ± sample std over the row's
 * trials, Δm against `--baseline` (metrics/aggregate.ts, of the row's means against the baseline's), the rank
 * ({@link rankRule}) and whether it is Pareto-optimal among the rows with its task set (analysis/pareto.ts).
 */
import { PARETO_RULE, paretoOptimal } from '../analysis/pareto.js';
import { seedStatistic } from '../analysis/seed-statistics.js';
import type { SeedStatistic } from '../analysis/types.js';
import type { ResolvedConfig } from '../config/types.js';
import { UsageError } from '../errors.js';
import { DELTA_M_DEFINITION, deltaMBreakdown } from '../metrics/aggregate.js';
import { higherIsBetter, metricName, taskName } from '../metrics/direction.js';
import { readMeta } from '../runs/meta.js';
import { resolveRunsDir } from '../runs/store.js';
import { readSweepMeta, type SweepMeta } from '../runs/sweeps.js';
import { suggest } from '../util/suggest.js';
import { meanMetrics, resolveSweepBaseline, type SweepBaseline } from './compare-sweep-baseline.js';
import { readComparedConfig } from './data-identity.js';
import { resolveSweep } from './sweep-status.js';
import { readComparedTrials, type ComparedTrial, type LeftOutTrial } from './sweep-trials.js';

export { PARETO_RULE } from '../analysis/pareto.js';

export const MAIN_METRIC_RULE =
  "a task's main metric is the first of its config's `metrics` (by default its kind's first: accuracy for " +
  'multiclass, binary and multilabel, mse for regression), or --metric when given';
export const SPLIT_RULE = 'test when every compared trial has test metrics, else val (or --split when given)';
export const DELTA_M_RULE =
  "Δm of the row's means against the baseline's, over the per-task metrics the baseline reports (not means, not " +
  'losses): a row lacking one of them (another task subset) has no Δm';

export function rankRule(by: 'deltaM' | 'monitor', monitor: SweepMeta['monitor']): string {
  if (by === 'deltaM') return 'by Δm against the baseline, best first; rows without Δm last; ties by trial order';
  return (
    `by the sweep's monitor metric ${monitor.metric} on val (mean over the row's trials, ` +
    `${monitor.higherIsBetter ? 'higher' : 'lower'} is better), best first; rows without it last; ties by trial order`
  );
}

export interface CompareSweepOptions {
  runsDir?: string;
  /** Pool by the values of these config paths (`strategy.name`; `tasks` is the task subset). */
  groupBy?: string[];
  /** A run, a seed group or a config file. */
  baseline?: string;
  split?: 'test' | 'val';
  /** This metric name for every task instead of its main metric. */
  metric?: string;
}

export interface SweepMetricColumn {
  task: string;
  /** `<task>/<metric>`. */
  key: string;
  higherIsBetter: boolean;
}

export interface SweepComparisonRow {
  rank: number;
  /** The value of each path in `paths`, as text (`—` where the row's trials lack it). */
  config: Record<string, string>;
  /** The row's task set (names). */
  tasks: string[];
  /** Trials pooled, and their seeds (sorted, distinct). */
  n: number;
  seeds: number[];
  trials: string[];
  /** Per column key, mean ± sample std over the row's trials (absent for a task the row lacks). */
  metrics: Record<string, SeedStatistic>;
  /** The monitor metric's mean on val (absent when no trial reports it). */
  monitor?: number;
  /** Only with a baseline: null when undefined (see deltaMProblems). */
  deltaM?: number | null;
  deltaMProblems?: string[];
  /** Pareto-optimal among the rows with the same task set; null when a main metric is missing. */
  pareto: boolean | null;
}

export interface SweepComparison {
  sweep: { id: string; name: string; dir: string };
  split: 'test' | 'val';
  splitRule: string;
  /** The `--group-by` paths, or null: one row per configuration. */
  groupBy: string[] | null;
  /** The config paths shown: those whose value differs between rows. */
  paths: string[];
  columns: SweepMetricColumn[];
  mainMetricRule: string;
  baseline?: SweepBaseline;
  deltaMRule?: string;
  deltaMMetrics?: string[];
  deltaMDefinition?: string;
  ranking: { by: 'deltaM' | 'monitor'; rule: string };
  paretoRule: string;
  rows: SweepComparisonRow[];
  leftOut: LeftOutTrial[];
  notes: string[];
}

export function compareSweep(reference: string, options: CompareSweepOptions = {}): SweepComparison {
  const store = resolveRunsDir(options.runsDir);
  const { id, dir } = resolveSweep(reference, options.runsDir);
  const meta = readSweepMeta(dir);
  const { trials, leftOut, notes } = readComparedTrials(dir, meta);
  if (trials.length === 0)
    throw new UsageError(`Sweep ${id} has no completed trial to compare (${meta.trials.length} planned).`, [
      `see where it stands: mtl sweep status ${id}; run it: mtl sweep ${meta.sweepFile}`,
    ]);
  if (leftOut.length > 0)
    notes.unshift(
      `${leftOut.length} of ${meta.trials.length} trials left out: ` +
        leftOut.map((t) => `${t.id} (${t.status}${t.reason === 'not completed' ? '' : `: ${t.reason}`})`).join(', '),
    );
  const split = options.split ?? (trials.every((t) => Object.keys(t.summary.test).length > 0) ? 'test' : 'val');
  const groupBy = options.groupBy && options.groupBy.length > 0 ? options.groupBy : undefined;
  if (groupBy) checkGroupByPaths(groupBy, trials);
  const pooled = poolTrials(trials, groupBy);
  const columns = metricColumns(trials, options.metric);
  if (options.metric !== undefined) checkMetricReported(options.metric, columns, trials, split);
  const paths = differingPaths(pooled.map((p) => p.values));
  const baseline = options.baseline
    ? resolveSweepBaseline(options.baseline, {
        store,
        split,
        sweepId: id,
        trials: trials.map((t) => ({ id: t.record.id, resolved: t.resolved, metrics: t.summary[split] })),
        sweepData: readComparedConfig(trials[0]!.dir, readMeta(trials[0]!.dir)),
      })
    : undefined;
  const deltaMMetrics = baseline
    ? Object.keys(baseline.metrics)
        .filter((k) => metricName(k) !== 'loss' && taskName(k) !== 'mean')
        .sort()
    : undefined;
  const rows = pooled.map((group): SweepComparisonRow => {
    const metrics: Record<string, SeedStatistic> = {};
    for (const column of columns) {
      if (!group.tasks.includes(column.task)) continue;
      metrics[column.key] = seedStatistic(group.trials.map((t) => t.summary[split][column.key] ?? NaN));
    }
    const monitor = seedStatistic(group.trials.map((t) => t.summary.val[meta.monitor.metric] ?? NaN));
    const row: SweepComparisonRow = {
      rank: 0,
      config: Object.fromEntries(paths.map((p) => [p, group.values.get(p) ?? '—'])),
      tasks: group.tasks,
      n: group.trials.length,
      seeds: [...new Set(group.trials.map((t) => t.record.seed))].sort((a, b) => a - b),
      trials: group.trials.map((t) => t.record.id),
      metrics,
      ...(monitor.n > 0 ? { monitor: monitor.mean } : {}),
      pareto: null,
    };
    if (baseline && deltaMMetrics) {
      const means = meanMetrics(group.trials.map((t) => ({ metrics: t.summary[split] })));
      const breakdown = deltaMBreakdown(
        deltaMMetrics.map((key) => ({
          task: taskName(key),
          metric: metricName(key),
          value: means[key],
          baseline: baseline.metrics[key],
          higherIsBetter: higherIsBetter(key),
        })),
      );
      row.deltaM = breakdown.value ?? null;
      if (breakdown.problems.length > 0) row.deltaMProblems = breakdown.problems;
    }
    return row;
  });
  markPareto(rows, columns);
  const by = baseline ? 'deltaM' : 'monitor';
  const order = rows.map((row, i) => ({ row, i, score: score(row, by, meta.monitor.higherIsBetter) }));
  order.sort((a, b) => b.score - a.score || a.i - b.i);
  for (const [position, { row }] of order.entries()) row.rank = position + 1;
  return {
    sweep: { id, name: meta.name, dir },
    split,
    splitRule: SPLIT_RULE,
    groupBy: groupBy ?? null,
    paths,
    columns,
    mainMetricRule: MAIN_METRIC_RULE,
    ...(baseline
      ? { baseline, deltaMRule: DELTA_M_RULE, deltaMMetrics: deltaMMetrics ?? [], deltaMDefinition: DELTA_M_DEFINITION }
      : {}),
    ranking: { by, rule: rankRule(by, meta.monitor) },
    paretoRule: PARETO_RULE,
    rows: order.map((o) => o.row),
    leftOut,
    notes,
  };
}

/** Higher is better; a row that cannot be ranked scores −Infinity (last). */
function score(row: SweepComparisonRow, by: 'deltaM' | 'monitor', monitorHigher: boolean): number {
  const value = by === 'deltaM' ? row.deltaM : row.monitor;
  if (typeof value !== 'number' || !Number.isFinite(value)) return Number.NEGATIVE_INFINITY;
  return by === 'monitor' && !monitorHigher ? -value : value;
}

interface PooledRow {
  /** Path → the value shown for it. */
  values: Map<string, string>;
  tasks: string[];
  trials: ComparedTrial[];
}

/** Rows in the order of their first trial: by configuration (overrides + task subset), or by the group-by values. */
function poolTrials(trials: readonly ComparedTrial[], groupBy: readonly string[] | undefined): PooledRow[] {
  const rows = new Map<string, PooledRow>();
  for (const trial of trials) {
    const tasks = trial.resolved.tasks.map((t) => t.name);
    const values = new Map<string, string>();
    if (groupBy) for (const p of groupBy) values.set(p, showValue(configValue(trial.resolved, p)));
    else {
      for (const override of trial.record.overrides) {
        const at = override.indexOf('=');
        values.set(override.slice(0, at), override.slice(at + 1));
      }
      values.set('tasks', tasks.join('+'));
    }
    const key = JSON.stringify([...values]);
    const row = rows.get(key) ?? { values, tasks, trials: [] };
    row.trials.push(trial);
    for (const name of tasks) if (!row.tasks.includes(name)) row.tasks.push(name);
    rows.set(key, row);
  }
  return [...rows.values()];
}

/** The paths (in first-seen order) whose shown value is not the same in every row. */
function differingPaths(rows: readonly Map<string, string>[]): string[] {
  const all = [...new Set(rows.flatMap((values) => [...values.keys()]))];
  return all.filter((p) => new Set(rows.map((values) => values.get(p) ?? '—')).size > 1);
}

/** Per task (in first-seen order), its main metric: --metric, else the first of its config's metrics. */
function metricColumns(trials: readonly ComparedTrial[], metric: string | undefined): SweepMetricColumn[] {
  const columns = new Map<string, SweepMetricColumn>();
  for (const trial of trials)
    for (const task of trial.resolved.tasks) {
      if (columns.has(task.name)) continue;
      const name = metric ?? task.metrics[0] ?? 'loss';
      const key = `${task.name}/${name}`;
      columns.set(task.name, { task: task.name, key, higherIsBetter: higherIsBetter(key) });
    }
  return [...columns.values()];
}

/** Pareto among rows with the same task set, on their main metrics' means; a row missing one is not judged. */
function markPareto(rows: SweepComparisonRow[], columns: readonly SweepMetricColumn[]): void {
  const sets = new Map<string, SweepComparisonRow[]>();
  for (const row of rows) {
    const key = [...row.tasks].sort().join('+');
    sets.set(key, [...(sets.get(key) ?? []), row]);
  }
  for (const members of sets.values()) {
    const own = columns.filter((c) => members[0]?.tasks.includes(c.task));
    const judged = members.filter((row) => own.every((c) => Number.isFinite(row.metrics[c.key]?.mean ?? NaN)));
    const points = judged.map((row) => own.map((c) => row.metrics[c.key]?.mean ?? NaN));
    const optimal = paretoOptimal(
      points,
      own.map((c) => c.higherIsBetter),
    );
    for (const [i, row] of judged.entries()) row.pareto = optimal[i] ?? null;
  }
}

/** The value at a dotted path (`strategy.name`, `tasks.0.weight`); `tasks` itself is the task names. */
export function configValue(config: ResolvedConfig, dotted: string): unknown {
  if (dotted === 'tasks') return config.tasks.map((t) => t.name).join('+');
  let value: unknown = config;
  for (const segment of dotted.split('.')) {
    if (Array.isArray(value)) value = value[Number(segment)];
    else if (isRecord(value)) value = value[segment];
    else return undefined;
  }
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function showValue(value: unknown): string {
  if (value === undefined) return '—';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** --metric that no compared trial reports on the split is a usage error naming what they report. */
function checkMetricReported(
  metric: string,
  columns: readonly SweepMetricColumn[],
  trials: readonly ComparedTrial[],
  split: 'test' | 'val',
): void {
  if (trials.some((t) => columns.some((c) => t.summary[split][c.key] !== undefined))) return;
  const reported = [...new Set(trials.flatMap((t) => Object.keys(t.summary[split]).map(metricName)))].sort();
  const guess = suggest(metric, reported);
  throw new UsageError(
    `--metric ${metric}: no compared trial reports it on ${split}${guess ? `; did you mean "${guess}"?` : '.'}`,
    [`they report: ${reported.join(', ')}`],
  );
}

/** A --group-by path that no trial's config has is a usage error, with the swept paths and a did-you-mean. */
function checkGroupByPaths(paths: readonly string[], trials: readonly ComparedTrial[]): void {
  const swept = [...new Set(trials.flatMap((t) => t.record.overrides.map((o) => o.slice(0, o.indexOf('=')))))];
  for (const p of paths) {
    if (trials.some((t) => configValue(t.resolved, p) !== undefined)) continue;
    const guess = suggest(p, [...swept, 'tasks', 'seed', 'strategy.name', 'model.architecture', 'training.lr']);
    throw new UsageError(
      `--group-by ${p}: no compared trial's config has this path${guess ? `; did you mean "${guess}"?` : '.'}`,
      [
        `give a dotted config path (strategy.name, training.lr, tasks for the task subset); this sweep varies: ${
          swept.length > 0 ? swept.join(', ') : 'only the task subsets or seeds'
        }`,
      ],
    );
  }
}
