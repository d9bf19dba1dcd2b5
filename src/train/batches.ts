import * as tf from '@tensorflow/tfjs';
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
    return xs.map((x, b) => ({ x, targets: Object.fromEntries(targets.map(([name, parts]) => [name, parts[b]!])) }));
  } finally {
    index.dispose();
  }
}
