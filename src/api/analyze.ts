import { checkpointGradientPass, gradientsFromLog } from '../analysis/gradient-pass.js';
import { dataRelatedness } from '../analysis/data-relatedness.js';
import { harmfulByAffinity, harmfulByGradients, matrixOf, suggestGrouping } from '../analysis/grouping.js';
import { parameterSimilarity, representationSimilarity, TASK_REPRESENTATION } from '../analysis/model-similarity.js';
import type {
  AffinityMeasurement,
  AnalysisReport,
  GradientRelatedness,
  GroupingSuggestion,
  PairValues,
  PairWarning,
  TransferReport,
} from '../analysis/types.js';
import { runKernels } from '../backend/run-kernels.js';
import { initBackend } from '../backend/select.js';
import type { BackendChoice, ResolvedConfig } from '../config/types.js';
import { UsageError } from '../errors.js';
import { getArchitecture } from '../model/registry.js';
import { saveAnalysis } from '../runs/analysis.js';
import { loadCheckpointInto } from '../runs/checkpoint.js';
import { checkpointDir, type CheckpointName } from '../runs/layout.js';
import { withRunLock, type RunLockOptions } from '../runs/lock.js';
import { readEpochLog } from '../runs/logs.js';
import type { EpochLogEntry } from '../runs/records.js';
import { resolveRun, resolveRunsDir } from '../runs/store.js';
import { getStrategy } from '../strategies/registry.js';
import type { Strategy } from '../strategies/types.js';
import { disposeSplit, toSplitTensors } from '../train/tensors.js';
import { readTransferIfAny } from '../runs/transfer.js';
import { buildModel } from './build.js';
import { chooseCheckpoint, encodeSplit, readRun } from './evaluate.js';

export interface AnalyzeOptions {
  runsDir?: string;
  /** The checkpoint the model-based measures and the gradient pass read (default best; best falls back to last). */
  checkpoint?: CheckpointName;
  backend?: BackendChoice;
  /** The run's single-task comparison; default: its transfer.json, when it was trained with baselines. */
  transfer?: TransferReport;
  lock?: Pick<RunLockOptions, 'timeoutMs' | 'onWait' | 'onStaleLock'>;
  /** Called as each step of the analysis starts (one line each: the CLI prints them on stderr). */
  onStep?: (step: string) => void;
}

/** The rules every measure follows, stored with the report. */
export const ANALYSIS_RULES: Record<string, string> = {
  gradient:
    'cosine of two tasks’ gradients of the shared parameters (or of the shared representation, where the strategy ' +
    'trains on it); conflict = cosine < 0. Training log (gradient strategies; others with analysis.affinity, over ' +
    'the steps affinity measures): mean over the epochs of each epoch’s mean over its steps. ' +
    'Checkpoint pass: one pass over the training split in row order, batches of training.batch_size, inference mode; ' +
    'at a trained checkpoint the shared gradients of the tasks balance each other (their weighted sum is near 0 at a ' +
    'minimum), so cosines lean negative there: the training log measures along the way.',
  affinity:
    'Z(i→j) = 1 − L_j(θ_s − Δ_i, θ_j) / L_j(θ_s, θ_j) on the same batch, Δ_i = η∇_{θ_s}L_i, the learning rate ' +
    'times task i’s gradient of the shared parameters alone (Fifty et al. 2021, eq. 3; analysis.affinity_lookahead: ' +
    'optimizer takes the optimizer’s next update for that gradient instead); mean over the measured steps. ' +
    'Z(j→j), the diagonal, is what a task’s own update does for it: the scale Z(i→j) compares with.',
  model:
    'linear CKA (Kornblith et al. 2019) between two tasks’ k-th task-specific kernels as [inputs × units] ' +
    `matrices, and between the tasks’ representations: ${TASK_REPRESENTATION}.`,
  data:
    'training split; Pearson r (numeric and 0/1 targets), correlation ratio η (class index vs numeric), Cramér’s V ' +
    '(two class indices); mutual information in nats, numeric targets in 10 quantile bins, Miller–Madow corrected, ' +
    'normalised by √(H(X)·H(Y)); tasks with several target columns: mean over column pairs.',
  grouping:
    'the partition maximising Σ over groups of Σ_{i≠j in the group} S(i→j) (a singleton scores 0), S = affinity ' +
    'when measured, else the mean gradient cosine, over the partitions where no group holds a pair the warnings ' +
    'flag (keptApart: those the score alone would have grouped); exhaustive for ≤ 8 tasks, else greedy merging; ' +
    'ties: fewer groups, then earlier tasks together.',
  warnings:
    'a pair is flagged when its affinity is negative both ways, or its mean gradient cosine is below 0, or its ' +
    'gradients conflict in more than half of the steps.',
};

