/**
 * Products with an empty operand, which the stock wasm kernels get wrong (makeFastMatMul in matmul.ts sends them
 * here): no rows, columns or batch entries read out of bounds in XNNPACK; an empty inner dimension returns heap
 * garbage instead of 0 (test/wasm-empty-operands.test.ts).
 */
import type { tf } from '../../tf.js';
import type { FastKernelFunc, WasmBackendLike } from './backend.js';

/**
 * A product with no output (no rows, no columns or an empty batch): the empty output, without the stock kernel, which
 * hands the empty operands to XNNPACK and reads out of bounds there (`memory access out of bounds`: a training step
 * whose batch had no rows of a selection). A fused call's bias the stock kernel refuses (not rank 1) still goes to it
 * for its error, which it throws before running anything.
 */
export function emptyProduct(
  stockFunc: tf.KernelFunc,
  args: Parameters<tf.KernelFunc>[0],
  shape: number[],
  fused: boolean,
): tf.TensorInfo | tf.TensorInfo[] {
  const bias = fused ? args.inputs['bias'] : undefined;
  if (bias !== undefined && bias !== null && bias.shape.length !== 1) return stockFunc(args);
  return (args.backend as WasmBackendLike).makeOutput(shape, 'float32');
}

/**
 * A product over an empty inner dimension (k = 0, e.g. xᵀ·dy over a batch of no rows) is 0, plus the bias and the
 * activation when fused; the stock kernel returns whatever the heap held there instead. Run as the same product with
 * one zero term (k = 1, zeros on both sides), which every path below computes exactly: 0·0 = 0.
 */
export function withOneZeroTerm(
  fast: FastKernelFunc,
  args: Parameters<tf.KernelFunc>[0],
  flags: { transposeA: boolean; transposeB: boolean },
): tf.TensorInfo | tf.TensorInfo[] {
  const backend = args.backend as WasmBackendLike;
  const a = args.inputs['a']!;
  const b = args.inputs['b']!;
  // The inner dimension is the last of A (second last when transposed) and the second last of B (last when transposed).
  const padded = (x: tf.TensorInfo, innerAxis: number): tf.TensorInfo => {
    const shape = [...x.shape];
    shape[innerAxis] = 1;
    const out = backend.makeOutput(shape, 'float32');
    backend.typedArrayFromHeap(out).fill(0);
    return out;
  };
  const a1 = padded(a, flags.transposeA ? a.shape.length - 2 : a.shape.length - 1);
  const b1 = padded(b, flags.transposeB ? b.shape.length - 1 : b.shape.length - 2);
  try {
    return fast({ ...args, inputs: { ...args.inputs, a: a1, b: b1 } });
  } finally {
    backend.disposeData(a1.dataId);
    backend.disposeData(b1.dataId);
  }
}
