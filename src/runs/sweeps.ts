import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { writeJsonAtomic } from './atomic.js';
import { asFileSystemError, errnoCode } from './fs-errors.js';
import { JsonFields } from './json.js';
import { checkpointDir, hasTrainingState, runFile } from './layout.js';
import { shownStatus } from './liveness.js';
import { acquireRunLock, RunBusyError, type RunLock } from './lock.js';
import { readMeta } from './meta.js';
import { storeFolders } from './store-folders.js';
import { readHalvingRecord, type HalvingRecord } from './sweep-rungs.js';
import { makeDirectories } from './make-dirs.js';

/**
 * A sweep (`mtl sweep SWEEP.yaml`, api/sweep.ts): one folder in the run store,
 *
 *   <runs>/<sweep-id>/sweep.json        the plan (trials, overrides, seed, task subset), the statuses last seen
 *   <runs>/<sweep-id>/<hash>/           a trial: a complete run whose id is `<sweep-id>/<hash>`
 *   <runs>/<sweep-id>/locks/<hash>/     the trial's lock (run.lock) while a sweep process works on it
 *   <runs>/<sweep-id>/rungs/<hash>.json  search: halving: the trial's value at each rung (runs/sweep-rungs.ts)
 *
 * A trial's status is always read from its own meta.json (sweep.json's copy is what the last sweep process saw), so
 * several processes sharing the store (shards) never need to agree on one file. A sweep folder has no meta.json, so
 * the run listing never takes it for a run.
 */
export const SWEEP_FILE = 'sweep.json';

/**
 * pending: no run yet; crashed: `running` in meta.json with its process gone (runs/liveness.ts); damaged: a run whose
 * meta.json cannot be read ({@link trialState}), which no sweep process trains over: it may be the only copy of a
 * trained trial.
 */
export type TrialStatus =
  | 'pending'
  | 'running'
  | 'completed'
  | 'diverged'
  | 'failed'
  | 'interrupted'
  | 'crashed'
  | 'damaged';
export const TRIAL_STATUSES: readonly TrialStatus[] = [
  'completed',
  'diverged',
  'failed',
  'interrupted',
  'crashed',
  'damaged',
  'running',
  'pending',
];

export interface SweepTrialRecord {
  index: number;
  /** The trial's hash, which is its folder in the sweep. */
  hash: string;
  /** Its run id, `<sweep-id>/<hash>`. */
  id: string;
  /** The swept config paths' values, as `path=value` overrides (as `--set` takes them). */
  overrides: string[];
  /** The task subset; absent for the base's tasks. */
  tasks?: string[];
  seed: number;
  status: TrialStatus;
  /** Halving sweeps: the epochs the trial's run has reached (its budget so far). */
  epochs?: number;
}

/** sweep.json. */
export interface SweepMeta {
  format: 1;
  kind: 'sweep';
  id: string;
  name: string;
  sweepFile: string;
  baseFile: string;
  search: 'grid' | 'random' | 'halving';
  /** search: halving: settings, rule, plan and rungs (absent in other sweeps and in files from before halving). */
  halving?: HalvingRecord;
  /** What "best trial" ranks by: the base config's early-stopping metric, on val, and its direction. */
  monitor: { metric: string; higherIsBetter: boolean };
  createdAt: string;
  updatedAt: string;
  /** How many trials the last sweep process that wrote this file trained at once (`--jobs`); absent before. */
  jobs?: number;
  trials: SweepTrialRecord[];
}

export function sweepFile(sweepDir: string): string {
  return path.join(sweepDir, SWEEP_FILE);
}

export function isSweepDir(dir: string): boolean {
  return existsSync(sweepFile(dir));
}

export function writeSweepMeta(sweepDir: string, meta: SweepMeta): void {
  try {
    makeDirectories(sweepDir);
  } catch (error) {
    throw asFileSystemError(error, 'create the sweep folder', sweepDir);
  }
  try {
    writeJsonAtomic(sweepFile(sweepDir), meta);
  } catch (error) {
    // A sweep folder another user made (or a read-only store): the user's to fix, not a bug (exit 2, or 1 on a full
    // disk), as when the folder cannot be made.
    throw asFileSystemError(error, `write ${SWEEP_FILE} in the sweep folder`, sweepDir);
  }
}

/**
 * What to do about a damaged sweep.json: the file is only the plan and the statuses last seen (each trial's run keeps
 * its own), so running the sweep file again writes it anew; deleting a run would lose a trained trial.
 */
