import { hostname } from 'node:os';
import type { RunMeta, RunStatus } from './meta.js';

/**
 * A training process writes its pid and host into meta.json when it starts and a heartbeat (`heartbeatAt`) every
 * {@link HEARTBEAT_EVERY_MS} while it is alive ({@link Heartbeat}; also with the `last` checkpoint's progress). A run
 * whose meta.json still says `running` is shown as `crashed` when its process is gone: on the same host, no process
 * has its pid; on any host, the heartbeat is older than {@link HEARTBEAT_STALE_MS} (a pid reused by another process,
 * a run on another machine sharing the store).
 */
export const HEARTBEAT_EVERY_MS = 15_000;
export const HEARTBEAT_STALE_MS = 5 * 60_000;

/**
 * A timer that writes the heartbeat every `everyMs` until stopped. A timer, not a training batch: an epoch's
 * validation and the run's final evaluation take minutes on a large split, and they give the event loop turns too
 * (train/event-loop.ts). Unreferenced: it never keeps the process alive.
 */
export class Heartbeat {
  private readonly timer: NodeJS.Timeout;

  constructor(write: (at: string) => void, everyMs: number = HEARTBEAT_EVERY_MS) {
    this.timer = setInterval(() => {
      try {
        write(new Date().toISOString());
      } catch {
        // A missed beat (a full disk, say) must not end the process from a timer: the run's own writes report it.
      }
    }, everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** What `mtl runs` shows: the stored status, or `crashed` for a `running` run whose process is gone. */
export type ShownStatus = RunStatus | 'crashed';

export interface RunProcess {
  pid: number;
  host: string;
}

export function thisProcess(): RunProcess {
  return { pid: process.pid, host: hostname() };
}

/** Whether a process with this pid exists on this host (EPERM: it exists, owned by someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error instanceof Error && 'code' in error && error.code === 'EPERM';
  }
}

/**
 * Why a run that says `running` is not running any more, or undefined when it may well be (or says something else).
 * Runs written before pids were recorded have neither: only the heartbeat bound (on `updatedAt`) applies to them.
 */
export function crashReason(
  meta: Pick<RunMeta, 'status' | 'updatedAt' | 'process' | 'heartbeatAt'>,
  now: number = Date.now(),
): string | undefined {
  if (meta.status !== 'running') return undefined;
  const owner = meta.process;
  if (owner && owner.host === hostname() && owner.pid !== process.pid && !processAlive(owner.pid))
    return `its process (pid ${owner.pid} on ${owner.host}) is gone`;
  const beat = Date.parse(meta.heartbeatAt ?? meta.updatedAt);
  if (Number.isFinite(beat) && now - beat > HEARTBEAT_STALE_MS) {
    const minutes = Math.round((now - beat) / 60_000);
    return `no heartbeat for ${minutes} minutes (the bound is ${HEARTBEAT_STALE_MS / 60_000})`;
  }
  return undefined;
}

export function shownStatus(meta: Parameters<typeof crashReason>[0], now?: number): ShownStatus {
  return crashReason(meta, now) === undefined ? meta.status : 'crashed';
}
