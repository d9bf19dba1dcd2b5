import path from 'node:path';
import { tf } from '../tf.js';
import { initBackend, type BackendReport } from '../backend/select.js';
import { backendSetting } from '../config/backend-setting.js';
import { locateConfigField, type LoadedConfig } from '../config/load.js';
import type { BackendChoice, ResolvedConfig } from '../config/types.js';
import { prepareConfigData } from '../data/multi-input.js';
import type { PreparedData } from '../data/prepare.js';
import type { DataReport } from '../data/report.js';
import type { MultiTaskModel } from '../model/types.js';
import { MtlError, RunFailedError } from '../errors.js';
import { higherIsBetter } from '../metrics/direction.js';
import { getStrategy } from '../strategies/registry.js';
import { BackgroundTasks } from '../runs/atomic.js';
import { saveCheckpoint } from '../runs/checkpoint.js';
import { writeRunInputs } from '../runs/inputs.js';
import { checkpointDir } from '../runs/layout.js';
import { Heartbeat, thisProcess } from '../runs/liveness.js';
import {
  gitInfo,
  type ParameterCount,
  type RunLineage,
  type RunMeta,
  type RunStatus,
  type RunStrategy,
} from '../runs/meta.js';
import { createRunDir, createSubRunDir, resolveRunsDir } from '../runs/store.js';
import { writeSummary, type RunSummary } from '../runs/summary.js';
import { trainingStateFiles } from '../runs/training-state.js';
import { RunWriter } from '../runs/writer.js';
import { writesTensorBoard } from '../runs/tensorboard.js';
import { runStepsYielding } from '../train/event-loop.js';
import type { TrainerResume } from '../train/snapshot.js';
import { runTrainer, type TrainListener } from '../train/trainer.js';
import { mtlVersion } from '../util/version.js';
import { buildModel, countParameters, modelTopology } from './build.js';
import { finalCheckpoint, finalEvaluationSteps, type FinalEvaluation } from './final-evaluation.js';
import { InterruptRecorder, recordInterrupted, type RunHandle } from './interrupt-recorder.js';

export type { RunHandle } from './interrupt-recorder.js';
import { initialiseFromSource } from './init-weights.js';
import { mainTasks } from '../adversarial/adversarial-tasks.js';

export interface TrainOptions {
  runsDir?: string;
  /** Overrides the config's backend. */
  backend?: BackendChoice;
  listeners?: TrainListener[];
  /** Aborting finishes the current batch, saves a checkpoint and ends the run as `interrupted`. */
  signal?: AbortSignal;
  /** The command line to record (defaults to process.argv). */
  command?: string[];
  /**
   * Train the run inside another run's folder (a baseline or pair run, api/baselines.ts) at `<parent>/<path>`, with
   * the id `<parent id>/<path>`, instead of a new folder of the store.
   */
  subRun?: { parent: { id: string; dir: string }; path: string };
  /** Called once the data is read and split, before the run exists: how columns were read, split sizes, warnings. */
  onDataPrepared?(report: DataReport): void;
  /**
   * Claims the run's folder instead of a new `<time>-<name>-<hex>` one in the store (a seed group's member,
   * `<group>/seed-<n>`); called after the data and model are ready, so a bad config leaves no folder behind.
   */
  claimRunDir?(): { id: string; dir: string };
  /** Called once the run directory exists (e.g. to print its id early). */
  onRunCreated?(run: RunHandle): void;
  /**
   * How often meta.json's heartbeat is written while the run is alive (default 15 s). `mtl runs` shows a `running`
   * run as crashed once its heartbeat is over 5 minutes old.
   */
  heartbeatEveryMs?: number;
  /** Called once the model is built, before the first step (e.g. to print its parameter count). */
  onModelBuilt?(info: {
    architecture: string;
    parameterCount: ParameterCount;
    backend: string;
    /** The strategy as it runs: its name, a gradient method's resolved target, the config's notes. */
    strategy: RunStrategy;
  }): void;
}

