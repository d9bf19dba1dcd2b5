import { existsSync } from 'node:fs';
import path from 'node:path';
import type { tf } from '../tf.js';
import { runKernels } from '../backend/run-kernels.js';
import { initBackend } from '../backend/select.js';
import { prepareConfigData } from '../data/multi-input.js';
import { UsageError } from '../errors.js';
import { DamagedCheckpointError, joinBuffers, loadCheckpointInto, verifyCheckpointFiles } from '../runs/checkpoint.js';
import { preprocessingMatches, readResolvedConfig } from '../runs/inputs.js';
import { checkpointDir, hasCheckpoint, runFile } from '../runs/layout.js';
import { crashReason, thisProcess } from '../runs/liveness.js';
import type { ResolvedConfig } from '../config/types.js';
import { writeJsonAtomic } from '../runs/atomic.js';
import type { RunMeta, StoredRunMeta } from '../runs/meta.js';
import { openRun, resolveRunsDir } from '../runs/store.js';
import type { RunSummary } from '../runs/summary.js';
import { readTrainingState, trainingStateFile } from '../runs/training-state.js';
import { RunWriter } from '../runs/writer.js';
import { writesTensorBoard } from '../runs/tensorboard.js';
import { refreshGroupOfMember } from './groups.js';
import { buildModel } from './build.js';
import { InterruptRecorder } from './interrupt-recorder.js';
import { trainInRun, type TrainOptions } from './train.js';
import { withRunLock, type RunLockOptions } from '../runs/lock.js';
import { shellWord } from '../util/shell.js';

/**
 * Continues an interrupted, crashed or failed run from its `last` checkpoint (`mtl train --resume RUN`): the same
 * config, data and backend, the weights, optimizer slots, strategy state, generators and position in the data order
 * restored, so that on the same backend the run ends with the metrics it would have had if left alone, bit for bit.
 * The logs are rewritten to the checkpoint's epochs first (what a killed run appended after it goes).
 */
export async function resumeExperiment(reference: string, options: ResumeOptions = {}): Promise<RunSummary> {
  const { dir } = openRun(reference, resolveRunsDir(options.runsDir));
  // Everything that follows writes into the run: one writer at a time (an eval of it waits, and so would this).
  const summary = await withRunLock(dir, () => resumeLocked(reference, options), {
    command: 'mtl train --resume',
    ...options.lock,
  });
  refreshGroupOfMember(dir); // a seed group's member: group.json and group-summary.json follow
  return summary;
}

/** What {@link resumeExperiment} takes: training's options, and how to wait for the run's lock. */
export interface ResumeOptions extends TrainOptions {
  /** As for `evaluateRun`: how long to wait for another command changing the run, and what to say meanwhile. */
  lock?: Pick<RunLockOptions, 'timeoutMs' | 'onWait' | 'onStaleLock' | 'command'>;
}

async function resumeLocked(reference: string, options: TrainOptions): Promise<RunSummary> {
  // Read again under the lock: the run may have changed while this waited.
  const { id, meta } = openRun(reference, resolveRunsDir(options.runsDir));
  refuseUnresumable(id, meta);
  return continueFromLast(reference, options);
}

/**
 * How a continuation changes the run before training on (api/extend.ts raises training.epochs): the config to
 * train on and the meta.json fields to change, written once meta.json says `running`, so that a process killed
 * between the two leaves a run that shows as crashed (and is resumed), never a completed run with an unmet config.
 */
export interface Continuation {
  config(stored: ResolvedConfig): ResolvedConfig;
  meta: Partial<RunMeta>;
}

/**
 * Continues a run from its `last` checkpoint, under the run's lock, which the caller holds (it has checked that the
 * run may be continued).
 */