const PERFORMANCE_HINT =
  'train with `--baselines single-task` (or `baselines: single-task` in the config) to compare MTL with single-task ' +
  'models';

/** Affinity from the epoch log: each epoch's mean weighted by its measured steps. */
function affinityFromLog(epochs: readonly EpochLogEntry[], config: ResolvedConfig): AffinityMeasurement | undefined {
  const logged = epochs.filter((e) => e.taskAffinity !== undefined);
  const first = logged[0]?.taskAffinity;
  if (!first) return undefined;
  const steps = logged.reduce((s, e) => s + (e.affinitySteps ?? 0), 0);
  const affinity: PairValues = {};
  for (const key of Object.keys(first)) {
    const sum = logged.reduce((s, e) => s + (e.taskAffinity?.[key] ?? NaN) * (e.affinitySteps ?? 0), 0);
    affinity[key] = sum / steps;
  }
  return {
    steps,
    everySteps: config.analysis?.affinity_every ?? 1,
    affinity,
    perEpoch: logged.map((e) => ({ epoch: e.epoch, affinity: e.taskAffinity ?? {} })),
  };
}

function strategyNeeds(config: ResolvedConfig): Strategy['needs'] {
  const architecture = getArchitecture(config.model.architecture);
  return getStrategy(config.strategy.name).needs(config.strategy, {
    hasSharedRepresentation: architecture.hasSharedRepresentation,
  });
}

function gradientTarget(config: ResolvedConfig): GradientRelatedness['target'] {
  return strategyNeeds(config) === 'representation-gradients' ? 'representation' : 'parameters';
}

function grouping(
  tasks: readonly string[],
  affinity: AffinityMeasurement | undefined,
  gradient: GradientRelatedness | undefined,
  warnings: readonly PairWarning[],
): GroupingSuggestion | undefined {
  const source = affinity ? 'affinity' : gradient ? 'gradient-cosine' : undefined;
  const values = affinity?.affinity ?? gradient?.meanCosine;
  if (!source || !values) return undefined;
  const found = suggestGrouping(
    tasks,
    matrixOf(tasks, values),
    warnings.map((w) => w.tasks),
  );
  return { source, ...found, rule: ANALYSIS_RULES['grouping'] ?? '' };
}

/** The gradient rule's warnings; from a checkpoint pass they say where they were measured (see ANALYSIS_RULES). */
function gradientWarnings(tasks: readonly string[], gradient: GradientRelatedness): PairWarning[] {
  const pairs = harmfulByGradients(tasks, gradient.meanCosine, gradient.conflictFraction);
  if (gradient.source === 'training-log') return pairs;
  const where = ` (at the ${gradient.checkpoint ?? 'best'} checkpoint, where the tasks' gradients balance each other)`;
  return pairs.map((pair) => ({ ...pair, reason: `${pair.reason}${where}` }));
}

/**
 * `mtl analyze`: which tasks belong together, from the run's logs, its checkpoint, its data and (when given) its
 * single-task comparison. Stores the report as `analysis.json` in the run under the run's lock and returns it.
 */
