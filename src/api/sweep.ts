import path from 'node:path';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { UsageError } from '../errors.js';
import { higherIsBetter } from '../metrics/direction.js';
import { fingerprintData } from '../runs/data-source.js';
import { resolveRunsDir, slugify } from '../runs/store.js';
import { trialStatus, type TrialStatus } from '../runs/sweeps.js';
import { expandTrials } from '../sweep/expand.js';
import { sweepId, trialHash } from '../sweep/hash.js';
import { loadSweepSpec, type SweepSpec } from '../sweep/spec.js';
import type { HalvingPlan } from '../sweep/halving.js';
import { runAshaSweep } from './sweep-asha.js';
import { halvingMaxEpochs, planHalving, runHalvingSweep } from './sweep-halving.js';
import { configFeatures } from './row-pinning.js';
import { trialConfig } from './sweep-configs.js';
import { executeInWorkers } from './sweep-jobs.js';
import { recordSweep } from './sweep-status.js';
import type { TrainOptions } from './train.js';
import { requestIsDone, runTrial } from './sweep-trial.js';

/**
 * `mtl sweep SWEEP.yaml` (issue #16, first part): every trial of a sweep file planned and validated before any
 * trains, then trained one after the other in this process, each an ordinary run `<sweep-id>/<hash>` in the sweep's
 * folder (runs/sweeps.ts). Re-running the same sweep file:
 *
 * - a completed or diverged trial is skipped (a diverged one is a result: training it again gives the same);
 * - an interrupted or crashed trial is resumed from its `last` checkpoint (api/resume.ts), or trained again from
 *   scratch when it stopped before its first checkpoint;
 * - a failed trial is skipped, or with `retryFailed` resumed (or trained again) like a crashed one;
 * - a damaged trial (its meta.json cannot be read) is left as it is, never trained over: `damaged`, like a failed one
 *   for the exit code and `failFast`;
 * - a trial another live process holds (its lock, `<sweep>/locks/<hash>/run.lock`) or trains is left to it.
 *
 * `shard` {index i, count n} takes only the trials whose index mod n is i − 1, so n processes (machines sharing the
 * store) cover the sweep, each trial once. `jobs` N > 1 trains up to N trials at once in worker processes
 * (api/sweep-jobs.ts); each trial is the same run whatever N is.
 */
export interface PlannedTrial {
  index: number;
  hash: string;
  /** `<sweep-id>/<hash>`. */
  id: string;
  /** The configuration's overrides, `path=value`, as `--set` takes them. */
  overrides: string[];
  tasks: readonly string[] | undefined;
  seed: number;
  loaded: LoadedConfig;
}

export interface SweepPlan {
  spec: SweepSpec;
  id: string;
  base: LoadedConfig;
  /** The base config's early-stopping metric (val) and its direction: what "best trial" ranks by. */
  monitor: { metric: string; higherIsBetter: boolean };
  trials: PlannedTrial[];
  /** Trials whose resolved config equalled an earlier one's (the same hash): dropped, each listed here. */
  duplicates: { overrides: string[]; tasks: readonly string[] | undefined; seed: number; sameAs: string }[];
  /** search: halving: the configurations and the rungs (api/sweep-halving.ts runs them). */
  halving?: HalvingPlan;
}

