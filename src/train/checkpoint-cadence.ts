/**
 * When the trainer takes the `last` checkpoint (train/trainer.ts), the point `mtl train --resume` continues from.
 * Resuming from any checkpoint gives the same metrics, so the cadence only bounds what a killed run loses:
 *
 * - after every N-th step of `training.checkpoint_every_steps` inside an epoch, and where the run is interrupted;
 * - at an epoch's end when the previous one is at least `minSeconds` old (default
 *   {@link EPOCH_CHECKPOINT_MIN_SECONDS}; 0: every epoch), when the N-th step ended the epoch (its checkpoint was left
 *   to the epoch's end: skipping it could lose more than N steps), and always at the run's last epoch and the epoch
 *   early stopping ends it at (`mtl sweep`'s halving extends a run from it).
 */
export const EPOCH_CHECKPOINT_MIN_SECONDS = 1;

/**
 * One epoch-end checkpoint a second at most: a killed run loses at most that much training more, and an epoch of
 * 55 ms (the quickstart's) no longer spends ~1 % of its time writing one.
 */
export class CheckpointCadence {
  private lastAt = -Infinity;
  private readonly minMs: number;

  constructor(
    private readonly everySteps: number,
    minSeconds: number = EPOCH_CHECKPOINT_MIN_SECONDS,
  ) {
    this.minMs = minSeconds * 1000;
  }

  /** Whether the step just taken (global count `step`, batch `batch` of `batches`) takes one inside its epoch. */
  dueInEpoch(step: number, batch: number, batches: number): boolean {
    return this.everySteps > 0 && step % this.everySteps === 0 && batch + 1 < batches;
  }

  /** Whether an epoch that ended after `step` steps takes one; `runEnds`: the last epoch, or early stopping's. */
  dueAtEpochEnd(step: number, runEnds: boolean): boolean {
    const dueByStep = this.everySteps > 0 && step % this.everySteps === 0;
    return runEnds || dueByStep || performance.now() - this.lastAt >= this.minMs;
  }

  /** Notes that one is taken now. */
  taken(): void {
    this.lastAt = performance.now();
  }
}
