import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { storeFolders } from './store-folders.js';
import { asFileSystemError, errnoCode } from './fs-errors.js';
import { findGroup, groupMemberId, listGroupIds, readGroupMeta, resolveGroupMember } from './groups.js';
import { runFile, SUB_RUN_FOLDERS } from './layout.js';
import { findSweep, listSweepIds, resolveSweepTrial, sweepTrialId } from './sweeps.js';
import { readMeta, type StoredRunMeta } from './meta.js';
import { makeDirectories } from './make-dirs.js';

/** The run store: `--runs-dir`, else `MTL_RUNS_DIR`, else `runs/` under the current directory. */
export function resolveRunsDir(explicit?: string): string {
  return path.resolve(explicit ?? process.env['MTL_RUNS_DIR'] ?? 'runs');
}

export function slugify(name: string): string {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return slug || 'run';
}

function timestamp(date: Date): string {
  const iso = date.toISOString(); // 2026-11-23T16:34:27.123Z
  return `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}`;
}

/**
 * Claims a new run directory. The id sorts by time (UTC) and cannot collide between parallel runs: a random suffix
 * from crypto (never from the training seed, which parallel sweeps share) plus an exclusive mkdir, retried on a clash.
 */
export function createRunDir(runsDir: string, name: string, now: Date = new Date()): { id: string; dir: string } {
  try {
    makeDirectories(runsDir);
  } catch (error) {
    throw asFileSystemError(error, 'create the runs folder', runsDir);
  }
  for (let attempt = 0; attempt < 20; attempt++) {
    const id = `${timestamp(now)}-${slugify(name)}-${randomBytes(3).toString('hex')}`;
    const dir = path.join(runsDir, id);
    try {
      mkdirSync(dir); // not recursive: fails with EEXIST if another process took this id
      return { id, dir };
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw asFileSystemError(error, 'create a run folder in', runsDir);
    }
  }
  throw new Error(`Could not claim a unique run directory in ${runsDir}`);
}

/**
 * Claims the folder of a run trained inside another run (a baseline or pair run, api/baselines.ts): `<run>/<path>`,
 * created exclusively; its id is `<run id>/<path>`, which {@link resolveRun} finds again.
 */
export function createSubRunDir(parent: { id: string; dir: string }, relative: string): { id: string; dir: string } {
  const dir = path.join(parent.dir, ...relative.split('/'));
  try {
    makeDirectories(path.dirname(dir));
    mkdirSync(dir);
  } catch (error) {
    throw asFileSystemError(error, 'create a run folder in', path.dirname(dir));
  }
  return { id: `${parent.id}/${relative}`, dir };
}

function isRunDir(dir: string): boolean {
  return existsSync(runFile(dir, 'meta'));
}

/** All run ids in a store, oldest first. */
export function listRunIds(runsDir: string): string[] {
  return storeFolders(runsDir, isRunDir);
}

/**
 * Finds a run by path, full id, or unique id prefix; a run trained inside another (a baseline) by its path or as
 * `<run id or prefix>/baselines/<task>` (the run's id or prefix, then the path inside it).
 */
export function resolveRun(reference: string, runsDir: string): { id: string; dir: string } {
  if (existsSync(reference) && statSync(reference).isDirectory() && isRunDir(reference)) {
    const dir = path.resolve(reference);
    return { id: groupMemberId(dir) ?? sweepTrialId(dir) ?? subRunId(dir) ?? path.basename(dir), dir };
  }
  // `<group>/seed-1`: a member of a seed group (runs/groups.ts), `<sweep>/<hash>`: a trial of a sweep (runs/sweeps.ts);
  // `<group>/seed-1/pairs/a+b` is looked up in the member as in any run, so a run missing there is told among the
  // member's runs (the same inside a trial).
  if (reference.includes('/')) {
    const found = resolveGroupMember(reference, runsDir) ?? resolveSweepTrial(reference, runsDir);
    if (found) {
      const { id, dir, inside } = found;
      return inside.length > 0 ? runInside({ id, dir }, inside.join('/'), reference) : { id, dir };
    }
  }
  const ids = listRunIds(runsDir);
  const slash = reference.indexOf('/');
  // `ID/baselines/a`: only when the part before the slash names a run; any other slash is a path that is not a run.
  if (slash > 0 && ids.some((id) => id.startsWith(reference.slice(0, slash)))) {
    return resolveSubRun(reference.slice(0, slash), reference.slice(slash + 1), runsDir);
  }
  if (ids.includes(reference)) return { id: reference, dir: path.join(runsDir, reference) };
  const matches = ids.filter((id) => id.startsWith(reference));
  if (matches.length === 1) {
    const id = matches[0]!;
    return { id, dir: path.join(runsDir, id) };
  }
  if (matches.length > 1) {
    throw new UsageError(`Run "${reference}" is ambiguous in ${runsDir}; it matches:`, [
      ...matches.slice(0, 10),
      ...(matches.length > 10 ? [`… and ${matches.length - 10} more`] : []),
      'give more characters of the id',
    ]);
  }
  const group = findGroup(reference, runsDir);
  if (group) throw groupIsNoRun(group);
  const sweep = findSweep(reference, runsDir);
  if (sweep) {
    // Not "this command takes one run": `mtl compare` takes several, and compares a sweep with --sweep.
    throw new UsageError(`${sweep.id} is a sweep, not a run.`, [
      `name one of its trials as ${sweep.id}/<hash>; \`mtl sweep status ${sweep.id}\` lists them`,
      `\`mtl compare --sweep ${sweep.id}\` compares its configurations`,
    ]);
  }
  throw new UsageError(
    `No run "${reference}" in ${runsDir}${ids.length ? '' : storeWithoutRuns(runsDir)}. Name a run by id, unique id ` +
      `prefix, or path; \`mtl runs\` lists them.`,
  );
}

