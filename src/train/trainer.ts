import type { tf } from '../tf.js';
import type { ResolvedConfig } from '../config/types.js';
import type { PreparedData } from '../data/prepare.js';
import type { MultiTaskModel } from '../model/types.js';
import type { EpochRecord } from '../runs/records.js';
import type { Strategy, StrategyContext } from '../strategies/types.js';
import { createRng } from '../util/rng.js';
import { cosineMatrix } from '../numerics/gram.js';
import { measureAffinity, sgdLookahead } from './affinity.js';
import { EpochDiagnostics } from './diagnostics.js';
import { DivergenceWatch } from './divergence.js';
import { shuffledBatches } from './batches.js';
import { CheckpointCadence } from './checkpoint-cadence.js';
import { epochPlan, multiInputOrder } from './multi-input-batches.js';
import { batchLabelCounts, epochLosses } from './label-weights.js';
import { reportBatchMetrics } from './batch-metrics.js';
import { YIELD_EVERY_MS, yieldToEventLoop } from './event-loop.js';
import { monitorOf, validateEpoch } from './validation.js';
import { frozenParameters } from './fine-tuning.js';
import { createOptimizer, learningRateAt } from './optimizers.js';
import {
  afterOptimizerStep,
  clipByGlobalNorm,
  extraSamplesNeeded,
  trainingStep,
  type Batch,
  type StepGradients,
} from './step.js';
import {
  readStepLosses,
  restoreSlots,
  stepLossTensors,
  stoppedEarlyAt,
  type SnapshotPosition,
  type TrainerCheckpoint,
  type TrainerResume,
} from './snapshot.js';
import { disposeSplit, toSplitTensors } from './tensors.js';
import { mainTasks } from '../adversarial/adversarial-tasks.js';
import { trainingProgress } from '../adversarial/lambda-schedule.js';
import { adversaryRecord, trainerAdversaries } from '../adversarial/training.js';

/** What the trainer tells whoever listens (progress display, run store). All optional. */
export interface TrainListener {
  onStart?(info: { epochs: number; batchesPerEpoch: number; trainRows: number; tasks: string[] }): void;
  /** After each batch; `losses` is filled only every `batchLossEvery` batches (reading them costs a sync). */
  onBatch?(info: {
    epoch: number;
    batch: number;
    batches: number;
    samplesPerSecond: number;
    losses?: Record<string, number>;
  }): void;
  onEpochEnd?(record: EpochRecord, model: MultiTaskModel): Promise<void> | void;
  /**
   * Instead of `onEpochEnd` for the epoch that diverged (its record, to log; no model: its weights are not to be
   * saved). `reason` names the tasks and a remedy.
   */
  onDiverged?(record: EpochRecord, reason: string): Promise<void> | void;
  batchLossEvery?: number;
}

export type TrainOutcome = 'completed' | 'interrupted' | 'diverged' | 'early-stopped';

export interface TrainerResult {
  outcome: TrainOutcome;
  epochs: EpochRecord[];
  bestEpoch: number;
  /** Message when diverged. */
  reason?: string;
}

export interface TrainerInput {
  config: ResolvedConfig;
  data: PreparedData;
  model: MultiTaskModel;
  strategy: Strategy;
  listeners?: TrainListener[];
  signal?: AbortSignal;
  /** Called when the monitored metric improves, to save the best checkpoint. */
  onImproved?(record: EpochRecord): Promise<void>;
  /**
   * Called with the trainer's state to save the `last` checkpoint, when train/checkpoint-cadence.ts says (epoch ends
   * at most once a second and at the run's end, every N-th step, an interrupt), never for a diverged epoch. The
   * model's weights are those of the same moment until the promise resolves.
   */
  onCheckpoint?(checkpoint: TrainerCheckpoint): Promise<void>;
  /** The least time between two epoch-end `last` checkpoints (train/checkpoint-cadence.ts; default 1 s, 0: every). */
  checkpointMinSeconds?: number;
  /** Continue from a snapshot (`mtl train --resume`); the model and strategy are restored by the caller. */
  resume?: TrainerResume;
  /** Parameters held fixed (`init.freeze`, train/fine-tuning.ts), by name; with the config's unfreeze schedule. */
  frozen?: readonly string[];
}

