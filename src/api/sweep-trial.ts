import path from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { MtlError, type UsageError } from '../errors.js';
import { readResolvedConfig } from '../runs/inputs.js';
import { readMeta } from '../runs/meta.js';
import type { RunSummary } from '../runs/summary.js';
import {
  claimTrialDir,
  discardTrial,
  trialCanResume,
  trialState,
  trialStatus,
  tryTrialLock,
  type TrialStatus,
} from '../runs/sweeps.js';
import { extendExperiment, whyNotExtendable } from './extend.js';
import { resumeExperiment } from './resume.js';
import { damagedRun } from './runs.js';
import type { PlannedTrial, SweepOptions, SweepPlan, TrialOutcome, TrialRequest, TrialStartAction } from './sweep.js';
import { trainExperiment } from './train.js';

/**
 * One trial of a sweep, in this process or a worker's (api/sweep-worker.ts): what it needs now (nothing, a first
 * training, a resume, a halving rung's extension), decided and done under the trial's lock.
 */

export type RunTrialOptions = Omit<
  SweepOptions,
  'shard' | 'failFast' | 'retryFailed' | 'onTrialStart' | 'onTrialEnd' | 'jobs' | 'onWorkerOutput'
> & {
  onStart?(trial: PlannedTrial, action: TrialStartAction): void;
};

/**
 * What one trial needs now, decided and done under its lock (in this process, or in a worker process: the whole
 * request is passed on). With `epochs` (a halving rung's budget) a new trial trains that many epochs, and a
 * completed one short of them is extended (unless it stopped early: final).
 */
export async function runTrial(
  plan: SweepPlan,
  sweepDir: string,
  request: TrialRequest,
  retryFailed: boolean,
  options: RunTrialOptions,
): Promise<TrialOutcome> {
  const { trial, epochs } = request;
  const trialDir = path.join(sweepDir, trial.hash);
  const isFinal = (status: TrialStatus): boolean => requestIsDone(trialDir, status, epochs, retryFailed);
  const { status: before, damage } = trialState(trialDir);
  if (damage) return damagedTrial(trial, trialDir, damage);
  if (isFinal(before)) return { trial, action: 'skipped', status: before };
  if (before === 'running') return { trial, action: 'left to another process', status: before };
  const lock = await tryTrialLock(sweepDir, trial.hash);
  if (!lock) return { trial, action: 'left to another process', status: trialStatus(trialDir) };
  const { onStart, ...trainOptions } = options;
  try {
    // Read again under the lock: another process may have finished it.
    const { status, damage: damagedSince } = trialState(trialDir);
    if (damagedSince) return damagedTrial(trial, trialDir, damagedSince);
    if (isFinal(status)) return { trial, action: 'skipped', status };
    if (status === 'running') return { trial, action: 'left to another process', status };
    const extend = status === 'completed'; // short of the rung's epochs (else final)
    const resume = !extend && status !== 'pending' && trialCanResume(trialDir);
    if (status !== 'pending' && !extend && !resume) discardTrial(trialDir);
    const action = extend ? 'extended' : resume ? 'resumed' : 'trained';
    onStart?.(trial, action);
    // No waiting for the run's lock: this process holds the trial's. Named as the sweep in the lock (and its hint).
    const runLock = { timeoutMs: 0, command: 'mtl sweep' };
    let summary: RunSummary;
    try {
      if (action === 'trained') {
        summary = await trainExperiment(epochs === undefined ? trial.loaded : withEpochs(trial.loaded, epochs), {
          ...trainOptions,
          claimRunDir: () => claimTrialDir(sweepDir, plan.id, trial.hash),
        });
      } else {
        summary = extend
          ? await extendExperiment(trialDir, epochs ?? 0, { ...trainOptions, lock: runLock })
          : await resumeExperiment(trialDir, { ...trainOptions, lock: runLock });
        // A resumed trial killed between its continuation's two writes ends at its old epochs: on to the rung's.
        if (epochs !== undefined && summary.status === 'completed' && trialShortOf(trialDir, epochs)) {
          summary = await extendExperiment(trialDir, epochs, { ...trainOptions, lock: runLock });
        }
      }
    } catch (error) {
      if (!(error instanceof MtlError)) throw error;
      // The run says `failed` or `diverged` when training itself ended so; an error before it wrote that (its lock,
      // a folder it could not write) leaves the run as it was (`interrupted`, `crashed`, `completed` short of the
      // rung): still a failed trial here, never an interruption, which only a signal is (and which returns, not
      // throws). sweep.json keeps what the run says, so a re-run tries the trial again.
      const shown = trialStatus(trialDir);
      return { trial, action, status: shown === 'diverged' ? 'diverged' : 'failed', error: error.format() };
    }
    return { trial, action, status: summary.status };
  } finally {
    lock.release();
  }
}

/**
 * A trial whose meta.json cannot be read is left as it is, never trained over nor removed (its folder may be the only
 * copy of a trained run): skipped, with why and what to do, naming the file and the folder, as `mtl runs` says it.
 */
function damagedTrial(trial: PlannedTrial, trialDir: string, damage: UsageError): TrialOutcome {
  const { statusReason, hint } = damagedRun(trial.id, trialDir, damage);
  return { trial, action: 'skipped', status: 'damaged', error: `${statusReason}\n  - ${hint}` };
}

/** A completed trial with fewer than `epochs` epochs that did not stop early: a halving promotion extends it. */
export function trialShortOf(trialDir: string, epochs: number): boolean {
  const meta = readMeta(trialDir);
  return whyNotExtendable(meta, readResolvedConfig(trialDir).training.epochs, epochs) === undefined;
}

/** The trial's config trained to `epochs` (a halving rung's budget); its hash stays that of the full budget. */
function withEpochs(loaded: LoadedConfig, epochs: number): LoadedConfig {
  const { config } = loaded;
  return {
    ...loaded,
    config: { ...config, training: { ...config.training, epochs } },
    overrides: [...loaded.overrides.filter((o) => !o.startsWith('training.epochs=')), `training.epochs=${epochs}`],
  };
}

/**
 * Nothing to do for the request: its trial is final (isFinalStatus), and when the request names a halving rung's
 * budget, a completed trial has reached it (or stopped early).
 */
export function requestIsDone(
  trialDir: string,
  status: TrialStatus,
  epochs: number | undefined,
  retryFailed: boolean,
): boolean {
  return (
    isFinalStatus(status, retryFailed) &&
    !(status === 'completed' && epochs !== undefined && trialShortOf(trialDir, epochs))
  );
}

/**
 * Nothing to do for a completed or diverged trial, nor for a failed one unless failures are retried, nor for a damaged
 * one (left as it is until its meta.json is restored or its folder deleted).
 */
function isFinalStatus(status: TrialStatus, retryFailed: boolean): boolean {
  return (
    status === 'completed' || status === 'diverged' || status === 'damaged' || (status === 'failed' && !retryFailed)
  );
}