const DAMAGED_SWEEP =
  'the file is not as mtl wrote it; restore it from a backup, or delete it and run mtl sweep on the sweep file ' +
  'again (it writes sweep.json anew; trials already trained are kept and skipped)';

/**
 * `read()`, with a damaged file's hint replaced by the one that fits sweep.json (a file that cannot be read at all
 * comes without a hint, and keeps its message).
 */
function sweepFileField<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof UsageError) || error.details.length === 0) throw error;
    throw new UsageError(error.message, [DAMAGED_SWEEP]);
  }
}

/** Reads and checks sweep.json; a damaged file is a UsageError naming the field. */
export function readSweepMeta(sweepDir: string): SweepMeta {
  const fields = sweepFileField(() => JsonFields.read(sweepFile(sweepDir)));
  const format = sweepFileField(() => fields.number('format'));
  if (format !== 1) {
    throw new UsageError(`${sweepFile(sweepDir)} has format ${format}; this mtl reads format 1.`, [
      'use the mtl version that ran the sweep',
    ]);
  }
  return sweepFileField(() => sweepMetaFields(fields));
}

function sweepMetaFields(fields: JsonFields): SweepMeta {
  fields.oneOf('kind', ['sweep']);
  const monitor = fields.object('monitor');
  const halving = fields.optionalObject('halving');
  return {
    format: 1,
    kind: 'sweep',
    id: fields.string('id'),
    name: fields.string('name'),
    sweepFile: fields.string('sweepFile'),
    baseFile: fields.string('baseFile'),
    search: fields.oneOf('search', ['grid', 'random', 'halving']),
    ...(halving ? { halving: readHalvingRecord(halving) } : {}),
    monitor: { metric: monitor.string('metric'), higherIsBetter: monitor.boolean('higherIsBetter') },
    createdAt: fields.string('createdAt'),
    updatedAt: fields.string('updatedAt'),
    ...(fields.has('jobs') ? { jobs: fields.number('jobs') } : {}),
    trials: fields.objects('trials').map((trial) => {
      const tasks = trial.has('tasks') ? trial.strings('tasks') : undefined;
      return {
        index: trial.number('index'),
        hash: trial.string('hash'),
        id: trial.string('id'),
        overrides: trial.strings('overrides'),
        ...(tasks === undefined ? {} : { tasks }),
        seed: trial.number('seed'),
        status: trial.oneOf('status', TRIAL_STATUSES),
        ...(trial.has('epochs') ? { epochs: trial.number('epochs') } : {}),
      };
    }),
  };
}

/** All sweep ids in a store, sorted. */
export function listSweepIds(runsDir: string): string[] {
  return storeFolders(runsDir, isSweepDir);
}

/** Finds a sweep by path, full id or unique id prefix; undefined when nothing matches. */
export function findSweep(reference: string, runsDir: string): { id: string; dir: string } | undefined {
  if (existsSync(reference) && statSync(reference).isDirectory() && isSweepDir(reference)) {
    const dir = path.resolve(reference);
    return { id: path.basename(dir), dir };
  }
  const ids = listSweepIds(runsDir);
  if (ids.includes(reference)) return { id: reference, dir: path.join(runsDir, reference) };
  const matches = ids.filter((id) => id.startsWith(reference));
  if (matches.length > 1) {
    throw new UsageError(`Sweep "${reference}" is ambiguous in ${runsDir}; it matches:`, [
      ...matches.slice(0, 10),
      'give more characters of the id',
    ]);
  }
  const id = matches[0];
  return id === undefined ? undefined : { id, dir: path.join(runsDir, id) };
}

/**
 * A trial named `<sweep id or unique prefix>/<hash or unique prefix>`, with the rest of the reference (`baselines/y1`
 * of `…/<hash>/baselines/y1`) as `inside`, a path in the trial that the caller resolves as it does inside any run, so
 * that a run missing there is told among the trial's own runs. Undefined when the first segment names no sweep (the
 * caller tries its other rules), a UsageError when the sweep has no such trial (the message lists its trials).
 */
