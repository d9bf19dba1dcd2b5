import { tf } from '../tf.js';
import type { WasmBackendLike } from '../backend/wasm/backend.js';

/**
 * Copies a float32 tensor's values into `out` at `offset`. On wasm straight from the backend's heap: `dataSync()`
 * there copies into a new array first, a second copy and an allocation per read, and gradient methods read every
 * task's gradient of the shared parameters each step (W2: 2 × 234k floats).
 */
export function readFloatsInto(tensor: tf.Tensor, out: Float32Array, offset: number): void {
  const backend = tf.backend() as unknown as Partial<WasmBackendLike>;
  if (tf.getBackend() === 'wasm' && tensor.dtype === 'float32' && backend.typedArrayFromHeap) {
    out.set(backend.typedArrayFromHeap(tensor) as Float32Array, offset);
    return;
  }
  out.set(tensor.dataSync() as Float32Array, offset);
}
