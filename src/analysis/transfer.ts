/**
 * Did multi-task learning help each task? The MTL run against its single-task baselines (issue #15).
 *
 * Per task t and metric m of the task (every `<t>/<m>` the baseline reports, losses left out — the metrics
 * `mtl compare` computes Δm over), the signed relative gain of MTL over the baseline
 *   r_{t,m} = s_m · (M_{t,m} − B_{t,m}) / |B_{t,m}|,  s_m = +1 if higher is better, −1 if lower,
 * the task's gain g_t = mean over its metrics of r_{t,m}, and Δm = mean over tasks of g_t (Maninis et al. 2019,
 * "Attentive Single-Tasking of Multiple Tasks", CVPR; LibMTL's `count_improvement`), computed by
 * metrics/aggregate.ts, so g_t and Δm are the numbers `mtl compare BASELINE RUN` gives. Each task is read from its own
 * baseline run (`single-task`) or from the one towers run (`towers`).
 *
 * Verdict with one seed ({@link singleSeedVerdict}): g_t < 0 → `negative-transfer-unconfirmed` (one seed cannot
 * tell a loss from seed-to-seed noise: train with `--seeds` to confirm it); g_t > 0 → `positive`; g_t = 0 →
 * `no-difference`. The rule across seeds is analysis/seed-statistics.ts's.
 *
 * Pairwise gains ({@link pairGains}): gains[`j>i`] = g_i of the run of the two tasks {i, j} over task i's single-task
 * run — the effect of adding task j on task i (keyed from>to, like the inter-task affinity).
 */
import { deltaMBreakdown, relativeImprovement, type DeltaMTerm } from '../metrics/aggregate.js';
import { higherIsBetter, metricName, taskName } from '../metrics/direction.js';
import type { MetricValues } from '../metrics/types.js';
import type {
  BaselineKind,
  MetricTransfer,
  PairTransfer,
  PairValues,
  TaskTransfer,
  TransferReport,
  TransferVerdict,
} from './types.js';

/** The rule {@link singleSeedVerdict} applies, as stored in transfer.json and printed. */
export const SINGLE_SEED_VERDICT_RULE =
  "one seed: a task whose gain (the mean over its metrics of MTL's signed relative change over its baseline) is " +
  'below 0 is negative-transfer-unconfirmed (one seed cannot tell it from seed-to-seed noise; train with --seeds ' +
  'to confirm it), above 0 positive, exactly 0 no-difference';

/** A task's verdict from one seed's gain (see the file's head); undefined where the gain is. */
export function singleSeedVerdict(gain: number | null): TransferVerdict | undefined {
  if (gain === null || !Number.isFinite(gain)) return undefined;
  if (gain < 0) return 'negative-transfer-unconfirmed';
  if (gain > 0) return 'positive';
  return 'no-difference';
}

/** The final metrics of one run on the compared split (summary.json's `test` or `val`). */
export type SplitMetrics = MetricValues;

export interface TransferInput {
  baseline: BaselineKind;
  split: 'test' | 'val';
  /** The tasks, in config order. */
  tasks: readonly string[];
  /** The MTL run's metrics on the split. */
  mtl: SplitMetrics;
  /** Per task, the metrics of the run that is its baseline (a single-task run, or the towers run for every task). */
  baselines: Readonly<Record<string, SplitMetrics>>;
  /** Per task, its baseline run relative to the MTL run's folder. */
  baselineRuns: Record<string, string>;
}

/** The per-task metric keys of `task` that `metrics` reports, losses left out, in the order stored. */
export function taskMetricKeys(metrics: SplitMetrics, task: string): string[] {
  return Object.keys(metrics).filter((key) => taskName(key) === task && metricName(key) !== 'loss');
}

/** MTL against the baselines, per task and overall (see the file's head). Pure: metrics in, report out. */
export function transferReport(input: TransferInput): TransferReport {
  const terms: DeltaMTerm[] = [];
  const perTaskMetrics = new Map<string, MetricTransfer[]>();
  for (const task of input.tasks) {
    const baseline = input.baselines[task] ?? {};
    const keys = taskMetricKeys(baseline, task);
    perTaskMetrics.set(
      task,
      keys.map((key) => metricTransfer(key, input.mtl[key], baseline[key])),
    );
    for (const key of keys) terms.push(deltaMTerm(key, input.mtl[key], baseline[key]));
  }
  const breakdown = deltaMBreakdown(terms);
  const tasks: TaskTransfer[] = input.tasks.map((task) => {
    const gain = finiteOrNull(breakdown.perTask[task]);
    const verdict = singleSeedVerdict(gain);
    return { task, metrics: perTaskMetrics.get(task) ?? [], gain, ...(verdict ? { verdict } : {}) };
  });
  return {
    baseline: input.baseline,
    split: input.split,
    tasks,
    deltaM: finiteOrNull(breakdown.value),
    baselineRuns: input.baselineRuns,
    verdictRule: SINGLE_SEED_VERDICT_RULE,
  };
}

export interface PairRun {
  /** The two tasks, in config order. */
  tasks: readonly [string, string];
  metrics: SplitMetrics;
  /** The run, relative to the MTL run's folder. */
  run: string;
}

/** What {@link pairGains} computes, as stored in transfer.json. */
export const PAIR_GAIN_RULE =
  "gains['j>i'] is the effect of adding task j on task i: task i's gain (the mean over its metrics of the signed " +
  'relative change) in the run of the two tasks {i, j} over its single-task run; positive: j helped i';

/** gains[`j>i`] for every pair run and both of its tasks (see the file's head). */
export function pairGains(pairs: readonly PairRun[], single: Readonly<Record<string, SplitMetrics>>): PairTransfer {
  const gains: PairValues = {};
  const undefinedGains: Record<string, string> = {};
  const runs: Record<string, string> = {};
  for (const pair of pairs) {
    runs[`${pair.tasks[0]}+${pair.tasks[1]}`] = pair.run;
    for (const [on, of] of [pair.tasks, [pair.tasks[1], pair.tasks[0]]] as const) {
      const baseline = single[on] ?? {};
      const breakdown = deltaMBreakdown(
        taskMetricKeys(baseline, on).map((key) => deltaMTerm(key, pair.metrics[key], baseline[key])),
      );
      const key = `${of}>${on}`;
      const gain = breakdown.perTask[on];
      if (gain !== undefined && breakdown.problems.length === 0) gains[key] = gain;
      else undefinedGains[key] = breakdown.problems.join('; ');
    }
  }
  return {
    gains,
    runs,
    ...(Object.keys(undefinedGains).length > 0 ? { undefinedGains } : {}),
    rule: PAIR_GAIN_RULE,
  };
}

function metricTransfer(key: string, mtl: number | undefined, single: number | undefined): MetricTransfer {
  const higher = higherIsBetter(key);
  const relative = mtl === undefined || single === undefined ? NaN : relativeImprovement(mtl, single, higher);
  return {
    key,
    metric: metricName(key),
    higherIsBetter: higher,
    mtl: mtl ?? NaN,
    single: single ?? NaN,
    relativeGain: finiteOrNull(relative),
  };
}

function deltaMTerm(key: string, value: number | undefined, baseline: number | undefined): DeltaMTerm {
  return { task: taskName(key), metric: metricName(key), value, baseline, higherIsBetter: higherIsBetter(key) };
}

function finiteOrNull(value: number | undefined): number | null {
  return value !== undefined && Number.isFinite(value) ? value : null;
}