export function resolveSweepTrial(
  reference: string,
  runsDir: string,
): { id: string; dir: string; inside: string[] } | undefined {
  const [head, trial, ...inside] = reference.split('/').filter((segment) => segment !== '');
  if (head === undefined || trial === undefined) return undefined;
  const sweep = findSweep(head, runsDir);
  if (!sweep) return undefined;
  const hashes = trialFolders(sweep.dir);
  const matches = hashes.filter((hash) => hash.startsWith(trial));
  const hash = matches.length === 1 ? matches[0] : hashes.find((h) => h === trial);
  if (hash === undefined) {
    const known = hashes.map((h) => `${sweep.id}/${h}`);
    throw new UsageError(
      `Sweep ${sweep.id} has no run "${[trial, ...inside].join('/')}"` +
        (matches.length > 1 ? ` (the prefix "${trial}" matches ${matches.length} trials).` : '.'),
      known.length > 0 ? [`its trials: ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', …' : ''}`] : [],
    );
  }
  return { id: `${sweep.id}/${hash}`, dir: path.join(sweep.dir, hash), inside };
}

/** The trial folders of a sweep that hold a run, sorted. */
function trialFolders(sweepDir: string): string[] {
  return readdirSync(sweepDir)
    .filter((entry) => existsSync(runFile(path.join(sweepDir, entry), 'meta')))
    .sort();
}

/** `<sweep id>/<hash>[/…]` for a run folder given by path that lies inside a sweep; undefined otherwise. */
export function sweepTrialId(runDir: string): string | undefined {
  const dir = path.resolve(runDir);
  for (let parent = path.dirname(dir); parent !== path.dirname(parent); parent = path.dirname(parent)) {
    if (isSweepDir(parent)) {
      return `${path.basename(parent)}/${path.relative(parent, dir).split(path.sep).join('/')}`;
    }
  }
  return undefined;
}

/** The trial's status now, from its meta.json (none: pending; one that cannot be read: damaged). */
export function trialStatus(trialDir: string): TrialStatus {
  return trialState(trialDir).status;
}

/**
 * {@link trialStatus}, with why a damaged trial's meta.json cannot be read (the UsageError naming the file and what
 * to do), so one such trial is a row of the sweep rather than the end of every command that reads the sweep.
 */
export function trialState(trialDir: string): { status: TrialStatus; damage?: UsageError } {
  if (!existsSync(runFile(trialDir, 'meta'))) return { status: 'pending' };
  try {
    return { status: shownStatus(readMeta(trialDir)) };
  } catch (error) {
    // Only what reading the file says (a UsageError naming it); anything else is a bug to report.
    if (!(error instanceof UsageError)) throw error;
    return { status: 'damaged', damage: error };
  }
}

/** Whether the trial's `last` checkpoint can be resumed from (`mtl train --resume`). */
export function trialCanResume(trialDir: string): boolean {
  return hasTrainingState(checkpointDir(trialDir, 'last'));
}

/**
 * Takes the trial's lock at once, or returns undefined when another live process holds it (that process is training
 * or resuming the trial). A lock left by a dead process is taken over. The lock lives beside the trial, not in it:
 * a resume takes the run's own lock inside.
 */
export async function tryTrialLock(sweepDir: string, hash: string): Promise<RunLock | undefined> {
  const dir = path.join(sweepDir, 'locks', hash);
  try {
    makeDirectories(dir);
  } catch (error) {
    throw asFileSystemError(error, 'create a lock folder in', sweepDir);
  }
  try {
    return await acquireRunLock(dir, { timeoutMs: 0, command: 'mtl sweep' });
  } catch (error) {
    if (error instanceof RunBusyError) return undefined;
    throw error;
  }
}

/**
 * Claims a trial's folder exclusively; a folder left without meta.json (a process killed between claiming it and
 * starting the run) is removed first, which is safe under the trial's lock.
 */
export function claimTrialDir(sweepDir: string, sweepId: string, hash: string): { id: string; dir: string } {
  const dir = path.join(sweepDir, hash);
  if (existsSync(dir) && !existsSync(runFile(dir, 'meta'))) discardTrial(dir);
  try {
    mkdirSync(dir);
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') throw new UsageError(`${dir} exists already: trial ${hash} was started before.`);
    throw asFileSystemError(error, 'create a trial folder in', sweepDir);
  }
  return { id: `${sweepId}/${hash}`, dir };
}

/** Removes a trial's folder (one that cannot be resumed and is trained again from scratch, under its lock). */
export function discardTrial(trialDir: string): void {
  try {
    rmSync(trialDir, { recursive: true, force: true });
  } catch (error) {
    throw asFileSystemError(error, 'remove the unresumable trial folder', trialDir);
  }
}