/** Reads the sweep file and its base, expands and validates every trial. A problem is a UsageError, nothing written. */
export async function planSweep(file: string): Promise<SweepPlan> {
  const spec = loadSweepSpec(file);
  let base: LoadedConfig;
  try {
    base = loadConfig(spec.base);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    throw new UsageError(
      `${spec.where(['base'])}: base: the base config is not valid: ${error.message}`,
      error.details,
    );
  }
  const seeds = spec.seeds ?? base.config.seeds ?? [base.config.seed];
  const expanded = expandTrials(
    spec,
    base.config.tasks.map((task) => task.name),
    seeds,
  );
  const configDir = path.dirname(spec.base);
  // The inputs a task subset keeps: the base config's, read from its data once (only when there are subsets).
  const features = spec.tasks === 'all' ? undefined : await configFeatures(base.config, configDir);
  const id = sweepId(slugify(spec.name), spec.text);
  // Halving: every trial's config has the final budget R (its hash, its one folder across rungs).
  const halvingEpochs = spec.halving && halvingMaxEpochs(spec, base);
  const extra = halvingEpochs === undefined ? [] : [`training.epochs=${halvingEpochs}`];
  const trials: PlannedTrial[] = [];
  const duplicates: SweepPlan['duplicates'] = [];
  for (const trial of expanded) {
    const built = trialConfig(spec, base, trial, { features, count: expanded.length, extra });
    const data = fingerprintData(built.loaded.config, configDir);
    // What a run writes besides its own files (`logging:`) does not change what it computes: no part of its identity.
    const { logging: _logging, ...identity } = built.loaded.config;
    const hash = trialHash(identity, data?.sha256);
    const same = trials.find((earlier) => earlier.hash === hash);
    if (same) {
      duplicates.push({ overrides: built.pointOverrides, tasks: trial.tasks, seed: trial.seed, sameAs: same.id });
      continue;
    }
    trials.push({
      index: trials.length,
      hash,
      id: `${id}/${hash}`,
      overrides: built.pointOverrides,
      tasks: trial.tasks,
      seed: trial.seed,
      loaded: built.loaded,
    });
  }
  // As the trainer monitors it: `loss` is the mean of the tasks' losses, `mean/loss` in the metrics.
  const stopping = base.config.training.early_stopping.metric;
  const metric = stopping === 'loss' ? 'mean/loss' : stopping;
  const halving = spec.halving && planHalving(spec, base, trials);
  // A halving sweep's best trial is ranked by its own metric.
  const monitor = halving
    ? { metric: halving.metric, higherIsBetter: halving.higherIsBetter }
    : { metric, higherIsBetter: higherIsBetter(metric) };
  return { spec, id, base, monitor, trials, duplicates, ...(halving ? { halving } : {}) };
}

/** `--shard i/n`: 1 ≤ i ≤ n. */
export interface Shard {
  index: number;
  count: number;
}

/** The trials of one shard: index mod n = i − 1 (all of them without a shard). */
export function shardTrials(trials: readonly PlannedTrial[], shard: Shard | undefined): PlannedTrial[] {
  return shard === undefined ? [...trials] : trials.filter((trial) => trial.index % shard.count === shard.index - 1);
}

/** `extended`: a completed trial trained on to a successive-halving rung's epochs (api/extend.ts). */
export type TrialAction = 'trained' | 'resumed' | 'extended' | 'skipped' | 'left to another process';
export type TrialStartAction = 'trained' | 'resumed' | 'extended';

export interface TrialOutcome {
  trial: PlannedTrial;
  action: TrialAction;
  /** After this sweep process: the trial's status on disk (or `failed` for one that could not start). */
  status: TrialStatus;
  /** Why the trial failed, when it failed in this process (or its worker process died). */
  error?: string;
  /** With jobs > 1: the worker process (1, 2, …) that took the trial. */
  worker?: number;
}

export interface SweepOptions extends Omit<TrainOptions, 'claimRunDir' | 'subRun' | 'command'> {
  shard?: Shard;
  /** Stop at the first trial that fails, diverges or is damaged (default: go on with the others). */
  failFast?: boolean;
  /** Resume or train again the trials that failed before. */
  retryFailed?: boolean;
  /**
   * How many trials train at once: 1 (the default) in this process, one after the other; N > 1 in N worker processes
   * (api/sweep-jobs.ts), never more than there are trials left to train.
   */
  jobs?: number;
  /** Called before a trial trains, resumes or is extended (with the worker that took it, when jobs > 1). */
  onTrialStart?(trial: PlannedTrial, action: TrialStartAction, worker?: number): void;
  onTrialEnd?(outcome: TrialOutcome): void;
  /** With jobs > 1: each line a worker process writes (its epoch lines, its messages), for the caller to show. */
  onWorkerOutput?(worker: number, line: string): void;
  command?: string[];
}

export interface SweepResult {
  id: string;
  dir: string;
  outcomes: TrialOutcome[];
  /** A signal stopped the sweep (the trial in training ended `interrupted`, with its checkpoint). */
  interrupted: boolean;
  /** `failFast` stopped it after a failed or diverged trial. */
  stoppedEarly: boolean;
  /** How many trials trained at once: 1 in this process, N > 1 in worker processes. */
  jobs?: number;
}

