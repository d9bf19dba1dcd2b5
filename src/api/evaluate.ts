import path from 'node:path';
import { runKernels } from '../backend/run-kernels.js';
import { initBackend } from '../backend/select.js';
import { DOMAIN_TASK } from '../adversarial/domains.js';
import type { BackendChoice, ResolvedConfig, TaskConfig } from '../config/types.js';
import { readCsv } from '../data/csv.js';
import { encodeRows, type EncodedRows, type Preprocessing } from '../data/preprocess.js';
import { SPLITS, type SplitName } from '../data/split.js';
import { UsageError } from '../errors.js';
import { higherIsBetter } from '../metrics/direction.js';
import { loadCheckpointInto } from '../runs/checkpoint.js';
import { saveEvaluation, type EvaluationResult } from '../runs/evals.js';
import { readResolvedConfig } from '../runs/inputs.js';
import { readPreprocessing } from '../runs/preprocessing-file.js';
import { checkpointDir, hasCheckpoint, type CheckpointName } from '../runs/layout.js';
import { withRunLock, type RunLockOptions } from '../runs/lock.js';
import type { StoredRunMeta } from '../runs/meta.js';
import { openRun, resolveRun, resolveRunsDir } from '../runs/store.js';
import { evaluateEncoded } from '../train/evaluate-encoded.js';
import { buildModel } from './build.js';
import {
  emptyRows,
  encodeGroupFile,
  encodeNewRows,
  groupFiles,
  mergeRunGroups,
  replayGroup,
  replayOwnData,
  runGroups,
} from './multi-input-data.js';

export interface EvaluateOptions {
  runsDir?: string;
  split?: SplitName;
  /** Another CSV with the same columns, encoded with the run's preprocessing; replaces `split`. */
  dataFile?: string;
  /**
   * Like `dataFile`, as `--data` gives them: `FILE` or `TASK=FILE` per entry (a run whose tasks have their own data
   * reads one file per data source; api/multi-input-data.ts). Replaces `split` and `dataFile`.
   */
  dataFiles?: string[];
  checkpoint?: CheckpointName;
  backend?: BackendChoice;
  /**
   * Waiting for another command that changes the same run (another eval, a resume): how long (default
   * `MTL_LOCK_TIMEOUT` seconds, else 60), and what to tell the user while waiting or when a dead one's lock is taken.
   */
  lock?: Pick<RunLockOptions, 'timeoutMs' | 'onWait' | 'onStaleLock'>;
}

export interface StoredRun {
  id: string;
  dir: string;
  config: ResolvedConfig;
  meta: StoredRunMeta;
  preprocessing: Preprocessing;
}

/** Reads the pieces of a run needed to rebuild its model and data. */
export function readRun(reference: string, runsDir?: string): StoredRun {
  const { id, dir, meta } = openRun(reference, resolveRunsDir(runsDir));
  return { id, dir, meta, config: readResolvedConfig(dir), preprocessing: readPreprocessing(dir) };
}

/**
 * Evaluates a run's checkpoint on one of its splits or on a new CSV, and stores the result under `evals/` in the
 * run without touching anything training wrote. It holds the run's lock throughout (runs/lock.ts): a resume or
 * another eval of the same run waits, so the checkpoint read is never one being replaced.
 */
export async function evaluateRun(reference: string, options: EvaluateOptions = {}): Promise<EvaluationResult> {
  if (options.split !== undefined) checkSplit(options.split);
  if (options.split !== undefined && (options.dataFile !== undefined || (options.dataFiles ?? []).length > 0)) {
    throw new UsageError(
      "split picks rows of the run's own data; with dataFile(s) every row of the file is evaluated.",
      ['leave out one of split and dataFile(s)'],
    );
  }
  const { dir } = resolveRun(reference, resolveRunsDir(options.runsDir));
  return withRunLock(dir, () => evaluateLocked(dir, options), { command: 'mtl eval', ...options.lock });
}

/**
 * `split` as given by a caller the types do not reach (plain JavaScript, a command-line flag), checked before anything
 * is read: an unknown name would otherwise fail deep in the split's rows. `label` is what the caller calls it
 * (`--split` for the CLI), so the message names what the user wrote.
 */
