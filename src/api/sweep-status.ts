import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { resolveRunsDir, slugify } from '../runs/store.js';
import { readSummaryIfAny } from '../runs/summary.js';
import {
  findSweep,
  isSweepDir,
  listSweepIds,
  readSweepMeta,
  trialState,
  trialStatus,
  writeSweepMeta,
  type SweepMeta,
  type SweepTrialRecord,
  type TrialStatus,
} from '../runs/sweeps.js';
import { runFile } from '../runs/layout.js';
import { readMeta } from '../runs/meta.js';
import type { HalvingRecord } from '../runs/sweep-rungs.js';
import { damagedRun } from './runs.js';
import { halvingRecordOf } from '../sweep/halving.js';
import { sweepId } from '../sweep/hash.js';
import { loadSweepSpec } from '../sweep/spec.js';
import type { SweepPlan } from './sweep.js';

/**
 * `mtl sweep status SWEEP.yaml|ID`: each trial's status read from its own run (pending: no run yet; crashed: a run
 * still `running` whose process is gone; damaged: a run whose meta.json cannot be read, with why and what to do, as
 * `mtl runs` lists a damaged run), the counts, and the best trial so far. The rule for "best", also in the
 * JSON (`bestRule`): among completed trials, the one whose val value of the base config's early-stopping metric is
 * highest (a metric where higher is better, metrics/direction.ts) or lowest; a trial without that metric (a task
 * subset lacking the task it names) is not ranked; ties go to the lower trial index.
 */
export const BEST_TRIAL_RULE =
  "completed trials ranked by the base config's early-stopping metric on val, in its direction; trials without " +
  'that metric are not ranked; ties go to the lower trial index';

/** search: halving: trials with fewer epochs than others are not compared with them. */
export const BEST_HALVING_TRIAL_RULE =
  'completed trials that reached the most epochs of any (the highest rung so far), ranked by halving.metric on val ' +
  'in its direction; trials without that metric are not ranked; ties go to the lower trial index';

export interface SweepTrialView extends SweepTrialRecord {
  /** The trial's number as the text output and the log lines say it (`trial 7/12`): `index` (0-based) + 1. */
  trial: number;
  dir: string;
  /** The monitored metric on val, for a completed trial that reports it. */
  value?: number;
  /** A damaged trial: what is wrong, naming the file (as DamagedRunListing's). */
  statusReason?: string;
  /** A damaged trial: what to do about it, naming its folder. */
  hint?: string;
}

export interface SweepStatus {
  id: string;
  dir: string;
  name: string;
  sweepFile: string;
  monitor: SweepMeta['monitor'];
  total: number;
  counts: Record<TrialStatus, number>;
  best?: SweepTrialView;
  bestRule: string;
  trials: SweepTrialView[];
  /** search: halving: the settings, the plan and the rungs as the last sweep process decided them. */
  halving?: HalvingRecord;
}

/**
 * Writes sweep.json with the plan and every trial's status (createdAt kept): from `known` where given, else as found
 * on disk now, which fills `known` (so a sweep process reads each trial's meta.json once, not once per trial).
 * `jobs`: how many trials the writing process trains at once (recorded when given).
 */
export function recordSweep(
  plan: SweepPlan,
  dir: string,
  known: Map<string, TrialStatus> = new Map(),
  { jobs, halving }: { jobs?: number; halving?: HalvingRecord } = {},
): void {
  const now = new Date().toISOString();
  const previous = isSweepDir(dir) ? readSweepMeta(dir) : undefined;
  const createdAt = previous?.createdAt ?? now;
  // The rungs decided so far: given by the rung loop, else kept from the file (a trial's outcome rewrites it).
  const rungs = plan.halving && (halving ?? previous?.halving ?? halvingRecordOf(plan.halving));
  writeSweepMeta(dir, {
    format: 1,
    kind: 'sweep',
    id: plan.id,
    name: plan.spec.name,
    sweepFile: plan.spec.file,
    baseFile: plan.spec.base,
    search: plan.spec.search,
    ...(rungs ? { halving: rungs } : {}),
    monitor: plan.monitor,
    createdAt,
    updatedAt: now,
    ...(jobs === undefined ? {} : { jobs }),
    trials: plan.trials.map((trial) => ({
      index: trial.index,
      hash: trial.hash,
      id: trial.id,
      overrides: trial.overrides,
      ...(trial.tasks === undefined ? {} : { tasks: [...trial.tasks] }),
      seed: trial.seed,
      status: statusOf(known, trial.hash, dir),
      ...(plan.halving ? epochsReached(path.join(dir, trial.hash), statusOf(known, trial.hash, dir)) : {}),
    })),
  });
}

