import path from 'node:path';
import { MtlError, RunFailedError, UsageError } from '../errors.js';
import type { TrainOptions } from './train.js';
import { planSweep } from './sweep.js';
import { runTrial } from './sweep-trial.js';
import { isMessage, type FromWorker, type ToWorker, type WorkerInit } from './sweep-messages.js';

/**
 * A worker process of `mtl sweep --jobs N` (the hidden `mtl sweep-worker`, started by api/sweep-jobs.ts): plans the
 * sweep it is told, says `ready`, then trains each trial it is handed with runTrial (the trial's lock, skip, resume,
 * train: the same as in one process) and answers with the outcome, until told to stop or the channel closes.
 *
 * Stopping: an `interrupt` message, a signal to this process (`options.signal`), or the coordinator gone (IPC
 * `disconnect`, e.g. it was SIGKILLed) each abort the trial in training: it finishes the current batch and ends
 * `interrupted` with its checkpoint, resumable by a re-run; then the worker exits.
 */
export type WorkerOptions = Pick<TrainOptions, 'listeners' | 'signal' | 'onRunCreated'>;

export async function serveSweepWorker(options: WorkerOptions): Promise<void> {
  const send = process.send?.bind(process);
  if (!send) {
    throw new UsageError('mtl sweep-worker is started by `mtl sweep --jobs N`, not by hand.', [
      'run mtl sweep SWEEP.yaml --jobs N',
    ]);
  }
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const inbox = new Inbox(() => stop.abort());
  const tell = (message: FromWorker): void => {
    if (process.connected) send(message);
  };
  try {
    const init = await inbox.next();
    if (init?.type !== 'init') return;
    const plan = await planSweep(init.sweepFile);
    checkSamePlan(init, plan.id);
    tell({ type: 'ready', planId: plan.id });
    for (let message = await inbox.next(); message?.type === 'trial'; message = await inbox.next()) {
      const trial = plan.trials[message.index];
      if (!trial || trial.hash !== message.hash) {
        throw new RunFailedError(`sweep worker: the plan has no trial ${message.index} with hash ${message.hash}.`);
      }
      if (signal.aborted) {
        tell({ type: 'declined', index: trial.index });
        continue;
      }
      const { type: _type, index: _index, hash: _hash, ...rest } = message;
      const outcome = await runTrial(plan, init.sweepDir, { trial, ...rest }, init.retryFailed, {
        ...(options.listeners ? { listeners: options.listeners } : {}),
        ...(options.onRunCreated ? { onRunCreated: options.onRunCreated } : {}),
        ...(init.backend ? { backend: init.backend } : {}),
        runsDir: path.dirname(init.sweepDir),
        command: init.command,
        signal,
        onStart: (_started, action) => tell({ type: 'started', index: trial.index, action }),
      });
      const { action, status, error } = outcome;
      tell({ type: 'outcome', index: trial.index, action, status, ...(error === undefined ? {} : { error }) });
    }
  } finally {
    inbox.close();
  }
}

/** The worker must train the coordinator's plan: the same sweep id, in the same folder of the store. */
function checkSamePlan(init: WorkerInit, planId: string): void {
  if (planId !== init.planId || path.basename(init.sweepDir) !== planId) {
    throw new MtlError(
      `${init.sweepFile} changed after mtl sweep planned it (sweep ${planId}, not ${init.planId}); ` +
        'the sweep was not trained by this worker.',
      { details: ['leave the sweep file and its base config as they are while the sweep runs'] },
    );
  }
}

/**
 * The coordinator's messages, one at a time; `interrupt` and the channel closing call `onStop` at once (even while
 * a trial trains), and end the stream (`next` gives undefined) when closed.
 */
class Inbox {
  private readonly waiting: ((message: ToWorker | undefined) => void)[] = [];
  private readonly queued: ToWorker[] = [];
  private closed = false;
  private readonly onMessage = (message: unknown): void => {
    if (!isMessage<ToWorker>(message)) return;
    if (message.type === 'interrupt') this.onStop();
    else this.deliver(message);
  };
  private readonly onDisconnect = (): void => {
    this.closed = true;
    this.onStop();
    for (const resolve of this.waiting.splice(0)) resolve(undefined);
  };

  constructor(private readonly onStop: () => void) {
    process.on('message', this.onMessage);
    process.on('disconnect', this.onDisconnect);
  }

  next(): Promise<ToWorker | undefined> {
    const message = this.queued.shift();
    if (message || this.closed) return Promise.resolve(message);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  close(): void {
    process.off('message', this.onMessage);
    process.off('disconnect', this.onDisconnect);
    // Let the process exit: an open channel would keep it alive.
    if (process.connected) process.disconnect();
  }

  private deliver(message: ToWorker): void {
    const resolve = this.waiting.shift();
    if (resolve) resolve(message);
    else this.queued.push(message);
  }
}