export function checkSplit(split: string, label = 'split'): SplitName {
  const known = SPLITS.find((name) => name === split);
  if (known === undefined) throw new UsageError(`${label} "${split}": expected train, val or test.`);
  return known;
}

/**
 * A checkpoint name as a caller the types do not reach gives it (plain JavaScript, a `--checkpoint` flag: `label`):
 * any other name would read as a checkpoint the run lacks.
 */
export function checkCheckpointName(name: string, label = 'checkpoint'): CheckpointName {
  if (name === 'best' || name === 'last') return name;
  throw new UsageError(`${label} "${name}": expected best or last.`);
}

async function evaluateLocked(runDir: string, options: EvaluateOptions): Promise<EvaluationResult> {
  const run = readRun(runDir);
  const checkpoint = chooseCheckpoint(run, options.checkpoint ?? 'best', options.checkpoint !== undefined);
  const backend = await initBackend(options.backend ?? run.config.backend, runKernels(run.id, run.meta.backend));
  const files = options.dataFiles ?? (options.dataFile === undefined ? [] : [options.dataFile]);
  const rows: EvaluatedRows =
    files.length > 0 ? await encodeFiles(run, files) : await encodeSplit(run, options.split ?? 'test');
  const { encoded, data, notes } = rows;
  if (encoded.rows === 0) throw new UsageError(`Run ${run.id}: the ${data} data has no rows to evaluate.`);
  const model = buildModel(run.config, run.preprocessing);
  try {
    const epoch = loadCheckpointInto(checkpointDir(run.dir, checkpoint), model).epoch;
    const { metrics, adversaries } = evaluateEncoded(
      model,
      encoded,
      rows.tasks ?? run.config.tasks,
      rows.preprocessing ?? run.preprocessing,
      run.config.training.eval_batch_size,
    );
    return saveEvaluation(run.dir, {
      run: run.id,
      runDir: run.dir,
      checkpoint,
      epoch,
      data,
      rows: encoded.rows,
      metrics,
      directions: Object.fromEntries(Object.keys(metrics).map((k) => [k, higherIsBetter(k)])),
      backend: backend.name,
      ...(adversaries && Object.keys(adversaries).length > 0 ? { adversaries } : {}),
      ...(notes && notes.length > 0 ? { notes } : {}),
      ...(rows.warnings && rows.warnings.length > 0 ? { warnings: rows.warnings } : {}),
    });
  } finally {
    model.dispose();
  }
}

/**
 * A checkpoint's metrics on one of the run's own splits, stored nowhere and without the run's lock: for readers
 * (`mtl compare` of a run that has no summary). `epoch` is the checkpoint's.
 */
export async function evaluateCheckpointOnSplit(
  run: StoredRun,
  checkpoint: CheckpointName,
  split: SplitName,
): Promise<{ metrics: Record<string, number>; epoch: number; rows: number }> {
  await initBackend(run.config.backend, runKernels(run.id, run.meta.backend));
  const { encoded } = await encodeSplit(run, split);
  if (encoded.rows === 0) return { metrics: {}, epoch: 0, rows: 0 };
  const model = buildModel(run.config, run.preprocessing);
  try {
    const { epoch } = loadCheckpointInto(checkpointDir(run.dir, checkpoint), model);
    const { tasks, training } = run.config;
    const { metrics } = evaluateEncoded(model, encoded, tasks, run.preprocessing, training.eval_batch_size);
    return { metrics, epoch, rows: encoded.rows };
  } finally {
    model.dispose();
  }
}

/**
 * The checkpoint to read. By default (`asked` false) `best` falls back to `last` where no best checkpoint was ever
 * written (no epoch improved the monitored metric); one asked for by name (`--checkpoint best`) is that one or an
 * error. A best checkpoint that was written but is damaged (a file missing or cut short) is chosen all the same, so
 * that reading it refuses it naming the file, instead of another checkpoint being evaluated in its place.
 */