/**
 * The training loop: per batch, per-task losses → strategy → gradients → optimizer; per epoch, validation, the
 * strategy's epoch hook, early stopping and the best checkpoint. Batches are materialised once per epoch (the
 * split's rows gathered in shuffled order straight into the batches, train/batches.ts) and everything per step is
 * tidied or disposed, so the live tensor count stays flat.
 */
export async function runTrainer(input: TrainerInput): Promise<TrainerResult> {
  const { config, data, model, strategy } = input;
  const listeners = input.listeners ?? [];
  // Adversarial tasks are not the strategy's (adversarial/adversarial-tasks.ts): the step adds their loss.
  const tasks = mainTasks(config.tasks);
  const training = config.training;
  const train = toSplitTensors(data.splits.train, data.preprocessing);
  const val = toSplitTensors(data.splits.val, data.preprocessing);
  const trainable = [
    ...model.sharedVariables,
    ...tasks.flatMap((t) => model.taskVariables[t.name] ?? []),
    ...(strategy.variables?.() ?? []),
    ...(model.adversaries?.variables ?? []),
  ];
  const frozen = frozenParameters(config, input.frozen ?? [], trainable);
  const optimizer = createOptimizer(training, frozen ? trainable.filter((v) => !frozen.has(v)) : trainable);
  /** Every optimizer slot, in a fixed order, for the `last` checkpoint and its restore. */
  // Tasks with their own data: each step one batch of every data group (train/multi-input-batches.ts).
  const plan = data.groups && epochPlan(data.groups, training);
  // Adversaries (issue #18, adversarial/training.ts): a feature discriminator's variables and slots follow the others.
  const adversaries = trainerAdversaries(config, model, data, plan);
  const allSlots = (): tf.Variable[] => [
    ...optimizer.slots(),
    ...(frozen?.optimizer.slots() ?? []),
    ...(adversaries?.checkpointVariables() ?? []),
  ];
  const rng = createRng(config.seed).fork('batches');
  const strategyRng = createRng(config.seed).fork('strategy');
  const batchSize = plan ? plan.stepRows : Math.min(training.batch_size, train.rows);
  const batches = plan ? plan.steps : Math.ceil(train.rows / batchSize);
  const epochRows = plan ? plan.steps * plan.stepRows : train.rows;
  const monitor = monitorOf(config, val.rows > 0);
  const resumed = input.resume?.snapshot;
  const records: EpochRecord[] = resumed ? [...resumed.records] : [];
  let best = resumed ? resumed.best : monitor.higher ? -Infinity : Infinity;
  let bestEpoch = resumed ? resumed.bestEpoch : -1;
  let sinceImproved = resumed?.sinceImproved ?? 0;
  let step = resumed?.step ?? 0;
  if (resumed && input.resume) {
    rng.restore(resumed.batchRng);
    strategyRng.restore(resumed.strategyRng);
    restoreSlots(allSlots(), input.resume.optimizerSlots);
    optimizer.restoreUpdates(resumed.optimizerUpdates);
    frozen?.optimizer.restoreUpdates(resumed.frozenOptimizerUpdates ?? 0);
    adversaries?.restore(resumed.adversary);
  }
  /** Where the trainer is, for the `last` checkpoint (see TrainerSnapshot). */
  const snapshot = (position: SnapshotPosition): TrainerCheckpoint => ({
    snapshot: {
      ...position,
      step,
      strategyRng: strategyRng.state(),
      optimizerUpdates: optimizer.updates,
      ...(frozen ? { frozenOptimizerUpdates: frozen.optimizer.updates } : {}),
      ...(adversaries?.state() ? { adversary: adversaries.state() } : {}),
      best,
      bestEpoch,
      sinceImproved,
      records: [...records],
      strategyState: strategy.state(),
      divergence: divergence.state(),
    },
    optimizerSlots: allSlots(),
  });
  let outcome: TrainOutcome = stoppedEarlyAt(resumed, training.early_stopping.patience) ? 'early-stopped' : 'completed';
  let reason: string | undefined;
  for (const l of listeners)
    l.onStart?.({
      epochs: training.epochs,
      batchesPerEpoch: batches,
      trainRows: train.rows,
      tasks: tasks.map((t) => t.name),
    });
  const lossEvery = Math.min(...listeners.map((l) => l.batchLossEvery ?? Infinity));
  // The yield clock runs across epochs: epochs shorter than the interval (the quickstart's take ~50 ms) would
  // otherwise never give the event loop a turn, and Ctrl-C would wait for the end of the run.
  let lastYield = performance.now();

  const extraSamples = extraSamplesNeeded(strategy);
  // Absent from the resolved configs of runs from before the option: those resume with epoch-end checkpoints only.
  const everySteps = training.checkpoint_every_steps ?? 0;
  const divergence = new DivergenceWatch(tasks, training.divergence, resumed?.divergence);
  // Inter-task affinity at every N-th step (0: not measured); absent from runs from before the option.
  const affinityEvery = config.analysis?.affinity ? config.analysis.affinity_every : 0;
  // Absent (a config written before the option existed) is the default, the paper's step.
  const affinitySgd = config.analysis?.affinity_lookahead !== 'optimizer';
  const cadence = new CheckpointCadence(everySteps, input.checkpointMinSeconds);
  const saveLast = async (checkpoint: TrainerCheckpoint): Promise<void> => {
    cadence.taken();
    await input.onCheckpoint?.(checkpoint);
  };

  try {
    for (let epoch = resumed?.epoch ?? 0; outcome === 'completed' && epoch < training.epochs; epoch++) {
      const partial = resumed?.epoch === epoch ? resumed.partial : undefined;
      const started = performance.now() - (partial?.seconds ?? 0) * 1000;
      const learningRate = learningRateAt(training, epoch);
      const batchRngAtStart = rng.state();
      const permutation = plan ? multiInputOrder(plan, rng) : rng.permutation(train.rows);
      const epochBatches = shuffledBatches(train, permutation, batchSize);
      const labelCounts = train.labelled && batchLabelCounts(train.labelled, permutation, batchSize, tasks);
      // Per-step task losses stay on the backend and are summed once at the end of the epoch: one add per step
      // would cost more than the reading it saves.
      const stepLosses: tf.Tensor1D[] = partial ? stepLossTensors(partial.stepLosses) : [];
      const stepSizes: number[] = partial ? [...partial.stepSizes] : [];
      const diagnostics = new EpochDiagnostics(partial);
      let interrupted = false;
      try {
        for (let b = resumed?.epoch === epoch ? resumed.batch : 0; b < batches; b++) {
          const start = b * batchSize;
          const size = Math.min(batchSize, permutation.length - start);
          const batch = epochBatches[b]!;
          model.setStep(step);
          // λ follows the run's global step, so a resumed run sees the λ of the uninterrupted one.
          model.adversaries?.setProgress(trainingProgress(step, training.epochs * batches));
          const context: StrategyContext = { tasks, epoch, step, rng: strategyRng };
          const rows = permutation.subarray(start, start + size);
          reportBatchMetrics(strategy, model, batch, rows, data.splits.train, tasks, data.preprocessing, {
            epoch,
            step,
          });
          const others = otherBatches(epochBatches, b, extraSamples);
          adversaries?.beforeStep(batch, trainingProgress(step, training.epochs * batches));
          const stepModel = adversaries?.stepModel ?? model;
          const result: StepGradients = trainingStep(stepModel, strategy, batch, tasks, trainable, context, others);
          if (result.cosines) diagnostics.addCosines(result.cosines);
          // Before the optimizer applies the step: the lookahead starts from the parameters the step's gradients
          // were taken at, and the optimizer's state is still that of this step.
          if (affinityEvery > 0 && step % affinityEvery === 0) {
            const lookahead = (g: Record<string, tf.Tensor>) =>
              affinitySgd ? sgdLookahead(model, g, learningRate) : optimizer.lookahead(g, learningRate);
            // A strategy that takes no task gradients logs none: the ones affinity takes stand in (same definition:
            // the task gradients of the shared parameters at this step), so the log has cosines and conflicts for it.
            const taskGradients: Float32Array[] | undefined = result.cosines ? undefined : [];
            diagnostics.addAffinity(measureAffinity(model, batch, tasks, lookahead, taskGradients));
            if (taskGradients) diagnostics.addCosines(cosineMatrix(taskGradients));
          }
          const frozenTrains = frozen?.trainsIn(epoch) === true;
          const stepGradients = frozen && !frozenTrains ? frozen.withoutFrozen(result.gradients) : result.gradients;
          const gradients = clipByGlobalNorm(stepGradients, training.grad_clip_norm);
          // Each optimizer takes the gradients of its own variables and passes over the others.
          optimizer.apply(gradients, learningRate);
          if (frozen && frozenTrains) frozen.optimizer.apply(gradients, frozen.learningRate(epoch));
          for (const g of Object.values(gradients)) g.dispose();
          afterOptimizerStep(model, strategy, batch, tasks);
          // A batch that serves later steps as another sample lives until the end of the epoch.
          if (extraSamples === 0) disposeBatch(batch);
          stepLosses.push(result.taskLosses);
          stepSizes.push(size);
          step++;
          if (listeners.length > 0) {
            const elapsed = (performance.now() - started) / 1000;
            const info = { epoch, batch: b + 1, batches, samplesPerSecond: (start + size) / Math.max(elapsed, 1e-9) };
            const withLosses =
              (b + 1) % lossEvery === 0
                ? { ...info, losses: epochLosses(stepLosses, stepSizes, tasks, labelCounts) }
                : info;
            for (const l of listeners) l.onBatch?.(withLosses);
          }
          // Give the event loop a turn (at most every 100 ms: the progress bar redraws at 10 frames/s) so Ctrl-C and
          // progress redraws run mid-epoch. Each turn costs ~0.2 ms (finished background writes, timers, often a
          // scavenge V8 scheduled as a task), so not after every batch.
          if (performance.now() - lastYield > YIELD_EVERY_MS) {
            await yieldToEventLoop();
            lastYield = performance.now();
          }
          const aborted = input.signal?.aborted === true;
          // Interrupted, or the N-th step of `checkpoint_every_steps` short of the epoch's end (whose checkpoint
          // follows the validation): the `last` checkpoint of the epoch so far. Taking it only reads.
          if (aborted || cadence.dueInEpoch(step, b, batches)) {
            const seconds = (performance.now() - started) / 1000;
            const soFar = {
              stepLosses: readStepLosses(stepLosses),
              stepSizes: [...stepSizes],
              ...diagnostics.partial(),
              seconds,
            };
            await saveLast(snapshot({ epoch, batch: b + 1, batchRng: batchRngAtStart, partial: soFar }));
          }
          if (aborted) {
            interrupted = true;
            break;
          }
        }
      } finally {
        for (const batch of epochBatches) disposeBatch(batch);
      }
      const trainLoss = epochLosses(stepLosses, stepSizes, tasks, labelCounts);
      readInitialLosses(divergence, stepLosses);
      for (const t of stepLosses) t.dispose();
      const verdict = divergence.check(epoch + 1, trainLoss, training);
      const { metrics: valMetrics, adversaries: taskAdversaries } = await validateEpoch(
        model,
        val,
        data.splits.val,
        tasks,
        data.preprocessing,
        training.eval_batch_size,
      );
      const meanTrainLoss = Object.values(trainLoss).reduce((a, b) => a + b, 0) / tasks.length;
      const monitored =
        monitor.name === 'train/mean/loss' ? meanTrainLoss : (valMetrics[monitor.name.slice('val/'.length)] ?? NaN);
      // An exploding epoch is never the best one, whatever its validation metric: its weights are not to be kept.
      const improved =
        verdict.kind === 'ok' &&
        Number.isFinite(monitored) &&
        (monitor.higher
          ? monitored > best + training.early_stopping.min_delta
          : monitored < best - training.early_stopping.min_delta);
      const seconds = (performance.now() - started) / 1000;
      const weights = strategy.currentWeights();
      const record: EpochRecord = {
        epoch: epoch + 1,
        learningRate,
        trainLoss,
        val: valMetrics,
        taskWeights: Object.fromEntries(tasks.map((t, i) => [t.name, weights[i] ?? NaN])),
        ...diagnostics.record(tasks),
        ...adversaryRecord(taskAdversaries, adversaries?.measure({ train, val }, epoch)),
        monitor: { name: monitor.name, value: monitored, improved },
        seconds,
        samplesPerSecond: epochRows / seconds,
      };
      records.push(record);
      if (verdict.kind === 'diverged') {
        outcome = 'diverged';
        reason = verdict.reason;
        for (const l of listeners) await l.onDiverged?.(record, verdict.reason);
        break;
      }
      strategy.onEpochEnd?.({ epoch, trainLosses: tasks.map((t) => trainLoss[t.name] ?? NaN), validation: valMetrics });
      if (improved) {
        best = monitored;
        bestEpoch = epoch + 1;
        sinceImproved = 0;
        await input.onImproved?.(record);
      } else {
        sinceImproved++;
      }
      for (const l of listeners) await l.onEpochEnd?.(record, model);
      if (interrupted) {
        outcome = 'interrupted';
        break;
      }
      const patience = training.early_stopping.patience;
      const stopsEarly = patience > 0 && sinceImproved >= patience;
      const lastEpoch = stopsEarly || epoch + 1 === training.epochs;
      // Interrupted after the epoch's last batch (during its validation, or the listeners' writes): it stops here,
      // with the whole epoch in its checkpoint, rather than one batch into the next.
      const abortedAtEnd = !lastEpoch && input.signal?.aborted === true;
      if (abortedAtEnd || cadence.dueAtEpochEnd(step, lastEpoch))
        await saveLast(snapshot({ epoch: epoch + 1, batch: 0, batchRng: rng.state() }));
      if (stopsEarly) {
        outcome = 'early-stopped';
        break;
      }
      if (abortedAtEnd) {
        outcome = 'interrupted';
        break;
      }
    }
  } finally {
    disposeSplit(train);
    disposeSplit(val);
    optimizer.dispose();
    frozen?.optimizer.dispose();
    adversaries?.dispose();
  }
  return { outcome, epochs: records, bestEpoch, ...(reason ? { reason } : {}) };
}

/** The first step's task losses (before any update) are the divergence rule's scale: read once per run. */
function readInitialLosses(divergence: DivergenceWatch, stepLosses: readonly tf.Tensor1D[]): void {
  const first = stepLosses[0];
  if (divergence.needsInitialLosses && first) divergence.setInitialLosses(first.dataSync());
}

/**
 * The `count` batches after batch `b` in the epoch's shuffled order (cyclically): the independent samples SDMGrad
 * and MoDo take besides the step's own batch, disjoint from it and from each other when the epoch has more than
 * `count` batches (with fewer, a batch repeats and those samples are not independent).
 */
function otherBatches(batches: readonly Batch[], b: number, count: number): Batch[] {
  return Array.from({ length: count }, (_, k) => batches[(b + k + 1) % batches.length]!);
}

function disposeBatch(batch: Batch): void {
  batch.x.dispose();
  for (const t of Object.values(batch.targets)) t.dispose();
}
