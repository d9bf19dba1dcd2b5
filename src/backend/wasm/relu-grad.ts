/**
 * `MtlReluGrad` (added): dz = dy ⊙ step(y), the gradient through a ReLU whose output is y, as one kernel. Dense
 * layers' backward passes ran `Step` then `Multiply`: two kernels and a mask tensor per ReLU layer and per task
 * gradient (a W2 step has four). Bit-identical to them (simd/relu-grad.ts says why); NaN where they give NaN.
 */
import type { tf } from '../../tf.js';
import { heapOffset, simdOf, sizeOf, type WasmBackendLike } from './backend.js';

export const RELU_GRAD_KERNEL = 'MtlReluGrad';

export function reluGrad(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const { dy, y } = args.inputs as Record<string, tf.TensorInfo>;
  if (!dy || !y || dy.dtype !== 'float32' || y.dtype !== 'float32' || sizeOf(dy.shape) !== sizeOf(y.shape))
    throw new Error(`${RELU_GRAD_KERNEL}: float32 dy and y of one size expected`);
  const backend = args.backend as WasmBackendLike;
  const out = backend.makeOutput([...dy.shape], 'float32');
  const size = sizeOf(dy.shape);
  const simd = simdOf(backend);
  let done = 0;
  if (simd) {
    const blocks = Math.floor(size / 4);
    simd.reluGrad({ dy: heapOffset(backend, dy), y: heapOffset(backend, y), out: heapOffset(backend, out), blocks });
    done = 4 * blocks;
  }
  // Views are taken after the allocation above: a malloc may grow (and replace) the wasm heap.
  const gradient = backend.typedArrayFromHeap(dy) as Float32Array;
  const activation = backend.typedArrayFromHeap(y) as Float32Array;
  const result = backend.typedArrayFromHeap(out) as Float32Array;
  for (let i = done; i < size; i++) {
    const v = activation[i]!;
    result[i] = gradient[i]! * (v > 0 ? 1 : Number.isNaN(v) ? v : 0);
  }
  return out;
}
