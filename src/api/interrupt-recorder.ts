/**
 * What a signal may do to the run a command trains (cli/interrupts.ts): its handle, and recording the run as
 * `interrupted` when the command is about to exit without waiting for it, never once the run has its final status.
 */
import type { BackgroundTasks } from '../runs/atomic.js';
import type { RunWriter } from '../runs/writer.js';

/** The run being trained, as `onRunCreated` gives it. */
export interface RunHandle {
  id: string;
  dir: string;
  /**
   * For a caller about to exit without waiting for the run to end (a second Ctrl-C): lets the queued writes finish
   * (at most about a second), then records the run as `interrupted` with `reason` in meta.json, so it is never left
   * at `running`. Its checkpoints are those already written.
   */
  recordInterrupted(reason: string): Promise<void>;
  /** Whether training has ended and the run's final evaluation and summary are under way. */
  finishing(): boolean;
  /**
   * Whether the run has its final status in meta.json (completed, interrupted, diverged or failed). From then on
   * `recordInterrupted` leaves the run as it is: a signal that comes later (while a seed group prepares its next
   * member's data, or the command prints its result) is not about this run.
   */
  ended(): boolean;
}

/**
 * Records a run as interrupted on a second signal: a no-op until the run's writer exists, then the write, so a
 * handle given out before training starts stays valid.
 */
export class InterruptRecorder {
  record: (reason: string) => Promise<void> = async () => undefined;
  /** Set once training has ended (RunHandle.finishing). */
  finishing = false;
  /** Set once the run's final status is written (RunHandle.ended). */
  ended = false;

  handle(id: string, dir: string): RunHandle {
    return {
      id,
      dir,
      recordInterrupted: async (reason) => {
        if (!this.ended) await this.record(reason);
      },
      finishing: () => this.finishing && !this.ended,
      ended: () => this.ended,
    };
  }
}

/** How long a caller about to exit waits for queued run writes before recording the run as interrupted. */
const INTERRUPT_SETTLE_MS = 1000;

export async function recordInterrupted(
  writer: RunWriter,
  background: BackgroundTasks,
  reason: string,
  /** Whether the run got its final status meanwhile (its final evaluation runs on during the wait). */
  ended: () => boolean,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    background.settle().then(
      () => true,
      () => true, // a failed write: nothing is pending any more, which is all this needs
    ),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), INTERRUPT_SETTLE_MS);
    }),
  ]);
  clearTimeout(timer);
  // Still writing after a second (a stalled disk): a meta.json written now could be overtaken by the queued one.
  if (!settled || ended()) return;
  writer.updateMeta({ status: 'interrupted', statusReason: reason, endedAt: new Date().toISOString() });
}
