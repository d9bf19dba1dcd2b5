/**
 * Loaded with `node --import` before bench/gpu.mjs: every synchronous tensor read (`dataSync`) fails as it does on
 * TF.js's webgpu backend in Node (whose readSync draws through an OffscreenCanvas, which Node lacks), so that the
 * script's handling of that backend is tested on wasm (test/bench-gpu-script.test.ts).
 */
import { tf } from '../../dist/tf.js';

tf.Tensor.prototype.dataSync = () => {
  throw new ReferenceError('OffscreenCanvas is not defined');
};
