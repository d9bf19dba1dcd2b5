import * as tf from '@tensorflow/tfjs';
import { GATHER_BATCHES_KERNEL, type GatherBatchesAttrs } from '../backend/wasm/index.js';
import type { Batch } from './step.js';
import type { SplitTensors } from './tensors.js';

/**
 * The rows of `x` in `index` order, cut into batches of `batchSize` rows (the last one shorter): out_b[i] =
 * x[index[b·batchSize + i]]. On a backend with the `MtlGatherBatches` kernel (wasm: backend/wasm/copies.ts) that is
 * one kernel call copying each row once, straight into its batch; elsewhere a gather of the whole split and a split.
 * The results are the same bit for bit (test/epoch-overhead.test.ts).
 */
export function gatherBatches<T extends tf.Tensor>(x: T, index: tf.Tensor1D, batchSize: number): T[] {
  if (tf.getKernel(GATHER_BATCHES_KERNEL, tf.getBackend()) !== undefined) {
    const attrs: GatherBatchesAttrs = { batchSize };
    return tf.engine().runKernel(GATHER_BATCHES_KERNEL, { x, indices: index }, attrs as unknown as tf.NamedAttrMap) as unknown as T[];
  }
  const rows = index.shape[0];
  const sizes: number[] = [];
  for (let start = 0; start < rows; start += batchSize) sizes.push(Math.min(batchSize, rows - start));
  return tf.tidy(() => tf.split(tf.gather(x, index), sizes, 0)) as T[];
}

/**
 * An epoch's training batches: the split's inputs and every task's targets in `permutation`'s row order, cut into
 * batches of `batchSize` rows. The caller disposes them (disposing a batch twice is harmless).
 */
export function shuffledBatches(split: SplitTensors, permutation: Int32Array, batchSize: number): Batch[] {
  const index = tf.tensor1d(permutation, 'int32');
  try {
    const xs = gatherBatches(split.x, index, batchSize);
    const targets = Object.entries(split.targets).map(([name, t]) => [name, gatherBatches(t, index, batchSize)] as const);
    return xs.map((x, b) => ({ x, targets: Object.fromEntries(targets.map(([name, parts]) => [name, parts[b] as tf.Tensor2D])) }));
  } finally {
    index.dispose();
  }
}
