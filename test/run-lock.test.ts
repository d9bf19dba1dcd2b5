/**
 * The run lock (runs/lock.ts): one writer at a time per run. A second writer waits for a live holder and proceeds when
 * it is done, or gives up after the timeout with a message naming the holder; a lock whose process is gone is taken
 * over; writers in several processes never overlap.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { lockFile } from '../src/runs/layout.js';
import {
  acquireRunLock,
  lockTimeoutFromEnvironment,
  readRunLock,
  RunBusyError,
  withRunLock,
  type RunLockHolder,
} from '../src/runs/lock.js';
import { tempDir } from './helpers.js';
import { root } from './helpers/cli.js';

function runDir(): string {
  const dir = path.join(tempDir(), '20260101-000000-locked-aaaaaa');
  mkdirSync(dir);
  return dir;
}

/** A process id that existed and is gone now. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid ?? 999_999;
}

function placeLock(dir: string, holder: Partial<RunLockHolder>): RunLockHolder {
  const full: RunLockHolder = {
    pid: process.pid,
    host: hostname(),
    command: 'mtl eval',
    since: '2026-01-01T00:00:00.000Z',
    token: 'placed',
    ...holder,
  };
  writeFileSync(lockFile(dir), JSON.stringify(full));
  return full;
}

afterEach(() => {
  delete process.env['MTL_LOCK_TIMEOUT'];
});

describe('the run lock', () => {
  it('holds the pid, host and command while the work runs; gone afterwards, also when the work throws', async () => {
    const dir = runDir();
    const seen = await withRunLock(dir, () => readRunLock(dir), { command: 'mtl eval' });
    expect(seen).toMatchObject({ pid: process.pid, host: hostname(), command: 'mtl eval' });
    expect(existsSync(lockFile(dir))).toBe(false);
    await expect(
      withRunLock(dir, () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(existsSync(lockFile(dir))).toBe(false);
  });

  it('makes a second writer wait for a live holder, then proceed', async () => {
    const dir = runDir();
    const first = await acquireRunLock(dir, { command: 'mtl train --resume' });
    const waitedFor: (RunLockHolder | undefined)[] = [];
    const started = Date.now();
    setTimeout(() => first.release(), 300);
    const order: string[] = [];
    await withRunLock(dir, () => order.push('second'), {
      pollMs: 20,
      onWait: (holder) => waitedFor.push(holder),
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(order).toEqual(['second']);
    expect(waitedFor).toHaveLength(1);
    expect(waitedFor[0]).toMatchObject({ command: 'mtl train --resume', pid: process.pid });
    expect(existsSync(lockFile(dir))).toBe(false);
  });

  it('names the holder of a lock caught while it was being written, once it is written', async () => {
    const dir = runDir();
    // The holder's exclusive create has happened, its write not yet: the waiter reads an empty file.
    writeFileSync(lockFile(dir), '');
    const waitedFor: (RunLockHolder | undefined)[] = [];
    // A live process of this host (this one's parent): not a stale lock.
    setTimeout(() => placeLock(dir, { command: 'mtl eval', pid: process.ppid }), 100);
    setTimeout(() => rmSync(lockFile(dir)), 300);
    await withRunLock(dir, () => undefined, { pollMs: 20, onWait: (holder) => waitedFor.push(holder) });
    // It said "waiting for another command" with no name.
    expect(waitedFor).toEqual([expect.objectContaining({ command: 'mtl eval', pid: process.ppid })]);
  });

  it('gives up after the timeout with a message naming the holder, leaving its lock alone (exit 1)', async () => {
    const dir = runDir();
    const first = await acquireRunLock(dir, { command: 'mtl train --resume' });
    const error = await acquireRunLock(dir, { timeoutMs: 150, pollMs: 20 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunBusyError);
    expect(error).toMatchObject({ exitCode: 1 });
    const text = error instanceof RunBusyError ? error.format() : '';
    expect(text).toContain(
      `Run 20260101-000000-locked-aaaaaa is busy: mtl train --resume (pid ${process.pid} on ${hostname()}) has ` +
        `been changing it since ${first.holder.since}`,
    );
    expect(text).toContain('MTL_LOCK_TIMEOUT=<seconds>');
    expect(text).toContain(`delete ${lockFile(dir)}`);
    expect(readRunLock(dir)).toEqual(first.holder);
    first.release();
  });

  it('takes over a lock left by a process that is gone (same host), and says so', async () => {
    const dir = runDir();
    const stale = placeLock(dir, { pid: deadPid(), token: 'dead' });
    const taken: (RunLockHolder | undefined)[] = [];
    const holder = await withRunLock(dir, () => readRunLock(dir), {
      timeoutMs: 0,
      onStaleLock: (h) => taken.push(h),
    });
    expect(taken).toEqual([stale]);
    expect(holder).toMatchObject({ pid: process.pid });
    expect(existsSync(lockFile(dir))).toBe(false);
  });

  it('takes over a lock of its own pid that it does not hold (the pid was reused)', async () => {
    const dir = runDir();
    placeLock(dir, { token: 'not-mine' });
    await expect(withRunLock(dir, () => 'ran', { timeoutMs: 0 })).resolves.toBe('ran');
  });

  it('waits for a holder on another host (its pid cannot be checked from here)', async () => {
    const dir = runDir();
    placeLock(dir, { pid: deadPid(), host: 'elsewhere.example', command: 'mtl eval' });
    const error = await acquireRunLock(dir, { timeoutMs: 50, pollMs: 10 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunBusyError);
    expect(error instanceof RunBusyError ? error.message : '').toContain(' on elsewhere.example) ');
    expect(existsSync(lockFile(dir))).toBe(true);
  });

  it('waits while the lock file is being written (unreadable) and takes it over once that is old', async () => {
    const dir = runDir();
    writeFileSync(lockFile(dir), '{"pid": 12');
    await expect(acquireRunLock(dir, { timeoutMs: 50, pollMs: 10 })).rejects.toThrow(/cannot be read yet/);
    const old = new Date(Date.now() - 60_000);
    utimesSync(lockFile(dir), old, old);
    await expect(withRunLock(dir, () => 'ran', { timeoutMs: 0 })).resolves.toBe('ran');
  });

  it('reads MTL_LOCK_TIMEOUT in seconds and refuses a value that is not a number of 0 or more (exit 2)', () => {
    expect(lockTimeoutFromEnvironment()).toBe(60_000);
    process.env['MTL_LOCK_TIMEOUT'] = '2.5';
    expect(lockTimeoutFromEnvironment()).toBe(2500);
    for (const bad of ['soon', '-1', 'Infinity']) {
      process.env['MTL_LOCK_TIMEOUT'] = bad;
      expect(() => lockTimeoutFromEnvironment()).toThrow(UsageError);
      expect(() => lockTimeoutFromEnvironment()).toThrow(
        `MTL_LOCK_TIMEOUT "${bad}": expected how many seconds to wait for another command writing the same run`,
      );
    }
  });

  it('keeps writers in four processes from overlapping, starting from a stale lock', async () => {
    const dir = runDir();
    placeLock(dir, { pid: deadPid(), token: 'dead' });
    const counter = path.join(dir, 'counter');
    writeFileSync(counter, '0');
    // Each child adds 1 five times by read, pause, write: any overlap of two writers loses an increment.
    const lockModule = path.join(root, 'dist', 'runs', 'lock.js');
    const script = `
      import { readFileSync, writeFileSync } from 'node:fs';
      const { withRunLock } = await import(${JSON.stringify(lockModule)});
      for (let i = 0; i < 5; i++) {
        await withRunLock(${JSON.stringify(dir)}, async () => {
          const n = Number(readFileSync(${JSON.stringify(counter)}, 'utf8'));
          await new Promise((resolve) => setTimeout(resolve, 5));
          writeFileSync(${JSON.stringify(counter)}, String(n + 1));
        }, { pollMs: 5, timeoutMs: 60000 });
      }`;
    const children = Array.from(
      { length: 4 },
      () =>
        new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit' });
          child.on('exit', resolve);
        }),
    );
    expect(await Promise.all(children)).toEqual([0, 0, 0, 0]);
    expect(readFileSync(counter, 'utf8')).toBe('20');
    expect(existsSync(lockFile(dir))).toBe(false);
  });
});
