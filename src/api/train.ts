import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend/select.js';
import type { LoadedConfig } from '../config/load.js';
import type { BackendChoice } from '../config/types.js';
import { prepareData } from '../data/prepare.js';
import { MtlError, RunFailedError } from '../errors.js';
import { higherIsBetter } from '../metrics/direction.js';
import type { MetricValues } from '../metrics/types.js';
import { getStrategy } from '../strategies/registry.js';
import { BackgroundTasks } from '../runs/atomic.js';
import { loadCheckpointInto, saveCheckpoint } from '../runs/checkpoint.js';
import { writeRunInputs } from '../runs/inputs.js';
import { checkpointDir, type CheckpointName } from '../runs/layout.js';
import { gitInfo, type ParameterCount, type RunMeta, type RunStatus, type RunStrategy } from '../runs/meta.js';
import { createRunDir, resolveRunsDir } from '../runs/store.js';
import { writeSummary, type RunSummary } from '../runs/summary.js';
import { RunWriter } from '../runs/writer.js';
import { evaluateEncoded } from '../train/evaluate-encoded.js';
import { runTrainer, type TrainListener } from '../train/trainer.js';
import { mtlVersion } from '../util/version.js';
import { buildModel, countParameters, modelTopology } from './build.js';

export interface TrainOptions {
  runsDir?: string;
  /** Overrides the config's backend. */
  backend?: BackendChoice;
  listeners?: TrainListener[];
  /** Aborting finishes the current batch, saves a checkpoint and ends the run as `interrupted`. */
  signal?: AbortSignal;
  /** The command line to record (defaults to process.argv). */
  command?: string[];
  /** Called once the run directory exists (e.g. to print its id early). */
  onRunCreated?(run: { id: string; dir: string }): void;
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
  const backend = await initBackend(options.backend ?? config.backend);
  const data = await prepareData(config, configDir);
  const runsDir = resolveRunsDir(options.runsDir);
  // Built before the run exists: layers that do not fit the data (a reshape of the wrong size) fail without
  // leaving a run directory behind.
  const model = buildModel(config, data.preprocessing);
  let created: { id: string; dir: string };
  try {
    created = createRunDir(runsDir, config.name, startedAt);
  } catch (error) {
    model.dispose();
    throw error;
  }
  const { id, dir } = created;
  options.onRunCreated?.({ id, dir });

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
  };
  const writer = new RunWriter(dir, meta);
  writeRunInputs(dir, { configSource: loaded.sourceText, config, preprocessing: data.preprocessing, configDir });

  const strategy = getStrategy(config.strategy.name).create(config.strategy, {
    tasks: config.tasks,
    seed: config.seed,
    hasSharedRepresentation: Boolean(model.encode && model.decode),
  });
  const parameterCount = countParameters(model);
  const runStrategy: RunStrategy = {
    name: config.strategy.name,
    ...(strategy.needs === 'losses'
      ? {}
      : { gradTarget: strategy.needs === 'representation-gradients' ? 'representation' : 'params' }),
    ...(loaded.notes ? { notes: loaded.notes } : {}),
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
          onEpochEnd: (record) => {
            // A checkpoint or log that failed to write fails the run here (an epoch later than when written inline).
            background.check();
            writer.recordEpoch(record, background);
            writer.updateMetaInBackground({ epochsCompleted: record.epoch }, background);
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
    });
    epochs = result.epochs.length;
    bestEpoch = result.bestEpoch;
    await saveCheckpoint(
      checkpointDir(dir, 'last'),
      model,
      topology,
      { epoch: epochs, strategyState: strategy.state() },
      generatedBy,
      background,
    );
    await background.close();
    status =
      result.outcome === 'interrupted' ? 'interrupted' : result.outcome === 'diverged' ? 'diverged' : 'completed';
    statusReason =
      result.reason ??
      (result.outcome === 'early-stopped'
        ? `early stopping after epoch ${epochs} (best epoch ${bestEpoch})`
        : undefined);
  } catch (error) {
    const message = error instanceof MtlError ? error.message : (error as Error).message;
    await background.close().catch(() => undefined); // the run failed already; that error is the one to report
    writer.updateMeta({ status: 'failed', statusReason: message, endedAt: new Date().toISOString() });
    model.dispose();
    strategy.dispose?.();
    throw error instanceof MtlError ? error : new RunFailedError(`Run ${id} failed: ${message}`, error);
  }

  // Final metrics come from the best checkpoint when one was kept (the last one otherwise).
  const checkpoint: CheckpointName = bestEpoch > 0 && status !== 'diverged' ? 'best' : 'last';
  if (checkpoint === 'best') loadCheckpointInto(checkpointDir(dir, 'best'), model);
  const evaluate = (split: 'val' | 'test'): MetricValues =>
    evaluateEncoded(model, data.splits[split], config.tasks, data.preprocessing, config.training.eval_batch_size)
      .metrics;
  const test = evaluate('test');
  const val = evaluate('val');
  writer.recordFinal('test', bestEpoch > 0 ? bestEpoch : epochs, test);
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
    checkpoint,
    test,
    val,
    directions: Object.fromEntries([...Object.keys(test), ...Object.keys(val)].map((k) => [k, higherIsBetter(k)])),
    parameterCount,
    seconds: Math.round(seconds * 1000) / 1000,
  };
  writeSummary(dir, summary);
  writer.updateMeta({
    status,
    ...(statusReason ? { statusReason } : {}),
    endedAt: new Date().toISOString(),
    epochsCompleted: epochs,
    bestEpoch,
  });
  return summary;
}
