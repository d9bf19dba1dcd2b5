import { randomBytes } from 'node:crypto';
import { rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExitCode, MtlError, UsageError } from '../errors.js';
import { JsonFields } from './json.js';
import { lockFile } from './layout.js';

/**
 * One writer at a time per run. A command that changes an existing run (`mtl eval` adds a file under evals/, a resume
 * rewrites checkpoints, logs and meta.json) holds `run.lock` while it works; readers (`mtl runs`, `compare`) never
 * take it, they rely on atomic writes. The lock is a file created exclusively (`wx`), holding who took it, so a
 * second writer can say whom it waits for, and a lock whose holder died (same host, pid gone) is taken over.
 */

/** What `run.lock` holds. */
export interface RunLockHolder {
  pid: number;
  host: string;
  /** What the holder is doing (`mtl eval`, `mtl train --resume`), shown to whoever waits. */
  command: string;
  /** When it took the lock (ISO time). */
  since: string;
  /** Unique per acquisition: a release or takeover removes only the lock it saw. */
  token: string;
}

export interface RunLockOptions {
  /** What this process is doing, stored in the lock for others' messages (default `mtl`). */
  command?: string;
  /** How long to wait for a live holder; default `MTL_LOCK_TIMEOUT` seconds, else {@link DEFAULT_LOCK_TIMEOUT_S}. */
  timeoutMs?: number;
  /** How often to look again while waiting. */
  pollMs?: number;
  /** Called once, when the lock is found held by a live process and waiting starts. */
  onWait?(holder: RunLockHolder | undefined, timeoutMs: number): void;
  /** Called when a lock left by a process that is gone is taken over. */
  onStaleLock?(holder: RunLockHolder | undefined): void;
}

/** Seconds a writer waits for another one to finish before giving up (`MTL_LOCK_TIMEOUT` overrides it). */
export const DEFAULT_LOCK_TIMEOUT_S = 60;
/** A lock file that cannot be read is being written (exclusive create, then write) unless it is older than this. */
const UNREADABLE_GRACE_MS = 5000;
/** How long a waiter looks for an unreadable lock's holder to be written before it says it waits without a name. */
const UNREADABLE_ANNOUNCE_MS = 1000;
/** A takeover guard older than this was left by a process that died in the middle of a takeover. */
const TAKEOVER_GRACE_MS = 10_000;

/** A writer waited {@link RunLockOptions.timeoutMs} for another one: exit code 1, nothing in the run changed. */
export class RunBusyError extends MtlError {
  constructor(message: string, details: string[]) {
    super(message, { exitCode: ExitCode.runFailed, details });
    this.name = 'RunBusyError';
  }
}

/** A lock this process holds. */
export interface RunLock {
  readonly file: string;
  readonly holder: RunLockHolder;
  /** Removes the lock if it is still this one; idempotent. */
  release(): void;
}

/** Runs `work` while holding the run's lock, waiting for another writer first; the lock is released however it ends. */
export async function withRunLock<T>(
  runDir: string,
  work: () => T | Promise<T>,
  options: RunLockOptions = {},
): Promise<T> {
  const lock = await acquireRunLock(runDir, options);
  try {
    return await work();
  } finally {
    lock.release();
  }
}

/** Takes the run's lock: at once when free or left by a dead process, after waiting while a live one holds it. */
export async function acquireRunLock(runDir: string, options: RunLockOptions = {}): Promise<RunLock> {
  const file = lockFile(runDir);
  const timeoutMs = options.timeoutMs ?? lockTimeoutFromEnvironment();
  const pollMs = options.pollMs ?? 100;
  const started = Date.now();
  let waiting = false;
  for (;;) {
    const mine = tryCreate(file, options.command ?? 'mtl');
    if (mine) return mine;
    const seen = readLockFile(file);
    if (seen === 'gone') continue; // released between our attempt and the read
    const stale = isStale(seen, file);
    if (stale && takeOver(file, seen, options.command ?? 'mtl')) {
      options.onStaleLock?.(seen === 'unreadable' ? undefined : seen);
      continue;
    }
    const holder = seen === 'unreadable' ? undefined : seen;
    const waited = Date.now() - started;
    if (waited >= timeoutMs) throw busyError(runDir, file, holder, waited);
    // A stale lock another waiter is taking over right now: look again soon, without saying we wait for the dead.
    // A lock file caught between its creation and its write names its holder a moment later: say whom we wait for
    // then, unless it stays unreadable.
    if (!waiting && !stale && (holder !== undefined || waited >= UNREADABLE_ANNOUNCE_MS)) {
      waiting = true;
      options.onWait?.(holder, timeoutMs);
    }
    await sleep(Math.min(pollMs, timeoutMs - waited));
  }
}

/** The lock's holder now, if any (e.g. to show a run as busy); a file being written reads as `unreadable`. */
export function readRunLock(runDir: string): RunLockHolder | 'unreadable' | undefined {
  const seen = readLockFile(lockFile(runDir));
  return seen === 'gone' ? undefined : seen;
}

/** `MTL_LOCK_TIMEOUT` in seconds (a number ≥ 0), as milliseconds; a bad value is a usage error. */
export function lockTimeoutFromEnvironment(): number {
  const text = process.env['MTL_LOCK_TIMEOUT'];
  if (text === undefined || text.trim() === '') return DEFAULT_LOCK_TIMEOUT_S * 1000;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new UsageError(
      `MTL_LOCK_TIMEOUT "${text}": expected how many seconds to wait for another command writing the same run, ` +
        `a number of 0 or more (0: fail at once; default ${DEFAULT_LOCK_TIMEOUT_S}).`,
    );
  }
  return seconds * 1000;
}

/** Tokens of the locks this process holds now, with their files: released on exit and on a fatal signal. */
const held = new Map<string, string>();

