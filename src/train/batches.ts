import { tf } from '../tf.js';
import { gatherBatches } from '../ops/gather-batches.js';
import type { Batch } from './step.js';
import type { SplitTensors } from './tensors.js';

/**
 * An epoch's training batches: the split's inputs and every task's targets in `permutation`'s row order, cut into
 * batches of `batchSize` rows. The caller disposes them (disposing a batch twice is harmless).
 */
export function shuffledBatches(split: SplitTensors, permutation: Int32Array, batchSize: number): Batch[] {
  const index = tf.tensor1d(permutation, 'int32');
  try {
    const xs = gatherBatches(split.x, index, batchSize);
    const targets = Object.entries(split.targets).map(
      ([name, t]) => [name, gatherBatches(t, index, batchSize)] as const,
    );
    return xs.map((x, b) => {
      const batch: Batch = { x, targets: Object.fromEntries(targets.map(([name, parts]) => [name, parts[b]!])) };
      if (split.labelled) batch.labelled = labelledInBatch(split.labelled, permutation, b * batchSize, x.shape[0]);
      return batch;
    });
  } finally {
    index.dispose();
  }
}

/**
 * Per task with missing labels, the positions in the batch (rows start … start + size − 1 of the epoch's order) of
 * the rows that have its label: what the masked loss gathers (train/losses.ts).
 */
export function labelledInBatch(
  labelled: Readonly<Record<string, Uint8Array>>,
  order: Int32Array,
  start: number,
  size: number,
): Record<string, Int32Array> {
  const out: Record<string, Int32Array> = {};
  for (const [task, mask] of Object.entries(labelled)) {
    const positions: number[] = [];
    for (let i = 0; i < size; i++) if (mask[order[start + i]!] === 1) positions.push(i);
    out[task] = Int32Array.from(positions);
  }
  return out;
}
