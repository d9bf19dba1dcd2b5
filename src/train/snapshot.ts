export type { PartialEpoch, TrainerSnapshot } from '../runs/training-state.js';
import { tf } from '../tf.js';
import { UsageError } from '../errors.js';
import type { TrainerSnapshot } from '../runs/training-state.js';

/** A snapshot to continue from, with the optimizer's slot values by variable name (`shared/0/kernel/m`). */
export interface TrainerResume {
  snapshot: TrainerSnapshot;
  optimizerSlots: Record<string, tf.Tensor>;
}

/** What the trainer hands over for saving: the snapshot and the live slot variables (read at once by the caller). */
/** Where a snapshot is taken: its epoch, batch, the epoch's starting batch order and what the epoch has summed. */
export type SnapshotPosition = Pick<TrainerSnapshot, 'epoch' | 'batch' | 'batchRng' | 'partial'>;

export interface TrainerCheckpoint {
  snapshot: TrainerSnapshot;
  optimizerSlots: tf.Variable[];
}

/** The values of per-step task-loss tensors, for a mid-epoch snapshot (one read per step: only when one is taken). */
export function readStepLosses(losses: readonly tf.Tensor1D[]): number[][] {
  return losses.map((loss) => Array.from(loss.dataSync()));
}

/** Per-step task-loss tensors back from a snapshot: float32 values, so the epoch's sum is the same bits. */
export function stepLossTensors(values: readonly number[][]): tf.Tensor1D[] {
  return values.map((row) => tf.tensor1d(row, 'float32'));
}

/** Assigns saved slot values to the optimizer's slot variables; every slot must be there, with its shape. */
export function restoreSlots(slots: readonly tf.Variable[], saved: Record<string, tf.Tensor>): void {
  for (const slot of slots) {
    const value = saved[slot.name];
    if (!value)
      throw new UsageError(`The checkpoint has no optimizer state for "${slot.name}"; it was saved by another config.`);
    if (value.shape.join('x') !== slot.shape.join('x'))
      throw new UsageError(`Optimizer state "${slot.name}" has shape [${value.shape}], expected [${slot.shape}].`);
    slot.assign(value);
  }
}

/**
 * Whether the run a snapshot was taken of had already stopped early at it (killed between its last checkpoint and
 * its final status): continuing would train epochs the uninterrupted run never did.
 */
export function stoppedEarlyAt(snapshot: TrainerSnapshot | undefined, patience: number): boolean {
  return snapshot !== undefined && snapshot.partial === undefined && patience > 0 && snapshot.sinceImproved >= patience;
}