/**
 * The epochs a trial's run has completed (halving: the budget it has reached); nothing for a pending trial, nor for a
 * damaged one (its meta.json, which says it, cannot be read).
 */
function epochsReached(trialDir: string, status: TrialStatus): { epochs?: number } {
  return status !== 'damaged' && existsSync(runFile(trialDir, 'meta'))
    ? { epochs: readMeta(trialDir).epochsCompleted }
    : {};
}

function statusOf(known: Map<string, TrialStatus>, hash: string, dir: string): TrialStatus {
  const status = known.get(hash) ?? trialStatus(path.join(dir, hash));
  known.set(hash, status);
  return status;
}

/** The sweep a file (its id from its name and text) or an id, prefix or path names. */
export function resolveSweep(reference: string, runsDir?: string): { id: string; dir: string } {
  const store = resolveRunsDir(runsDir);
  if (existsSync(reference) && statSync(reference).isFile()) {
    const spec = loadSweepSpec(reference);
    const id = sweepId(slugify(spec.name), spec.text);
    const dir = path.join(store, id);
    if (!isSweepDir(dir)) {
      throw new UsageError(`Sweep ${id} (from ${reference}) has not run in ${store} yet.`, [
        `start it: mtl sweep ${reference}${runsDir ? ` --runs-dir ${runsDir}` : ''}`,
      ]);
    }
    return { id, dir };
  }
  const found = findSweep(reference, store);
  if (found) return found;
  const ids = listSweepIds(store);
  throw new UsageError(
    `No sweep "${reference}" in ${store}${ids.length ? `; its sweeps: ${ids.join(', ')}` : ' (it has no sweeps)'}.`,
    ['name a sweep file, or a sweep id or unique prefix'],
  );
}

export function sweepStatus(reference: string, runsDir?: string): SweepStatus {
  const { id, dir } = resolveSweep(reference, runsDir);
  const meta = readSweepMeta(dir);
  const counts: Record<TrialStatus, number> = {
    completed: 0,
    diverged: 0,
    failed: 0,
    interrupted: 0,
    crashed: 0,
    damaged: 0,
    running: 0,
    pending: 0,
  };
  const trials = meta.trials.map((record): SweepTrialView => {
    const trialDir = path.join(dir, record.hash);
    const { status, damage } = trialState(trialDir);
    counts[status] += 1;
    const value = status === 'completed' ? readSummaryIfAny(trialDir)?.val[meta.monitor.metric] : undefined;
    // Halving: the epochs the run has reached now (sweep.json's copy is what the last sweep process saw).
    const epochs = meta.halving ? epochsReached(trialDir, status) : {};
    const damaged = damage && damagedRun(record.id, trialDir, damage);
    return {
      ...record,
      trial: record.index + 1,
      ...epochs,
      status,
      dir: trialDir,
      ...(value !== undefined && Number.isFinite(value) ? { value } : {}),
      ...(damaged ? { statusReason: damaged.statusReason, hint: damaged.hint } : {}),
    };
  });
  let best: SweepTrialView | undefined;
  const ranked = trials.filter((trial) => trial.value !== undefined);
  const most = Math.max(...ranked.map((trial) => trial.epochs ?? 0));
  for (const trial of ranked) {
    if (trial.value === undefined || (meta.halving && (trial.epochs ?? 0) < most)) continue;
    const better = meta.monitor.higherIsBetter
      ? trial.value > (best?.value ?? -Infinity)
      : trial.value < (best?.value ?? Infinity);
    if (better) best = trial;
  }
  return {
    id,
    dir,
    name: meta.name,
    sweepFile: meta.sweepFile,
    monitor: meta.monitor,
    total: trials.length,
    counts,
    ...(best ? { best } : {}),
    bestRule: meta.halving ? BEST_HALVING_TRIAL_RULE : BEST_TRIAL_RULE,
    trials,
    ...(meta.halving ? { halving: meta.halving } : {}),
  };
}
