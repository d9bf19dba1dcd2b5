import { tf } from '../tf.js';
import { GATHER_BATCHES_KERNEL, type GatherBatchesAttrs } from '../backend/wasm/index.js';

/**
 * The rows of `x` in `index` order, cut into batches of `batchSize` rows (the last one shorter): out_b[i] =
 * x[index[b·batchSize + i]]. On a backend with the `MtlGatherBatches` kernel (wasm: backend/wasm/copies.ts, installed
 * with the wasm overrides) that is one kernel call copying each row once, straight into its batch; elsewhere a gather
 * of the whole split and a split. The results are the same bit for bit (test/epoch-overhead.test.ts).
 */
export function gatherBatches<T extends tf.Tensor>(x: T, index: tf.Tensor1D, batchSize: number): T[] {
  if (tf.getKernel(GATHER_BATCHES_KERNEL, tf.getBackend()) !== undefined) {
    const attrs: GatherBatchesAttrs = { batchSize };
    return tf
      .engine()
      .runKernel(GATHER_BATCHES_KERNEL, { x, indices: index }, attrs as unknown as tf.NamedAttrMap) as unknown as T[];
  }
  const rows = index.shape[0];
  const sizes: number[] = [];
  for (let start = 0; start < rows; start += batchSize) sizes.push(Math.min(batchSize, rows - start));
  return tf.tidy(() => tf.split(tf.gather(x, index), sizes, 0));
}
