import { UsageError } from '../errors.js';
import { DELTA_M_DEFINITION, deltaMBreakdown, relativeImprovement, type DeltaMTerm } from '../metrics/aggregate.js';
import { higherIsBetter, metricName, taskName } from '../metrics/direction.js';
import { openRun, resolveRunsDir } from '../runs/store.js';
import { readSummaryIfAny, type RunSummary } from '../runs/summary.js';
import { checkpointDir, hasCheckpoint, runFile } from '../runs/layout.js';
import { crashReason } from '../runs/liveness.js';
import type { StoredRunMeta } from '../runs/meta.js';
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
   * Where the metrics come from: `summary` (summary.json), `best-checkpoint` (the run has none: compare evaluated its
   * best checkpoint, of `epoch`), or `none` (neither: its column is blank).
   */
  metricsFrom: MetricsSource;
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

/**
 * Side-by-side per-task metrics of runs, with per-metric deltas and Δm against the first run. A run without a
 * summary (crashed, or stopped before its final evaluation) is compared by its `best` checkpoint, evaluated here on
 * the split (nothing is stored into the run and its lock is not taken: compare only reads); one with neither is a
 * blank column with a warning, or an error when it is the baseline.
 */
export async function compareRuns(references: string[], options: CompareOptions = {}): Promise<Comparison> {
  if (references.length < 1) throw new UsageError('compare needs at least one run (the first one is the baseline).');
  const split = options.split ?? 'test';
  const store = resolveRunsDir(options.runsDir);
  const opened: OpenedRun[] = [];
  for (const [i, reference] of references.entries()) {
    const { id, dir, meta } = openRun(reference, store);
    const description = describeRun(dir, meta);
    const config = readComparedConfig(dir, meta);
    const stored = readSummaryIfAny(dir);
    if (stored) {
      opened.push({ summary: stored, description, config, metricsFrom: { kind: 'summary' } });
      continue;
    }
    // A `running` run whose process is gone is shown as what it is.
    const crashed = crashReason(meta);
    const status = crashed === undefined ? meta.status : 'crashed';
    const fromCheckpoint = await summaryFromBest(id, dir, meta, split);
    if (!fromCheckpoint && i === 0) throw noSummaryNorCheckpoint(id, status, dir, crashed ?? meta.statusReason);
    opened.push({
      summary: fromCheckpoint?.summary ?? emptySummary(id, dir, meta),
      description,
      config,
      metricsFrom: fromCheckpoint
        ? { kind: 'best-checkpoint', epoch: fromCheckpoint.epoch, status }
        : { kind: 'none', status, ...noneReason(crashed ?? meta.statusReason) },
    });
  }
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
    const { metricsFrom } = opened[i]!;
    const status = metricsFrom.kind === 'summary' ? s.status : metricsFrom.status;
    const entry: ComparedRun = { id: s.id, name: s.name, status, metricsFrom, ...description };
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
    ...opened.flatMap(({ summary, metricsFrom }) => {
      if (metricsFrom.kind === 'none') {
        const { status, reason } = metricsFrom;
        const stopped =
          status === 'running' ? 'it has not finished its first epoch' : 'it stopped before its first epoch ended';
        return [
          `${summary.id} has neither a summary nor a best checkpoint (run ${status}${reason ? `: ${reason}` : ''}; ` +
            `${stopped}); its column shows —`,
        ];
      }
      if (metricsFrom.kind === 'best-checkpoint')
        return [
          `${summary.id} has no summary (run ${metricsFrom.status}): its ${split} metrics are those of its best ` +
            `checkpoint (epoch ${metricsFrom.epoch}), evaluated now`,
        ];
      if (Object.keys(summary[split]).length > 0) return [];
      return [`${summary.id} has no ${split} metrics (${whyNoMetrics(summary, split)}); its column shows —`];
    }),
  ];
  return { split, runs, rows, deltaMMetrics, deltaMDefinition: DELTA_M_DEFINITION, warnings };
}

interface OpenedRun {
  summary: RunSummary;
  description: RunDescription;
  config: ReturnType<typeof readComparedConfig>;
  metricsFrom: MetricsSource;
}

/**
 * Where a compared run's metrics come from: its summary.json; its `best` checkpoint evaluated by compare (the run has
 * no summary: `status` is why, `crashed` for a run whose process is gone); nowhere (no summary and no checkpoint;
 * `reason`: what the run recorded of why it stopped).
 */
export type MetricsSource =
  | { kind: 'summary' }
  | { kind: 'best-checkpoint'; epoch: number; status: string }
  | { kind: 'none'; status: string; reason?: string };

/** Why a run without metrics stopped, as far as it recorded (a failed run's error, a crashed run's lost process). */
function noneReason(reason: string | undefined): { reason?: string } {
  return reason ? { reason } : {};
}