/** Trains the experiment a loaded config describes and writes a complete run directory. */
export async function trainExperiment(loaded: LoadedConfig, options: TrainOptions = {}): Promise<RunSummary> {
  const config = loaded.config;
  const configDir = loaded.file ? path.dirname(loaded.file) : process.cwd();
  const startedAt = new Date();
  // --backend replaces the name only: the config's `backend.fma` still applies.
  const backend = await initBackend(options.backend ?? config.backend, { fma: backendSetting(config.backend).fma });
  const data = await prepareConfigData(config, configDir, (field) => locateConfigField(loaded, field));
  options.onDataPrepared?.(data.report);
  const runsDir = resolveRunsDir(options.runsDir);
  // Built before the run exists: layers that do not fit the data (a reshape of the wrong size) fail without
  // leaving a run directory behind.
  const model = buildModel(config, data.preprocessing);
  let created: { id: string; dir: string };
  let lineage: RunLineage | undefined;
  try {
    // Before the run exists too: a source that does not fit leaves nothing behind.
    if (config.init) {
      const fromAt = locateConfigField(loaded, ['init', 'from']).at;
      lineage = initialiseFromSource(config.init, model, data.preprocessing, runsDir, fromAt);
    }
    // A sub-run's place wins over a group's claim: a group member's baselines are trained inside the member.
    created = options.subRun
      ? createSubRunDir(options.subRun.parent, options.subRun.path)
      : options.claimRunDir
        ? options.claimRunDir()
        : createRunDir(runsDir, config.name, startedAt);
  } catch (error) {
    model.dispose();
    throw error;
  }
  const { id, dir } = created;
  // Nothing is written before the training loop's first turn of the event loop, where a signal can be handled.
  const interrupts = new InterruptRecorder();
  options.onRunCreated?.(interrupts.handle(id, dir));

  const git = gitInfo(configDir);
  const meta: RunMeta = {
    id,
    name: config.name,
    status: 'running',
    startedAt: startedAt.toISOString(),
    updatedAt: startedAt.toISOString(),
    seed: config.seed,
    backend,
    versions: { mtl: mtlVersion(), node: process.version, tfjs: tf.version.tfjs },
    command: options.command ?? process.argv.slice(1),
    cwd: process.cwd(),
    ...(loaded.file ? { configFile: loaded.file } : {}),
    overrides: loaded.overrides,
    ...(git ? { git } : {}),
    epochsCompleted: 0,
    process: thisProcess(),
    heartbeatAt: startedAt.toISOString(),
    ...(lineage ? { lineage } : {}),
  };
  const writer = new RunWriter(dir, meta, { tensorboard: writesTensorBoard(config) });
  writeRunInputs(dir, { configSource: loaded.sourceText, config, preprocessing: data.preprocessing, configDir });
  return trainInRun(
    {
      config,
      notes: loaded.notes,
      data,
      model,
      backend,
      id,
      dir,
      writer,
      startedAt,
      interrupts,
      frozen: lineage?.frozen,
    },
    options,
  );
}

/** A run directory ready to train in: new (trainExperiment) or continued (resumeExperiment, api/resume.ts). */
export interface TrainingSession {
  config: ResolvedConfig;
  notes: string[] | undefined;
  data: PreparedData;
  model: MultiTaskModel;
  backend: BackendReport;
  id: string;
  dir: string;
  writer: RunWriter;
  /** When this process started on the run (the summary's `seconds` counts from here). */
  startedAt: Date;
  /** Where to continue from, with the strategy state to restore. */
  resume?: TrainerResume;
  /** What `RunHandle.recordInterrupted` does once training has started (a second Ctrl-C). */
  interrupts: InterruptRecorder;
  /** Parameters held fixed (`init.freeze`), as meta.json's lineage records them. */
  frozen?: readonly string[] | undefined;
}

/**
 * Trains in a run directory whose inputs are written, then writes its final metrics, summary and status. The
 * `last` checkpoint is written at the end of an epoch (at most once a second, and at the run's end), every
 * `training.checkpoint_every_steps` steps (if set) and where training is interrupted, with the trainer's state
 * (runs/training-state.ts), so that `mtl train --resume` can continue exactly.
 */