/** Trains (or resumes) the plan's trials of this shard; sweep.json follows each. */
export async function runSweep(plan: SweepPlan, options: SweepOptions = {}): Promise<SweepResult> {
  if (plan.halving) {
    const run = plan.halving.mode === 'asha' ? runAshaSweep : runHalvingSweep;
    return run(plan, plan.halving, options);
  }
  const { shard, ...rest } = options;
  const runsDir = resolveRunsDir(options.runsDir);
  const dir = path.join(runsDir, plan.id);
  const statuses = new Map<string, TrialStatus>();
  recordSweep(plan, dir, statuses);
  const requests = shardTrials(plan.trials, shard).map((trial): TrialRequest => ({ trial }));
  const executed = await executeTrials(plan, dir, requests, statuses, { ...rest, runsDir });
  return { id: plan.id, dir, ...executed };
}

/** One trial to bring up to date: trained, resumed or skipped as its status on disk says. */
export interface TrialRequest {
  trial: PlannedTrial;
  /**
   * Successive halving: the epochs (budget) the trial is to reach in this rung; undefined: the trial's own config.
   */
  epochs?: number;
}

export type ExecuteOptions = Omit<SweepOptions, 'shard'>;

export type ExecutedTrials = Omit<SweepResult, 'id' | 'dir'>;

/**
 * The one place trials run: each request under its trial's lock (runTrial); `statuses` and sweep.json follow each
 * outcome. With `jobs` ≤ 1, or only one trial left to train, in order in this process; else in worker processes
 * (executeInWorkers), as many as `jobs` and trials left to train allow. Stops at a signal (the trial in training
 * ends `interrupted`) and, with failFast, after a failed or diverged trial.
 */
export async function executeTrials(
  plan: SweepPlan,
  dir: string,
  requests: readonly TrialRequest[],
  statuses: Map<string, TrialStatus>,
  options: ExecuteOptions,
): Promise<ExecutedTrials> {
  const jobs = Math.min(options.jobs ?? 1, trialsToTrain(dir, requests, options.retryFailed === true));
  if (jobs > 1) return executeInWorkers(plan, dir, requests, statuses, { ...options, jobs });
  const executed = await executeInProcess(plan, dir, requests, statuses, options);
  return { ...executed, jobs: 1 };
}

/** The requests whose trial is neither final nor `running` on disk now: what worker processes could be busy with. */
function trialsToTrain(dir: string, requests: readonly TrialRequest[], retryFailed: boolean): number {
  return requests.filter((request) => {
    const { trial } = request;
    const status = trialStatus(path.join(dir, trial.hash));
    return !requestIsDone(path.join(dir, trial.hash), status, request.epochs, retryFailed) && status !== 'running';
  }).length;
}

/** The requests in order, in this process. */
async function executeInProcess(
  plan: SweepPlan,
  dir: string,
  requests: readonly TrialRequest[],
  statuses: Map<string, TrialStatus>,
  options: ExecuteOptions,
): Promise<ExecutedTrials> {
  const {
    failFast,
    retryFailed,
    onTrialStart,
    onTrialEnd,
    jobs: _jobs,
    onWorkerOutput: _output,
    ...trainOptions
  } = options;
  const outcomes: TrialOutcome[] = [];
  let interrupted = false;
  let stoppedEarly = false;
  for (const request of requests) {
    const { trial } = request;
    if (options.signal?.aborted) {
      interrupted = true;
      break;
    }
    const outcome = await runTrial(plan, dir, request, retryFailed === true, {
      ...trainOptions,
      ...(onTrialStart ? { onStart: (started, action) => onTrialStart(started, action) } : {}),
    });
    outcomes.push(outcome);
    statuses.set(trial.hash, outcome.status === 'failed' ? trialStatus(path.join(dir, trial.hash)) : outcome.status);
    recordSweep(plan, dir, statuses, { jobs: 1 });
    onTrialEnd?.(outcome);
    if (endedInterrupted(outcome)) {
      interrupted = true;
      break;
    }
    if (failFast && stopsFailFast(outcome)) {
      stoppedEarly = true;
      break;
    }
  }
  return { outcomes, interrupted, stoppedEarly };
}

/** What `failFast` stops at: a failed or diverged trial, or a damaged one (skipped: the sweep cannot work on it). */
export function stopsFailFast(outcome: TrialOutcome): boolean {
  return outcome.status === 'failed' || outcome.status === 'diverged' || outcome.status === 'damaged';
}

/**
 * The trial this process worked on ended `interrupted`: a signal stopped it (training returns that status only then).
 * A trial skipped or left to another process may read `interrupted` on disk without any signal here.
 */
export function endedInterrupted(outcome: TrialOutcome): boolean {
  return (
    outcome.status === 'interrupted' && outcome.action !== 'skipped' && outcome.action !== 'left to another process'
  );
}