/** A run without a summary, as far as its `best` checkpoint tells: metrics on `split` only. */
async function summaryFromBest(
  id: string,
  dir: string,
  meta: StoredRunMeta,
  split: 'test' | 'val',
): Promise<{ summary: RunSummary; epoch: number } | undefined> {
  if (!hasCheckpoint(checkpointDir(dir, 'best'))) return undefined;
  // Loaded here, for a run without a summary only: evaluating a checkpoint needs TF.js, comparing summaries does not.
  const { evaluateCheckpointOnSplit, readRun } = await import('./evaluate.js');
  const { DamagedCheckpointError } = await import('../runs/checkpoint.js');
  let evaluated: Awaited<ReturnType<typeof evaluateCheckpointOnSplit>>;
  try {
    evaluated = await evaluateCheckpointOnSplit(readRun(dir), 'best', split);
  } catch (error) {
    // The reader's hint names --checkpoint, which compare does not take.
    if (!(error instanceof DamagedCheckpointError)) throw error;
    throw new UsageError(error.message, [
      `compare reads run ${id}, which has no summary, from its best checkpoint: restore the file from a backup, ` +
        'or leave the run out of the comparison',
    ]);
  }
  const { metrics, epoch } = evaluated;
  const summary = emptySummary(id, dir, meta);
  summary[split] = metrics;
  summary.directions = Object.fromEntries(Object.keys(metrics).map((k) => [k, higherIsBetter(k)]));
  return { summary, epoch };
}

/** The summary fields compare reads, for a run that has no summary.json. */
function emptySummary(id: string, dir: string, meta: StoredRunMeta): RunSummary {
  return {
    id,
    name: meta.name,
    dir,
    status: meta.status,
    backend: '',
    epochs: 0,
    bestEpoch: -1,
    test: {},
    val: {},
    directions: {},
    parameterCount: { total: 0, shared: 0, perTask: {} },
    seconds: 0,
  };
}

function noSummaryNorCheckpoint(id: string, status: string, dir: string, reason: string | undefined): UsageError {
  return new UsageError(
    `Run ${id} has no summary and no best checkpoint (status: ${status}; ${runFile(dir, 'summary')} is missing): ` +
      'it stopped before its first epoch ended, so there is nothing to compare.',
    [
      // What the run recorded of why it stopped (a failed run's error, a crashed run's lost process).
      ...(reason ? [`it ${status === 'running' ? 'is running' : status}: ${reason}`] : []),
      status === 'running'
        ? 'wait for it to finish its first epoch, or compare other runs'
        : 'resume it with `mtl train --resume`, or train it again',
    ],
  );
}

/** Not one of the runs reports a metric on this split: say which split, and where metrics are. */
function noMetrics(summaries: readonly RunSummary[], split: 'test' | 'val'): UsageError {
  const other = split === 'test' ? 'val' : 'test';
  const hasOther = summaries.some((s) => Object.keys(s[other]).length > 0);
  const only = summaries.length === 1 ? summaries[0] : undefined;
  const ended = summaries.filter((s) => !emptySplit(s));
  const message = only
    ? `Run ${only.id} has no ${split} metrics: ${emptySplit(only) ? `its ${split} split was empty` : ranOut(only)}.`
    : ended.length === 0
      ? `None of these runs has ${split} metrics: their ${split} splits were empty.`
      : `None of these runs has ${split} metrics: ${summaries
          .map((s) => `${s.id}: ${emptySplit(s) ? `its ${split} split was empty` : ranOut(s)}`)
          .join('; ')}.`;
  // A run that ended without metrics is trained again (its reason says how); another split does not help it.
  const remedy =
    ended.length > 0
      ? `train ${ended.length === 1 ? ended[0]!.id : 'those runs'} again (the reason above says what to change), ` +
        'or compare runs that completed'
      : hasOther
        ? `compare on the ${other} split: --split ${other}`
        : `give the data a ${split} split and train again`;
  return new UsageError(message, [remedy]);
}

/**
 * Whether a run with a summary but no metrics on a split lacks them because the split had no rows: its final
 * evaluation ran (it kept a checkpoint to evaluate). Otherwise it ended before any (a run that diverged before a
 * good epoch saves no checkpoint of its diverged weights, so it has no final metrics at all).
 */
function emptySplit(summary: RunSummary): boolean {
  return summary.status === 'completed' || summary.checkpoint !== undefined;
}

/** Why a run ended without final metrics: its status and the reason it recorded. */
function ranOut(summary: RunSummary): string {
  const ended =
    summary.status === 'interrupted'
      ? 'it was interrupted'
      : summary.status === 'running'
        ? 'it is still running'
        : `it ${summary.status}`;
  return `${ended}${summary.statusReason ? ` (${summary.statusReason})` : ''}`;
}

/** The parenthesis of the "no metrics" warning: an empty split, or how the run ended. */
function whyNoMetrics(summary: RunSummary, split: 'test' | 'val'): string {
  if (emptySplit(summary)) return `its ${split} split was empty`;
  return `run ${summary.status}${summary.statusReason ? `: ${summary.statusReason}` : ''}`;
}

function unknownMetric(metric: string, keys: ReadonlySet<string>): UsageError {
  const reported = [...new Set([...keys].map(metricName))].sort();
  const guess = suggest(metric, reported);
  return new UsageError(`No metric "${metric}" in these runs${guess ? `; did you mean "${guess}"?` : '.'}`, [
    `they report: ${reported.join(', ')}`,
  ]);
}

/** Rows: the tasks' metrics, their means, then the losses (the tasks', then the mean's). */
function rank(key: string): number {
  const mean = taskName(key) === 'mean' ? 1 : 0;
  return metricName(key) === 'loss' ? 2 + mean : mean;
}