export async function trainInRun(session: TrainingSession, options: TrainOptions): Promise<RunSummary> {
  const { config, data, model, backend, id, dir, writer, startedAt } = session;

  const strategy = getStrategy(config.strategy.name).create(config.strategy, {
    tasks: mainTasks(config.tasks),
    seed: config.seed,
    hasSharedRepresentation: Boolean(model.encode && model.decode),
  });
  const parameterCount = countParameters(model);
  const runStrategy: RunStrategy = {
    name: config.strategy.name,
    ...(strategy.needs === 'losses'
      ? {}
      : { gradTarget: strategy.needs === 'representation-gradients' ? 'representation' : 'params' }),
    ...(session.notes ? { notes: session.notes } : {}),
  };
  writer.updateMeta({ parameterCount, strategy: runStrategy });
  options.onModelBuilt?.({
    architecture: config.model.architecture,
    parameterCount,
    backend: backend.name,
    strategy: runStrategy,
  });
  const topology = modelTopology(config, data.preprocessing);
  const generatedBy = `mtl ${mtlVersion()} (TensorFlow.js ${tf.version.tfjs}, ${backend.name})`;
  // Checkpoints, run logs and meta.json progress are written beside training, in a worker; all of it is on disk
  // before a checkpoint is read back or the run reports anything as final.
  const background = new BackgroundTasks();
  if (session.resume) strategy.restore(session.resume.snapshot.strategyState);
  // Beside training through the background writer; once that is closed (the final evaluation), directly. None while
  // it closes: a write queued then could be cut off with the worker, and meta.json's final write would find it pending.
  let beatsVia: 'background' | 'none' | 'direct' = 'background';
  const heartbeat = new Heartbeat((heartbeatAt) => {
    if (beatsVia === 'background') writer.updateMetaInBackground({ heartbeatAt }, background);
    else if (beatsVia === 'direct') writer.updateMeta({ heartbeatAt });
  }, options.heartbeatEveryMs);
  session.interrupts.record = (reason) => {
    heartbeat.stop();
    return recordInterrupted(writer, background, reason, () => session.interrupts.ended);
  };

  let status: RunStatus = 'running';
  let statusReason: string | undefined;
  let bestEpoch = -1;
  let epochs = 0;
  try {
    const result = await runTrainer({
      config,
      data,
      model,
      strategy,
      listeners: [
        {
          // meta.json's progress follows the `last` checkpoint (onCheckpoint below): every epoch is logged.
          onEpochEnd: (record) => {
            // A checkpoint or log that failed to write fails the run here (an epoch later than when written inline).
            background.check();
            writer.recordEpoch(record, background);
          },
          // The diverged epoch is logged (its losses show what happened) but its weights are saved nowhere.
          onDiverged: (record) => {
            background.check();
            writer.recordEpoch(record, background);
          },
        },
        ...(options.listeners ?? []),
      ],
      ...(options.signal ? { signal: options.signal } : {}),
      onImproved: (record) =>
        saveCheckpoint(
          checkpointDir(dir, 'best'),
          model,
          topology,
          {
            epoch: record.epoch,
            monitor: { name: record.monitor.name, value: record.monitor.value },
            strategyState: strategy.state(),
          },
          generatedBy,
          background,
        ),
      onCheckpoint: async ({ snapshot, optimizerSlots }) => {
        const epoch = snapshot.records.length + (snapshot.partial ? 1 : 0);
        const extra = await trainingStateFiles(snapshot, optimizerSlots);
        const metadata = { epoch, strategyState: snapshot.strategyState };
        await saveCheckpoint(checkpointDir(dir, 'last'), model, topology, metadata, generatedBy, background, extra);
        // The epochs completed as of the checkpoint a resume would start from (the trainer takes one at least a
        // second apart, and at the run's end); the heartbeat with it.
        const heartbeatAt = new Date().toISOString();
        writer.updateMetaInBackground({ epochsCompleted: snapshot.records.length, heartbeatAt }, background);
      },
      ...(session.resume ? { resume: session.resume } : {}),
      ...(session.frozen ? { frozen: session.frozen } : {}),
    });
    epochs = result.epochs.length;
    bestEpoch = result.bestEpoch;
    beatsVia = 'none';
    await background.close();
    beatsVia = 'direct';
    status =
      result.outcome === 'interrupted' ? 'interrupted' : result.outcome === 'diverged' ? 'diverged' : 'completed';
    statusReason =
      result.outcome === 'diverged'
        ? divergedReason(result.reason ?? 'training diverged', bestEpoch)
        : (result.reason ??
          (result.outcome === 'early-stopped'
            ? `early stopping after epoch ${epochs} (${bestEpochText(bestEpoch)})`
            : undefined));
  } catch (error) {
    const message = error instanceof MtlError ? error.message : (error as Error).message;
    heartbeat.stop();
    await background.close().catch(() => undefined); // the run failed already; that error is the one to report
    writer.updateMeta({ status: 'failed', statusReason: message, endedAt: new Date().toISOString() });
    session.interrupts.ended = true;
    model.dispose();
    strategy.dispose?.();
    throw error instanceof MtlError ? error : new RunFailedError(`Run ${id} failed: ${message}`, error);
  }

  // In steps with event-loop turns between them: a signal that comes during the final evaluation (seconds on a large
  // test split) is handled, and a second one stops at once (cli/interrupts.ts).
  session.interrupts.finishing = true;
  const checkpoint = finalCheckpoint(status, bestEpoch);
  let final: FinalEvaluation;
  try {
    final = await runStepsYielding(finalEvaluationSteps(session, checkpoint));
  } catch (error) {
    // A checkpoint damaged on disk, say: the run is `failed` with the reason, not left `running`.
    const message = error instanceof MtlError ? error.message : (error as Error).message;
    heartbeat.stop();
    writer.updateMeta({
      status: 'failed',
      statusReason: `the final evaluation failed: ${message}`,
      endedAt: new Date().toISOString(),
      epochsCompleted: epochs,
      bestEpoch,
    });
    session.interrupts.ended = true;
    model.dispose();
    strategy.dispose?.();
    throw error instanceof MtlError
      ? error
      : new RunFailedError(`Run ${id} failed in its final evaluation: ${message}`, error);
  }
  heartbeat.stop();
  const { test, val, adversarial } = final;
  if (checkpoint) writer.recordFinal('test', bestEpoch > 0 ? bestEpoch : epochs, test);
  model.dispose();
  strategy.dispose?.();

  const seconds = (Date.now() - startedAt.getTime()) / 1000;
  const summary: RunSummary = {
    id,
    name: config.name,
    dir,
    status,
    ...(statusReason ? { statusReason } : {}),
    backend: backend.name,
    epochs,
    bestEpoch,
    ...(checkpoint ? { checkpoint } : {}),
    test,
    val,
    directions: Object.fromEntries([...Object.keys(test), ...Object.keys(val)].map((k) => [k, higherIsBetter(k)])),
    parameterCount,
    seconds: Math.round(seconds * 1000) / 1000,
    ...(config.data.missing_targets === 'mask' ? { labels: data.labelCounts } : {}),
    ...adversarial,
  };
  writeSummary(dir, summary);
  writer.updateMeta({
    status,
    ...(statusReason ? { statusReason } : {}),
    endedAt: new Date().toISOString(),
    epochsCompleted: epochs,
    bestEpoch,
  });
  session.interrupts.ended = true;
  return summary;
}

function bestEpochText(bestEpoch: number): string {
  return bestEpoch > 0 ? `best epoch ${bestEpoch}` : 'no epoch improved the monitored value';
}

/** The divergence, then what was kept of the run. */
function divergedReason(reason: string, bestEpoch: number): string {
  const kept =
    bestEpoch > 0
      ? `final metrics are from the best checkpoint (epoch ${bestEpoch}), saved before the divergence`
      : 'no epoch before it was good, so there is no checkpoint and no final metrics';
  return `${reason}. ${kept}`;
}
