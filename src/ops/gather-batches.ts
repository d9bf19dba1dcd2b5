import { tf } from '../tf.js';
import {
  canRegatherBatches,
  GATHER_BATCHES_KERNEL,
  regatherBatches as regatherOnWasm,
  type GatherBatchesAttrs,
  type WasmBackendLike,
} from '../backend/wasm/index.js';

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

/**
 * {@link gatherBatches} of each source into the batches an earlier call gave for it, in place, for an index of the
 * same length: all of them or, returning false, none. Only on the wasm backend with the project's kernels, and only
 * where each batch is alive and holds its data alone (backend/wasm/copies.ts, `canRegatherBatches`); the values are
 * those a fresh call gives, bit for bit (test/batches.test.ts).
 */
export function regatherBatches(
  sources: readonly { x: tf.Tensor; batches: readonly tf.Tensor[] }[],
  index: tf.Tensor1D,
): boolean {
  if (tf.getBackend() !== 'wasm' || tf.getKernel(GATHER_BATCHES_KERNEL, 'wasm') === undefined) return false;
  const backend = tf.backend() as unknown as WasmBackendLike;
  const writable = sources.every(
    ({ x, batches }) => batches.every((batch) => !batch.isDisposed) && canRegatherBatches(backend, x, index, batches),
  );
  if (!writable) return false;
  for (const { x, batches } of sources) regatherOnWasm(backend, x, index, batches);
  return true;
}
