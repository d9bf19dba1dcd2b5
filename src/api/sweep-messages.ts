import type { BackendChoice } from '../config/types.js';
import type { TrialStatus } from '../runs/sweeps.js';
import type { TrialAction, TrialStartAction } from './sweep.js';

/**
 * What `mtl sweep --jobs N` (the coordinator, api/sweep-jobs.ts) and its worker processes (api/sweep-worker.ts) say
 * to each other over the fork IPC channel. Both sides are this package's own code, started from one install, so a
 * message is trusted to have the shape its `type` names.
 */

/** The first message to a worker: the sweep to plan (again: planSweep is deterministic) and how to train. */
export interface WorkerInit {
  type: 'init';
  sweepFile: string;
  /** The sweep's folder in the store; the worker checks its own plan lands there, with the same id. */
  sweepDir: string;
  planId: string;
  retryFailed: boolean;
  backend?: BackendChoice;
  /** The coordinator's command line, recorded in each trial's meta.json as a run in this process would. */
  command: string[];
}

/** One trial to bring up to date (a TrialRequest by its trial's index and hash; `epochs` passed on unchanged). */
export interface TrialMessage {
  type: 'trial';
  index: number;
  hash: string;
  epochs?: number;
}

export type ToWorker = WorkerInit | TrialMessage | { type: 'interrupt' } | { type: 'stop' };

export type FromWorker =
  /** Planned; waiting for a trial. */
  | { type: 'ready'; planId: string }
  | { type: 'started'; index: number; action: TrialStartAction }
  | { type: 'outcome'; index: number; action: TrialAction; status: TrialStatus; error?: string }
  /** The worker was already stopping (a signal) when the trial came: nothing done, the request goes back. */
  | { type: 'declined'; index: number };

/** A message from the other side, by its `type` (the channel carries only the messages above). */
export function isMessage<T extends { type: string }>(value: unknown): value is T {
  return typeof value === 'object' && value !== null && 'type' in value && typeof value.type === 'string';
}
