import { existsSync } from 'node:fs';
import path from 'node:path';
import { readJsonFile } from './json.js';

/**
 * The names inside a run directory. Only src/runs/ uses them: everything else reads and writes a run through the
 * typed functions next to this file.
 */
export const RUN_FILES = {
  /** Identity, status and provenance; rewritten as the run goes (runs/meta.ts). Its presence makes a folder a run. */
  meta: 'meta.json',
  /** Final metrics, written once at the end (runs/summary.ts). */
  summary: 'summary.json',
  /** The config file as the user wrote it. */
  configSource: 'config.yaml',
  /** The config after overrides and defaults: what the run used (runs/inputs.ts). */
  resolvedConfig: 'config.resolved.json',
  /** Encodings fitted on the training rows (runs/inputs.ts). */
  preprocessing: 'preprocessing.json',
  /** The CSV a run read: its path, size and sha256 (runs/data-source.ts); none for built-in datasets. */
  dataSource: 'data-source.json',
  /** Multi-input runs (tasks with their own data): each data group's tasks and CSV (runs/data-source.ts). */
  dataGroups: 'data-groups.json',
  /** One JSON line per split and epoch (runs/logs.ts). */
  metricsLog: 'metrics.jsonl',
  /** The same values in long CSV format, one value a line. */
  metricsCsv: 'metrics.csv',
  /** One JSON line per epoch: learning rate, task weights, gradient cosines, monitor, speed. */
  epochsLog: 'epochs.jsonl',
  /** MTL against its baselines per task, relative gains, Δm, pairwise gains (runs/transfer.ts); issue #15. */
  transfer: 'transfer.json',
  /** What `mtl analyze` measured: task relatedness, grouping, warnings (runs/analysis.ts); rewritten by each run. */
  analysis: 'analysis.json',
} as const;

export type RunFile = keyof typeof RUN_FILES;

/** The checkpoints a run keeps: the best by the monitored metric, and the last epoch's. */
export type CheckpointName = 'best' | 'last';

export function runFile(runDir: string, file: RunFile): string {
  return path.join(runDir, RUN_FILES[file]);
}

/** `checkpoints/<which>/`: model.json + weights.bin (runs/checkpoint.ts). */
export function checkpointDir(runDir: string, which: CheckpointName): string {
  return path.join(runDir, 'checkpoints', which);
}

/** A checkpoint's topology and weights manifest (runs/checkpoint.ts): the file that makes a folder a checkpoint. */
export const MODEL_JSON = 'model.json';

/**
 * Whether a checkpoint was written to this folder. A checkpoint folder appears whole, by a rename
 * (runs/atomic.ts), so one that exists but lacks its model.json is a damaged checkpoint, not a missing one: the
 * reader refuses it naming the file (runs/checkpoint.ts verifyCheckpointFiles) rather than quietly taking another.
 * Here, not in checkpoint.ts, so that asking loads no TF.js.
 */
export function hasCheckpoint(dir: string): boolean {
  return existsSync(dir);
}

/** A `last` checkpoint's trainer state (runs/training-state.ts), beside its weights. */
export const TRAINING_STATE_JSON = 'training-state.json';

/**
 * Whether checkpoint folder `dir` holds a readable trainer state (a `last` checkpoint a run can resume from). Here,
 * not in training-state.ts, so that listing sweeps does not load TF.js.
 */
export function hasTrainingState(dir: string): boolean {
  try {
    readJsonFile(path.join(dir, TRAINING_STATE_JSON));
    return true;
  } catch {
    return false;
  }
}

/** `evals/`: one JSON file per `mtl eval` (runs/evals.ts). */
export function evalsDir(runDir: string): string {
  return path.join(runDir, 'evals');
}

/**
 * `tensorboard/`: TensorBoard event files, one folder per split (`train/`, `val/`, `test/`), each holding one
 * `events.out.tfevents.<unix seconds>.<host>` (runs/tensorboard.ts), so `tensorboard --logdir runs/` shows the run.
 */
export function tensorboardDir(runDir: string): string {
  return path.join(runDir, 'tensorboard');
}

/** The name TensorBoard looks for (files whose name contains `tfevents`), as TensorFlow's writers name them. */
export function eventFileName(wallSeconds: number, host: string): string {
  return `events.out.tfevents.${String(Math.floor(wallSeconds)).padStart(10, '0')}.${host}`;
}

/**
 * `run.lock`: present while a command changes the run (`mtl eval`, a resume); holds the writer's pid, host, command
 * and start time (runs/lock.ts). Not part of a finished run: it is removed when the command ends.
 */
export function lockFile(runDir: string): string {
  return path.join(runDir, 'run.lock');
}

/**
 * Where a run keeps the runs trained with it (api/baselines.ts), each a complete run directory: `baselines/<task>`
 * (one single-task run per task), `baselines/towers` (unshared towers), `pairs/<a>+<b>` (the run of two tasks).
 */
export const SUB_RUN_FOLDERS = ['baselines', 'pairs'] as const;
export type SubRunFolder = (typeof SUB_RUN_FOLDERS)[number];

/** A sub-run's path relative to its run: `baselines/<name>` or `pairs/<a>+<b>`. */
export function subRunPath(folder: SubRunFolder, name: string): string {
  return `${folder}/${name}`;
}
