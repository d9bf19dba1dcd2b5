/**
 * What the convolution kernels (conv.ts, max-pool-grad.ts) share: the switch between the wasm patch kernels and the JS
 * loops, the geometry both sides read, and a product on the SIMD GEMM with packed panels.
 */
import { tf } from '../../tf.js';
import { packedBytes } from '../simd/gemm.js';
import type { SimdKernels } from '../simd/module.js';
import type { PatchGeometry } from '../simd/patches.js';
import { heapOffset, simdOf, type WasmBackendLike } from './backend.js';

/** Patch rows per chunk times their width stays under this many floats (~4 MB). */
export const IM2COL_MAX_ELEMENTS = 1 << 20;

/**
 * Which way the patch work runs: in wasm (simd/patches.ts, the default where the project's SIMD kernels run), or the
 * JS loops it replaced and the stock forward convolution (kept for runtimes without WebAssembly SIMD, and as the
 * reference test/conv-patches.test.ts compares with).
 */
export const convPaths = { wasmPatches: true };

/** The patch kernels, or undefined where the JS loops run. */
export function patchKernels(backend: WasmBackendLike): SimdKernels | undefined {
  return convPaths.wasmPatches ? simdOf(backend) : undefined;
}

/** The wasm kernels' geometry of output positions n0 … n0+n−1 (batch, row, column order). */
export function patchGeometry(info: tf.backend_util.Conv2DInfo, n0: number, n: number): PatchGeometry {
  const perImage = info.outHeight * info.outWidth;
  const b0 = Math.floor(n0 / perImage);
  const rest = n0 - b0 * perImage;
  const oy0 = Math.floor(rest / info.outWidth);
  return {
    b0,
    oy0,
    ox0: rest - oy0 * info.outWidth,
    count: n,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    channels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

/** C (m×n) = product on the SIMD kernels, with B's panels packed in scratch when enough rows reuse them. */
export function simdProduct(
  simd: SimdKernels,
  backend: WasmBackendLike,
  product: { layout: 'nn' | 'tn'; a: number; b: number; c: number; m: number; k: number; n: number; lda: number },
): void {
  // As the BatchMatMul override (wasm/matmul.ts) decides: packing pays off from 16 rows on; it never changes a value.
  const scratch =
    product.m >= 16
      ? backend.makeOutput([Math.ceil(packedBytes(product.m, product.k, product.n) / 4)], 'float32')
      : undefined;
  try {
    simd.gemm({ ...product, ...(scratch ? { packed: heapOffset(backend, scratch) } : {}) });
  } finally {
    if (scratch) backend.disposeData(scratch.dataId);
  }
}

export type ConvAttrs = {
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

/** The shape facts both convolution gradients need (channels-last). */
export function convGeometry(
  inputShape: readonly number[],
  filterShape: readonly number[],
  attrs: ConvAttrs,
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    inputShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}

/**
 * Walks the patches of output positions n0 … n0+n−1: for each row r and filter tap (fy, fx) it calls
 * `visit(r, k0, base)` with k0 = (fy·FW + fx)·Cin, the tap's first column in a patch, and `base`, the flat index of
 * input pixel (b, oy·sh + fy − padTop, ox·sw + fx − padLeft, 0), or −1 where the tap falls in the zero padding.
 * Shared by im2col (filter gradient) and col2im (input gradient) so both read the same geometry.
 */
export function forEachPatchTap(
  info: tf.backend_util.Conv2DInfo,
  n0: number,
  n: number,
  visit: (r: number, k0: number, base: number) => void,
): void {
  const {
    inHeight: H,
    inWidth: W,
    inChannels: Cin,
    outHeight: OH,
    outWidth: OW,
    strideHeight: sh,
    strideWidth: sw,
    filterHeight: FH,
    filterWidth: FW,
  } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  for (let r = 0; r < n; r++) {
    const g = n0 + r;
    const b = Math.floor(g / (OH * OW));
    const rest = g - b * OH * OW;
    const oy = Math.floor(rest / OW);
    const ox = rest - oy * OW;
    for (let fy = 0; fy < FH; fy++) {
      const y = oy * sh + fy - top;
      const rowInside = y >= 0 && y < H;
      for (let fx = 0; fx < FW; fx++) {
        const xx = ox * sw + fx - left;
        visit(r, (fy * FW + fx) * Cin, rowInside && xx >= 0 && xx < W ? ((b * H + y) * W + xx) * Cin : -1);
      }
    }
  }
}

/** A convolution's product sizes: K = FH·FW·Cin values per patch, N output positions, Cout output channels. */
export function patchSizes(info: tf.backend_util.Conv2DInfo): { K: number; N: number; Cout: number } {
  return {
    K: info.filterHeight * info.filterWidth * info.inChannels,
    N: info.batchSize * info.outHeight * info.outWidth,
    Cout: info.outChannels,
  };
}