export async function analyzeRun(reference: string, options: AnalyzeOptions = {}): Promise<AnalysisReport> {
  const { dir } = resolveRun(reference, resolveRunsDir(options.runsDir));
  const run = readRun(dir);
  const tasks = run.config.tasks;
  if (tasks.length < 2) {
    throw new UsageError(`Run ${run.id} has one task (${tasks[0]?.name ?? 'none'}); relatedness needs two or more.`);
  }
  const checkpoint = chooseCheckpoint(run, options.checkpoint ?? 'best', options.checkpoint !== undefined);
  const step = options.onStep ?? ((): void => undefined);
  await initBackend(options.backend ?? run.config.backend, runKernels(run.id, run.meta.backend));
  const names = tasks.map((t) => t.name);
  const unavailable: AnalysisReport['unavailable'] = {};
  step('reading the train and val splits');
  const train = (await encodeSplit(run, 'train')).encoded;
  const val = (await encodeSplit(run, 'val')).encoded;
  step(`data relatedness of the targets (${train.rows} training rows)`);
  const data = dataRelatedness(train, run.preprocessing, tasks);

  const epochs = readEpochLog(dir);
  const batchSize = Math.max(1, Math.min(run.config.training.batch_size, train.rows));
  const batches = Math.ceil(train.rows / batchSize);
  // Logs from before `gradientSteps`: a strategy that takes no gradients logged affinity's, over its measured steps.
  const takesGradients = strategyNeeds(run.config) !== 'losses';
  const logged = gradientsFromLog(
    epochs,
    (e) => (takesGradients ? batches : (e.affinitySteps ?? batches)),
    gradientTarget(run.config),
  );
  const affinity = affinityFromLog(epochs, run.config);
  if (!affinity) unavailable.affinity = 'train with `analysis: { affinity: true }` to measure inter-task affinity';

  const model = buildModel(run.config, run.preprocessing);
  const trainTensors = toSplitTensors(train, run.preprocessing);
  const evalRows = val.rows > 0 ? val : train;
  const evalTensors = toSplitTensors(evalRows, run.preprocessing);
  let gradient: GradientRelatedness | undefined = logged;
  let modelBased: AnalysisReport['model'] = null;
  try {
    const { epoch } = loadCheckpointInto(checkpointDir(run.dir, checkpoint), model);
    if (!gradient) step(`task gradients: one pass over ${Math.ceil(train.rows / batchSize)} batches (${checkpoint})`);
    gradient ??= checkpointGradientPass(model, trainTensors, tasks, batchSize, checkpoint);
    step(`model similarity (linear CKA on ${evalRows.rows} rows, ${checkpoint} checkpoint of epoch ${epoch})`);
    if (!gradient) unavailable.gradient = `architecture "${run.config.model.architecture}" shares no parameters`;
    modelBased = {
      checkpoint,
      epoch,
      parameters: parameterSimilarity(model, tasks),
      representation: val.rows > 0 ? TASK_REPRESENTATION : TASK_REPRESENTATION.replace('validation', 'training'),
      representationCka: representationSimilarity(model, evalTensors, tasks, run.config.training.eval_batch_size),
      rows: evalRows.rows,
    };
  } finally {
    disposeSplit(trainTensors);
    disposeSplit(evalTensors);
    model.dispose();
  }

  const transfer = options.transfer ?? readTransferIfAny(dir);
  if (!transfer) unavailable.performance = PERFORMANCE_HINT;
  const warnings = [
    ...(affinity ? harmfulByAffinity(names, matrixOf(names, affinity.affinity)) : []),
    ...(gradient ? gradientWarnings(names, gradient) : []),
    // Measured by training: each task of the pair did worse in the run of both than alone (analysis.pairs).
    ...(transfer?.pairs ? harmfulByAffinity(names, matrixOf(names, transfer.pairs.gains), 'pair-run gain') : []),
  ];
  // The report does not suggest training together a pair it warns about.
  const suggestion = grouping(names, affinity, gradient, warnings);
  if (!suggestion) unavailable.grouping = 'needs inter-task affinity or gradient cosines';
  const report: AnalysisReport = {
    run: run.id,
    createdAt: new Date().toISOString(),
    tasks: names,
    gradient: gradient ?? null,
    affinity: affinity ?? null,
    performance: transfer ?? null,
    model: modelBased,
    data,
    grouping: suggestion ?? null,
    warnings,
    unavailable,
    rules: ANALYSIS_RULES,
  };
  await withRunLock(dir, () => saveAnalysis(dir, report), { command: 'mtl analyze', ...options.lock });
  return report;
}