function tryCreate(file: string, command: string): RunLock | undefined {
  const holder: RunLockHolder = {
    pid: process.pid,
    host: hostname(),
    command,
    since: new Date().toISOString(),
    token: randomBytes(8).toString('hex'),
  };
  // The signal handlers go in before the file exists: a Ctrl-C that arrived between the write and their
  // installation would end the process with the default action and leave the lock behind.
  watchProcessEnd();
  try {
    writeFileSync(file, `${JSON.stringify(holder, null, 2)}\n`, { flag: 'wx' });
  } catch (error) {
    if (held.size === 0) unwatchProcessEnd();
    if (errorCode(error) === 'EEXIST') return undefined;
    throw cannotLock(file, error, command);
  }
  held.set(holder.token, file);
  let released = false;
  return {
    file,
    holder,
    release: () => {
      if (released) return;
      released = true;
      releaseToken(holder.token, file);
      held.delete(holder.token);
      if (held.size === 0) unwatchProcessEnd();
    },
  };
}

/** Removes the lock file only if it is still the one with `token` (a takeover may have replaced a lock we lost). */
function releaseToken(token: string, file: string): void {
  const seen = readLockFile(file);
  if (seen !== 'gone' && seen !== 'unreadable' && seen.token === token) rmSync(file, { force: true });
}

function readLockFile(file: string): RunLockHolder | 'unreadable' | 'gone' {
  let fields: JsonFields;
  try {
    fields = JsonFields.read(file);
  } catch {
    try {
      statSync(file);
    } catch {
      return 'gone';
    }
    return 'unreadable';
  }
  try {
    return {
      pid: fields.number('pid'),
      host: fields.string('host'),
      command: fields.string('command'),
      since: fields.string('since'),
      token: fields.string('token'),
    };
  } catch {
    return 'unreadable';
  }
}

/**
 * Whether the holder is gone: a process on this host whose pid no longer exists (or is this very process, which does
 * not hold that lock: the pid was reused), or a file that stays unreadable. A holder on another host cannot be
 * checked from here and is waited for.
 */
function isStale(seen: RunLockHolder | 'unreadable', file: string): boolean {
  if (seen === 'unreadable') return ageMs(file) > UNREADABLE_GRACE_MS;
  if (seen.host !== hostname()) return false;
  if (seen.pid === process.pid) return !held.has(seen.token);
  return !processExists(seen.pid);
}

function processExists(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === 'EPERM'; // exists, owned by another user
  }
}

/**
 * Removes a stale lock so the next attempt can create one. Several waiters may find the same stale lock: a guard file
 * (created exclusively) lets one of them re-read the lock and remove it only if it is still the stale one, so nobody
 * removes a lock another waiter has just taken.
 */
function takeOver(file: string, stale: RunLockHolder | 'unreadable', command: string): boolean {
  const guard = `${file}.takeover`;
  try {
    writeFileSync(guard, `${process.pid}\n`, { flag: 'wx' });
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw cannotLock(file, error, command);
    if (ageMs(guard) > TAKEOVER_GRACE_MS) rmSync(guard, { force: true });
    return false;
  }
  try {
    const now = readLockFile(file);
    const same =
      now === 'unreadable'
        ? stale === 'unreadable'
        : now !== 'gone' && stale !== 'unreadable' && now.token === stale.token;
    if (same) rmSync(file, { force: true });
    return same;
  } finally {
    rmSync(guard, { force: true });
  }
}

function ageMs(file: string): number {
  try {
    return Date.now() - statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function busyError(runDir: string, file: string, holder: RunLockHolder | undefined, waitedMs: number): RunBusyError {
  const who = holder
    ? `${holder.command} (pid ${holder.pid} on ${holder.host}) has been changing it since ${holder.since}`
    : `another command is changing it (${file} cannot be read yet)`;
  const waited = waitedMs >= 1000 ? `waited ${Math.round(waitedMs / 1000)} s` : 'MTL_LOCK_TIMEOUT=0, did not wait';
  return new RunBusyError(`Run ${path.basename(runDir)} is busy: ${who}; ${waited}.`, [
    'run this again when it has finished, or wait longer: MTL_LOCK_TIMEOUT=<seconds>',
    `if that process is gone (on another machine, or killed there), delete ${file}`,
  ]);
}

/** The hint names the command that wanted the lock: mtl eval, a resume, a sweep's trial each write there. */
function cannotLock(file: string, error: unknown, command: string): UsageError {
  const reason = error instanceof Error ? error.message : String(error);
  return new UsageError(`Cannot lock the run: ${file} cannot be created (${reason}).`, [
    `${command} takes its lock in ${path.dirname(file)} before it writes there: give your user write access to it`,
  ]);
}

function errorCode(error: unknown): unknown {
  return error instanceof Error && 'code' in error ? error.code : undefined;
}

// Locks are released when this process ends: on exit (also process.exit), and on SIGINT/SIGTERM when nothing else
// handles them (a command that handles Ctrl-C itself, as training does, releases through its own finally).
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

function releaseAll(): void {
  for (const [token, file] of held) {
    try {
      releaseToken(token, file);
    } catch {
      // Ending anyway; a lock left behind is taken over by the next writer (its pid is gone).
    }
  }
  held.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return; // someone else decides what the signal does
  releaseAll();
  unwatchProcessEnd();
  process.kill(process.pid, signal); // the default action now: end with the signal's usual status
}

let watching = false;

function watchProcessEnd(): void {
  if (watching) return;
  watching = true;
  process.on('exit', releaseAll);
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

function unwatchProcessEnd(): void {
  if (!watching) return;
  watching = false;
  process.off('exit', releaseAll);
  for (const signal of SIGNALS) process.off(signal, onSignal);
}