/** Why a store has no runs of its own: it is empty, or it holds only seed groups and sweeps (runs inside them). */
function storeWithoutRuns(runsDir: string): string {
  const groups = listGroupIds(runsDir).length;
  const sweeps = listSweepIds(runsDir).length;
  if (groups + sweeps === 0) return ' (the store is empty)';
  const count = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
  const holds = `${count(groups, 'seed group')} and ${count(sweeps, 'sweep')}`;
  return ` (it holds ${holds}, whose runs are named GROUP/seed-N and SWEEP/HASH)`;
}

/** A group where a command takes one run: name its members. */
function groupIsNoRun(group: { id: string; dir: string }): UsageError {
  const members = readGroupMeta(group.dir).members.map((m) => `${group.id}/${m.folder}`);
  return new UsageError(`${group.id} is a seed group, not a run: this command takes one run.`, [
    members.length > 0 ? `name one of its members: ${members.join(', ')}` : 'it has no members yet',
    '`mtl runs GROUP` lists them; `mtl compare` and `mtl report --group` take groups',
  ]);
}

/** `<run id>/<folder>/<name>` for a sub-run folder (a run inside a run's baselines/ or pairs/), else undefined. */
function subRunId(dir: string): string | undefined {
  const folder = path.dirname(dir);
  const parent = path.dirname(folder);
  const kind = SUB_RUN_FOLDERS.find((name) => name === path.basename(folder));
  if (kind === undefined || !isRunDir(parent)) return undefined;
  return `${subRunId(parent) ?? path.basename(parent)}/${kind}/${path.basename(dir)}`;
}

/** `<run>/<inside>`: the run by id or prefix, then a run folder inside it. */
function resolveSubRun(runReference: string, inside: string, runsDir: string): { id: string; dir: string } {
  return runInside(resolveRun(runReference, runsDir), inside, `${runReference}/${inside}`);
}

/**
 * A run folder at `inside` in `run`; where there is none, the message lists the runs that are inside it. `reference`
 * is the whole reference as the user wrote it.
 */
function runInside(run: { id: string; dir: string }, inside: string, reference: string): { id: string; dir: string } {
  const segments = inside.split('/').filter((segment) => segment !== '');
  if (segments.some((segment) => segment === '..' || segment === '.') || segments.length === 0) {
    throw new UsageError(`Run reference "${reference}": expected <run>/baselines/<task> or a path.`);
  }
  const dir = path.join(run.dir, ...segments);
  if (!isRunDir(dir)) {
    const found = subRunsOf(run.dir);
    throw new UsageError(
      `Run ${run.id} has no run "${segments.join('/')}" (no ${runFile(dir, 'meta')}).`,
      found.length > 0
        ? [`the runs inside it: ${found.map((sub) => `${run.id}/${sub}`).join(', ')}`]
        : ['it was trained without baselines; train them with: mtl train CONFIG --baselines single-task (or towers)'],
    );
  }
  return { id: `${run.id}/${segments.join('/')}`, dir };
}

/** The runs inside a run (`baselines/a`, `pairs/a+b`, …), in folder order. */
export function subRunsOf(runDir: string): string[] {
  const found: string[] = [];
  for (const folder of SUB_RUN_FOLDERS) {
    const dir = path.join(runDir, folder);
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir).sort()) {
      if (isRunDir(path.join(dir, entry))) found.push(`${folder}/${entry}`);
    }
  }
  return found;
}

/** A run found by {@link resolveRun}, with its meta.json read and checked (a newer format is refused). */
export function openRun(reference: string, runsDir: string): { id: string; dir: string; meta: StoredRunMeta } {
  const { id, dir } = resolveRun(reference, runsDir);
  return { id, dir, meta: readMeta(dir) };
}