export function chooseCheckpoint(run: StoredRun, wanted: CheckpointName, asked = false): CheckpointName {
  checkCheckpointName(wanted);
  if (hasCheckpoint(checkpointDir(run.dir, wanted))) return wanted;
  const last = hasCheckpoint(checkpointDir(run.dir, 'last'));
  if (wanted === 'best' && last && !asked) return 'last';
  // A diverged run saves none of its diverged weights; without a good epoch before the divergence it has none at all.
  const why = run.meta.status === 'diverged' && run.meta.statusReason ? [`it diverged: ${run.meta.statusReason}`] : [];
  const other =
    wanted === 'best' && last
      ? [
          'a best checkpoint is written when an epoch ends with a better monitored metric, and none did; ' +
            '--checkpoint last (or no --checkpoint) reads the last checkpoint',
        ]
      : [];
  throw new UsageError(`Run ${run.id} has no "${wanted}" checkpoint (status: ${run.meta.status}).`, [...why, ...other]);
}

/** A split of the run's own data, rebuilt exactly as training made it (same table, rows and assignment). */
export async function encodeSplit(run: StoredRun, split: SplitName): Promise<{ encoded: EncodedRows; data: string }> {
  const groups = runGroups(run);
  if (groups) {
    const parts = [];
    for (const group of groups) {
      const replayed = await replayGroup(run, group, 'evaluate on CSV files with --data TASK=FILE instead');
      parts.push(encodeRows(replayed.table, group.preprocessing, replayed.split[split], replayed.labels));
    }
    return { encoded: mergeRunGroups(run, groups, parts), data: split };
  }
  const replayed = await replayOwnData(run, 'evaluate on a CSV with --data instead');
  return {
    encoded: encodeRows(replayed.table, run.preprocessing, replayed.split[split], replayed.labels),
    data: split,
  };
}

/**
 * Rows to evaluate, and where they are not the run's own: the tasks and encodings to read them with (a file without
 * the domain column: every task but the domain discriminator), and what to tell about it.
 */
interface EvaluatedRows {
  encoded: EncodedRows;
  data: string;
  tasks?: readonly TaskConfig[];
  preprocessing?: Preprocessing;
  notes?: string[];
  /** What the rows hold that the model cannot read as training did (a category it never saw: all zeros). */
  warnings?: string[];
}

/** `--data` files: with one data source, one CSV; with several, one per source (api/multi-input-data.ts). */
async function encodeFiles(run: StoredRun, entries: string[]): Promise<EvaluatedRows> {
  const groups = runGroups(run);
  if (!groups) {
    if (entries.length > 1) {
      throw new UsageError(`--data is given ${entries.length} times; run ${run.id} reads one data source.`, [
        'give one --data FILE',
      ]);
    }
    return encodeFile(run, entries[0]!);
  }
  const files = groupFiles(run, groups, entries);
  const parts = [];
  const warnings: string[] = [];
  for (const [g, group] of groups.entries()) {
    const file = files[g];
    const read = file === undefined ? undefined : await encodeGroupFile(run, group, file);
    parts.push(read?.encoded ?? emptyRows(group));
    warnings.push(...(read?.warnings ?? []));
  }
  const named = groups.flatMap((group, g) =>
    files[g] === undefined ? [] : [`${group.group.tasks.map((t) => t.name).join('+')}=${files[g]}`],
  );
  return { encoded: mergeRunGroups(run, groups, parts), data: named.join(', '), warnings };
}

/** Another CSV with the run's columns, all rows, encoded with the run's preprocessing. */
async function encodeFile(run: StoredRun, dataFile: string): Promise<EvaluatedRows> {
  const table = await readCsv(path.resolve(dataFile), dataFile);
  const domains = run.config.data.domains;
  if (!domains || table.columns.some((column) => column.name === domains.column)) {
    return { ...encodeNewRows(run, ['data'], table, run.preprocessing, run.config), data: dataFile };
  }
  // The tasks read no domain: only the domain discriminator (an adversary, reported apart) needs the column.
  const config = { ...run.config, tasks: run.config.tasks.filter((task) => task.name !== DOMAIN_TASK) };
  const preprocessing = { ...run.preprocessing, tasks: run.preprocessing.tasks.filter((t) => t.name !== DOMAIN_TASK) };
  return {
    ...encodeNewRows(run, ['data'], table, preprocessing, config),
    data: dataFile,
    tasks: config.tasks,
    preprocessing,
    notes: [
      `${table.source} has no column "${domains.column}" (data.domains.column): the domain discriminator ` +
        `(adversary ${DOMAIN_TASK}) is left out; the tasks are evaluated on every row`,
    ],
  };
}