export async function continueFromLast(
  reference: string,
  options: TrainOptions,
  continuation?: Continuation,
): Promise<RunSummary> {
  const { id, dir, meta } = openRun(reference, resolveRunsDir(options.runsDir));
  const last = checkpointDir(dir, 'last');
  const damaged = resumeHints(id, dir, meta);
  // Checked first: checksums.json covers training-state.json, so a file cut short is named as damaged, not missing.
  const read = hasCheckpoint(last) ? damaged(() => verifyCheckpointFiles(last)) : undefined;
  if (read === undefined || !existsSync(trainingStateFile(last))) {
    throw new UsageError(
      `Run ${id} has no checkpoint to resume from (${trainingStateFile(last)} is missing): it ` +
        'stopped before its first epoch ended, or was written by an mtl without --resume.',
      [`train it again: ${trainAgain(meta)}`],
    );
  }
  const stored = readResolvedConfig(dir);
  const config = continuation ? continuation.config(stored) : stored;
  const backend = await initBackend(
    options.backend ?? meta.backend?.name ?? config.backend,
    runKernels(id, meta.backend),
  );
  const data = await prepareConfigData(config, meta.configFile ? path.dirname(meta.configFile) : meta.cwd);
  if (!preprocessingMatches(dir, data.preprocessing)) {
    throw new UsageError(
      `Run ${id}: its data has changed since the run started (the encodings fitted now differ from its ` +
        'preprocessing.json), so it cannot be continued exactly.',
      [`restore the data the run trained on, or train again: ${trainAgain(meta)}`],
    );
  }
  const model = buildModel(config, data.preprocessing);
  let slots: Record<string, tf.Tensor> = {};
  let training = false; // from then on trainInRun owns the model (and disposes it)
  try {
    damaged(() => loadCheckpointInto(last, model));
    const state = damaged(() => readTrainingState(last, (name) => joinBuffers([read(name)])));
    slots = state.optimizerSlots;
    const { snapshot } = state;
    const startedAt = new Date();
    const writer = new RunWriter(dir, meta, { tensorboard: writesTensorBoard(config) });
    writer.rewriteLogs(snapshot.records);
    writer.updateMeta({
      status: 'running',
      statusReason: undefined,
      endedAt: undefined,
      epochsCompleted: snapshot.records.length,
      process: thisProcess(),
      heartbeatAt: startedAt.toISOString(),
      resumes: [
        ...(meta.resumes ?? []),
        { at: startedAt.toISOString(), epoch: snapshot.epoch, batch: snapshot.batch, from: shownFrom(meta) },
      ],
      ...continuation?.meta,
    });
    if (continuation) writeJsonAtomic(runFile(dir, 'resolvedConfig'), config);
    const interrupts = new InterruptRecorder();
    options.onRunCreated?.(interrupts.handle(id, dir));
    training = true;
    return await trainInRun(
      {
        config,
        notes: meta.strategy?.notes,
        data,
        model,
        backend,
        id,
        dir,
        writer,
        startedAt,
        resume: state,
        interrupts,
        frozen: meta.lineage?.frozen,
      },
      options,
    );
  } catch (error) {
    if (!training) model.dispose();
    throw error;
  } finally {
    for (const tensor of Object.values(slots)) tensor.dispose();
  }
}

/**
 * Runs a read of the `last` checkpoint, giving a damaged one the hints a continuation can act on: the reader's own
 * hint points to the other checkpoint with `--checkpoint`, which `mtl train --resume` does not have (a run goes on
 * from its `last` checkpoint only), while evaluating the `best` one still works.
 */
function resumeHints(id: string, dir: string, meta: StoredRunMeta): <T>(read: () => T) => T {
  return (read) => {
    try {
      return read();
    } catch (error) {
      if (!(error instanceof DamagedCheckpointError)) throw error;
      const best = hasCheckpoint(checkpointDir(dir, 'best'));
      throw new UsageError(error.message, [
        'a run continues from its last checkpoint only: restore the file from a backup, or train the run again: ' +
          trainAgain(meta),
        ...(best ? [`its best checkpoint is kept apart and can still be evaluated: mtl eval ${id}`] : []),
      ]);
    }
  };
}

/**
 * The command that trains the run (or seed group) again from the start: its config with the `--set` flags it was
 * given.
 */
export function trainAgain(meta: Pick<StoredRunMeta, 'configFile' | 'overrides'>): string {
  const sets = meta.overrides.flatMap((override) => ['--set', shellWord(override)]);
  return ['mtl train', meta.configFile ? shellWord(meta.configFile) : '<config>', ...sets].join(' ');
}

function shownFrom(meta: StoredRunMeta): string {
  return crashReason(meta) === undefined ? meta.status : 'crashed';
}

/** Completed and diverged runs are not continued; a run whose process is alive is not touched. */
function refuseUnresumable(id: string, meta: StoredRunMeta): void {
  if (meta.status === 'completed')
    throw new UsageError(`Run ${id} is completed; there is nothing to resume.`, [
      'to train longer, start a new run with a higher training.epochs',
    ]);
  if (meta.status === 'diverged')
    throw new UsageError(
      `Run ${id} diverged${meta.statusReason ? ` (${meta.statusReason})` : ''}; resuming would diverge again.`,
      ['train it again with a lower training.lr or training.grad_clip_norm'],
    );
  if (meta.status === 'running' && crashReason(meta) === undefined) {
    const owner = meta.process ? ` (pid ${meta.process.pid} on ${meta.process.host})` : '';
    throw new UsageError(`Run ${id} is still running${owner}; it can be resumed once it has stopped.`, [
      'stop it with Ctrl-C (or kill its process); a run whose process is gone shows as crashed in `mtl runs`',
    ]);
  }
}
