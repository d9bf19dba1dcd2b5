/**
 * The max-pool gradient (`MaxPoolGrad`) for the TF.js wasm backend: the stock kernel gets it wrong (see below); in
 * wasm (simd/patches.ts) where the project's SIMD kernels run, else a JS loop, the same values bit for bit.
 */
import { tf } from '../../tf.js';
import { heapOffset, ORIGINAL, sizeOf, type FastKernelFunc, type WasmBackendLike } from './backend.js';
import { patchGeometry, patchKernels } from './conv-common.js';

/**
 * `MaxPoolGrad`: the stock wasm kernel scatters the gradient to wrong input positions for many shapes (measured
 * against the cpu backend: a 6×6 or 7×8 input with a 2×2 window, and every `same`-padded case tried, are wrong; 4×4
 * is right). The override does what the cpu backend does: each output position sends its dy to the first position
 * holding the maximum of its window (in-range positions only), gradients of overlapping windows add up.
 * Non-float32 or channels-first calls go to the stock kernel.
 */
export function makeFastMaxPoolGrad(stock: tf.KernelConfig): FastKernelFunc {
  const fast: FastKernelFunc = (args) => {
    const { dy, input } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const attrs = args.attrs as
      | {
          filterSize: number | [number, number];
          strides: number | [number, number];
          pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
          dimRoundingMode?: 'floor' | 'round' | 'ceil';
        }
      | undefined;
    if (!dy || !input || !attrs || input.dtype !== 'float32' || dy.dtype !== 'float32' || input.shape.length !== 4)
      return stock.kernelFunc(args);
    const info = tf.backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      attrs.filterSize,
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
    );
    const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
    const { strideHeight: sh, strideWidth: sw, filterHeight: FH, filterWidth: FW } = info;
    if (sizeOf(dy.shape) !== B * OH * OW * C) return stock.kernelFunc(args);
    const top = info.padInfo.top;
    const left = info.padInfo.left;
    const backend = args.backend as WasmBackendLike;
    const out = backend.makeOutput([...input.shape], 'float32');
    (backend.typedArrayFromHeap(out) as Float32Array).fill(0);
    const simd = patchKernels(backend);
    if (simd) {
      const geometry = patchGeometry(info, 0, B * OH * OW);
      simd.maxPoolGrad(heapOffset(backend, input), heapOffset(backend, dy), heapOffset(backend, out), geometry);
      return out;
    }
    const X = backend.typedArrayFromHeap(input) as Float32Array;
    const DY = backend.typedArrayFromHeap(dy) as Float32Array;
    const DX = backend.typedArrayFromHeap(out) as Float32Array;
    // Per window, all channels at once (contiguous reads): the first position of each channel's maximum.
    const best = new Float32Array(C);
    const at = new Int32Array(C);
    for (let b = 0; b < B; b++) {
      for (let oy = 0; oy < OH; oy++) {
        const y0 = oy * sh - top;
        for (let ox = 0; ox < OW; ox++) {
          const x0 = ox * sw - left;
          at.fill(-1);
          for (let fy = 0; fy < FH; fy++) {
            const y = y0 + fy;
            if (y < 0 || y >= H) continue;
            for (let fx = 0; fx < FW; fx++) {
              const xx = x0 + fx;
              if (xx < 0 || xx >= W) continue;
              const base = ((b * H + y) * W + xx) * C;
              for (let c = 0; c < C; c++) {
                const v = X[base + c]!;
                if (at[c]! < 0 || v > best[c]!) {
                  best[c] = v;
                  at[c] = base + c;
                }
              }
            }
          }
          const dyBase = ((b * OH + oy) * OW + ox) * C;
          for (let c = 0; c < C; c++) {
            const index = at[c]!;
            if (index >= 0) DX[index] = DX[index]! + DY[dyBase + c]!;
          }
        }
      }
    }
    return out;
  };
  fast[ORIGINAL] = stock;
  return fast;
}
