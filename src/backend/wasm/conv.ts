/**
 * Convolution gradients (`Conv2DBackpropFilter`, `Conv2DBackpropInput`, `MaxPoolGrad`) for the TF.js wasm backend.
 *
 * Convolutions: tfjs-backend-wasm 4.22 registers no `Conv2DBackpropFilter`, so the gradient of `tf.conv2d` /
 * `tf.fused.conv2d` with respect to the kernel throws on wasm; this module adds it (im2col patches built in JS, then
 * one XNNPACK matrix product per chunk; equal to the cpu backend's up to float32 summation order). And the stock
 * `MaxPoolGrad` sends gradients to wrong input positions for many shapes (e.g. a 6×6 input with a 2×2 window, and every
 * `same`-padded case tried; 4×4 happens to be right); the override routes each window's gradient to the first
 * position of its maximum, as the cpu backend does (bit-identical to it where windows do not overlap). The stock
 * `Conv2DBackpropInput` is right but a plain loop (two thirds of a conv training step); the override is a matrix
 * product (XNNPACK) and a col2im scatter.
 */
import * as tf from '@tensorflow/tfjs';
import { packedBytes } from '../simd/gemm.js';
import type { SimdKernels } from '../simd/module.js';
import type { PatchGeometry } from '../simd/patches.js';
import {
  heapOffset,
  lookupKernel,
  ORIGINAL,
  simdOf,
  sizeOf,
  transposeLastTwo,
  type FastKernelFunc,
  type WasmBackendLike,
} from './backend.js';

/**
 * Which way the patch work runs: `wasm` (simd/patches.ts, the default where the project's SIMD kernels run) or the JS
 * loops it replaced (kept for runtimes without WebAssembly SIMD, and as the reference the equality test compares with).
 */
export const convPaths = { wasmPatches: true };

/** The patch kernels, or undefined where the JS loops run. */
function patchKernels(backend: WasmBackendLike): SimdKernels | undefined {
  return convPaths.wasmPatches ? simdOf(backend) : undefined;
}

/** The wasm kernels' geometry of output positions n0 … n0+n−1 (batch, row, column order). */
function patchGeometry(info: tf.backend_util.Conv2DInfo, n0: number, n: number): PatchGeometry {
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
function simdProduct(
  simd: SimdKernels,
  backend: WasmBackendLike,
  product: { layout: 'nn' | 'tn'; a: number; b: number; c: number; m: number; k: number; n: number; lda: number },
): void {
  // As the BatchMatMul override (wasm/matmul.ts) decides: packing pays off from 16 rows on; it never changes a value.
  const scratch =
    product.m >= 16 ? backend.makeOutput([Math.ceil(packedBytes(product.k, product.n) / 4)], 'float32') : undefined;
  try {
    simd.gemm({ ...product, ...(scratch ? { packed: heapOffset(backend, scratch) } : {}) });
  } finally {
    if (scratch) backend.disposeData(scratch.dataId);
  }
}

type ConvAttrs = {
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

/** The shape facts both convolution gradients need (channels-last). */
function convGeometry(
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
function forEachPatchTap(
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

/** The kernel this module adds for the filter gradient of a 2-D convolution (the wasm backend has none). */
export const CONV2D_FILTER_GRAD_KERNEL = 'Conv2DBackpropFilter';

/** Im2col columns per chunk of {@link conv2dBackpropFilter}: the patch matrix stays under ~4 MB. */
const IM2COL_MAX_ELEMENTS = 1 << 20;

/**
 * ∂L/∂W of a 2-D convolution, `Conv2DBackpropFilter` (inputs `x` [B, H, W, Cin] and `dy` [B, OH, OW, Cout]; output
 * the filter shape [FH, FW, Cin, Cout]), which tfjs-backend-wasm 4.22 does not register, so without it no
 * convolution could be trained on wasm:
 *
 *   dW[fy, fx, c, o] = Σ_{b, oy, ox} x[b, oy·sh + fy − padTop, ox·sw + fx − padLeft, c] · dy[b, oy, ox, o]
 *
 * (out-of-range x reads are the zero padding). Computed as one matrix product per chunk of output positions: the
 * patch matrix P [FH·FW·Cin, n] (im2col, built in JS straight from the heap) times dy's rows [n, Cout], through the
 * registered `BatchMatMul` kernel (plain, batch 1: the XNNPACK path), summed over chunks. Channels-last only (what
 * this project uses); channels-first throws.
 */
export function conv2dBackpropFilter(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { x, dy } = args.inputs as Record<string, tf.TensorInfo>;
  const backend = args.backend as WasmBackendLike;
  const attrs = (args.attrs ?? {}) as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
  if (!x || !dy) throw new Error(`${CONV2D_FILTER_GRAD_KERNEL}: needs x and dy`);
  if (x.dtype !== 'float32' || dy.dtype !== 'float32')
    throw new Error(`${CONV2D_FILTER_GRAD_KERNEL}: float32 inputs expected`);
  if ((attrs.dataFormat ?? 'NHWC') !== 'NHWC')
    throw new Error(`${CONV2D_FILTER_GRAD_KERNEL} on wasm supports channels-last (NHWC) data only`);
  const info = convGeometry(x.shape, attrs.filterShape, attrs);
  const {
    batchSize: B,
    inChannels: Cin,
    outHeight: OH,
    outWidth: OW,
    outChannels: Cout,
    filterHeight: FH,
    filterWidth: FW,
  } = info;
  if (sizeOf(dy.shape) !== B * OH * OW * Cout)
    throw new Error(`${CONV2D_FILTER_GRAD_KERNEL}: dy has shape [${dy.shape}], expected [${B},${OH},${OW},${Cout}]`);
  const matMul = lookupKernel('BatchMatMul');
  if (matMul === undefined) throw new Error("wasm-kernels: the wasm 'BatchMatMul' kernel is not registered");
  const K = FH * FW * Cin;
  const N = B * OH * OW;
  const out = backend.makeOutput([FH, FW, Cin, Cout], 'float32');
  (backend.typedArrayFromHeap(out) as Float32Array).fill(0);
  if (K === 0 || N === 0 || Cout === 0) return out;
  const chunk = Math.max(1, Math.floor(IM2COL_MAX_ELEMENTS / K));
  const simd = patchKernels(backend);
  if (simd) {
    filterGradientOnSimd(simd, backend, info, x, dy, out, chunk);
    return out;
  }
  for (let n0 = 0; n0 < N; n0 += chunk) {
    const n = Math.min(chunk, N - n0);
    const temps: tf.TensorInfo[] = [];
    try {
      const patches = backend.makeOutput([1, K, n], 'float32');
      temps.push(patches);
      const rows = backend.makeOutput([1, n, Cout], 'float32');
      temps.push(rows);
      // Views after the allocations (a malloc may grow the heap).
      const X = backend.typedArrayFromHeap(x) as Float32Array;
      const P = backend.typedArrayFromHeap(patches) as Float32Array;
      (backend.typedArrayFromHeap(rows) as Float32Array).set(
        (backend.typedArrayFromHeap(dy) as Float32Array).subarray(n0 * Cout, (n0 + n) * Cout),
      );
      // im2col: P[(k0 + c), r] = x at the tap's pixel, 0 in the padding.
      forEachPatchTap(info, n0, n, (r, k0, base) => {
        if (base >= 0) for (let c = 0; c < Cin; c++) P[(k0 + c) * n + r] = X[base + c]!;
        else for (let c = 0; c < Cin; c++) P[(k0 + c) * n + r] = 0;
      });
      const product = matMul.kernelFunc({
        inputs: { a: patches, b: rows },
        backend: args.backend as never,
        attrs: { transposeA: false, transposeB: false },
      }) as tf.TensorInfo;
      temps.push(product);
      const dst = backend.typedArrayFromHeap(out) as Float32Array;
      const src = backend.typedArrayFromHeap(product) as Float32Array;
      if (n0 === 0) dst.set(src.subarray(0, K * Cout));
      else for (let i = 0; i < K * Cout; i++) dst[i] = dst[i]! + src[i]!;
    } finally {
      for (const t of temps) backend.disposeData(t.dataId);
    }
  }
  return out;
}

/**
 * The filter gradient on the wasm kernels: per chunk, the patch rows P [n, K] (im2col in wasm) and dW = Pᵀ·dy read in
 * place (the `tn` product, dy's rows straight from its tensor). Each output sums over positions in order, as the
 * `nn` product of the JS path's P [K, n] does, and later chunks are added as there, so the values are the same.
 */
function filterGradientOnSimd(
  simd: SimdKernels,
  backend: WasmBackendLike,
  info: tf.backend_util.Conv2DInfo,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  out: tf.TensorInfo,
  chunk: number,
): void {
  const K = info.filterHeight * info.filterWidth * info.inChannels;
  const N = info.batchSize * info.outHeight * info.outWidth;
  const Cout = info.outChannels;
  for (let n0 = 0; n0 < N; n0 += chunk) {
    const n = Math.min(chunk, N - n0);
    const temps: tf.TensorInfo[] = [];
    try {
      const patches = backend.makeOutput([n, K], 'float32');
      temps.push(patches);
      const partial = n0 === 0 ? out : backend.makeOutput([K, Cout], 'float32');
      if (partial !== out) temps.push(partial);
      simd.im2col(heapOffset(backend, x), heapOffset(backend, patches), patchGeometry(info, n0, n));
      simdProduct(simd, backend, {
        layout: 'tn',
        a: heapOffset(backend, patches),
        b: heapOffset(backend, dy) + n0 * Cout * 4,
        c: heapOffset(backend, partial),
        m: K,
        k: n,
        n: Cout,
        lda: K,
      });
      if (partial !== out) {
        const dst = backend.typedArrayFromHeap(out) as Float32Array;
        const src = backend.typedArrayFromHeap(partial) as Float32Array;
        for (let i = 0; i < K * Cout; i++) dst[i] = dst[i]! + src[i]!;
      }
    } finally {
      for (const t of temps) backend.disposeData(t.dataId);
    }
  }
}

/**
 * `Conv2DBackpropInput`, ∂L/∂x of a 2-D convolution (inputs `dy` [B, OH, OW, Cout] and `filter` [FH, FW, Cin, Cout];
 * output `inputShape`): the stock wasm kernel is a plain loop (8 ms for the multi-digits conv trunk's second layer at
 * batch 64, two thirds of the training step). The override computes the patch gradients P = dy · Wᵀ ([n, FH·FW·Cin]
 * per chunk of output positions, through the registered `BatchMatMul`: XNNPACK) and scatters them back (col2im):
 *
 *   dx[b, oy·sh + fy − padTop, ox·sw + fx − padLeft, c] += P[(b, oy, ox), (fy, fx, c)]   (in-range positions only)
 *
 * Equal to the stock kernel up to float32 summation order. Non-float32 or channels-first calls go to the stock kernel.
 */
export function makeFastConv2DBackpropInput(stock: tf.KernelConfig): FastKernelFunc {
  const fast: FastKernelFunc = (args) => {
    const { dy, filter } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const attrs = args.attrs as (ConvAttrs & { inputShape: [number, number, number, number] }) | undefined;
    if (
      !dy ||
      !filter ||
      !attrs ||
      dy.dtype !== 'float32' ||
      filter.dtype !== 'float32' ||
      (attrs.dataFormat ?? 'NHWC') !== 'NHWC'
    ) {
      return stock.kernelFunc(args);
    }
    const matMul = lookupKernel('BatchMatMul');
    if (matMul === undefined || filter.shape.length !== 4) return stock.kernelFunc(args);
    const info = convGeometry(attrs.inputShape, filter.shape, attrs);
    const {
      batchSize: B,
      inChannels: Cin,
      outHeight: OH,
      outWidth: OW,
      outChannels: Cout,
      filterHeight: FH,
      filterWidth: FW,
    } = info;
    if (sizeOf(dy.shape) !== B * OH * OW * Cout) return stock.kernelFunc(args);
    const backend = args.backend as WasmBackendLike;
    const K = FH * FW * Cin;
    const N = B * OH * OW;
    const out = backend.makeOutput([...attrs.inputShape], 'float32');
    (backend.typedArrayFromHeap(out) as Float32Array).fill(0);
    if (K === 0 || N === 0 || Cout === 0) return out;
    const weights: tf.TensorInfo = { dataId: filter.dataId, shape: [1, K, Cout], dtype: 'float32' };
    const chunk = Math.max(1, Math.floor(IM2COL_MAX_ELEMENTS / K));
    const simd = patchKernels(backend);
    if (simd) {
      inputGradientOnSimd(simd, backend, info, dy, weights, out, chunk);
      return out;
    }
    for (let n0 = 0; n0 < N; n0 += chunk) {
      const n = Math.min(chunk, N - n0);
      const temps: tf.TensorInfo[] = [];
      try {
        const rows = backend.makeOutput([1, n, Cout], 'float32');
        temps.push(rows);
        (backend.typedArrayFromHeap(rows) as Float32Array).set(
          (backend.typedArrayFromHeap(dy) as Float32Array).subarray(n0 * Cout, (n0 + n) * Cout),
        );
        const patches = matMul.kernelFunc({
          inputs: { a: rows, b: weights },
          backend: args.backend as never,
          attrs: { transposeA: false, transposeB: true },
        }) as tf.TensorInfo;
        temps.push(patches);
        const P = backend.typedArrayFromHeap(patches) as Float32Array;
        const DX = backend.typedArrayFromHeap(out) as Float32Array;
        // col2im: each in-range tap adds its patch gradient to the pixel it read.
        forEachPatchTap(info, n0, n, (r, k0, base) => {
          if (base < 0) return;
          const from = r * K + k0;
          for (let c = 0; c < Cin; c++) DX[base + c] = DX[base + c]! + P[from + c]!;
        });
      } finally {
        for (const t of temps) backend.disposeData(t.dataId);
      }
    }
    return out;
  };
  fast[ORIGINAL] = stock;
  return fast;
}

/**
 * The input gradient on the wasm kernels: the patch gradients dy·Wᵀ per chunk (the product the BatchMatMul override
 * runs for the JS path, on dy's rows in place), then col2im in wasm.
 */
function inputGradientOnSimd(
  simd: SimdKernels,
  backend: WasmBackendLike,
  info: tf.backend_util.Conv2DInfo,
  dy: tf.TensorInfo,
  weights: tf.TensorInfo,
  out: tf.TensorInfo,
  chunk: number,
): void {
  const K = info.filterHeight * info.filterWidth * info.inChannels;
  const N = info.batchSize * info.outHeight * info.outWidth;
  const Cout = info.outChannels;
  const transposed = transposeLastTwo(weights, backend); // [1, Cout, K]
  try {
    for (let n0 = 0; n0 < N; n0 += chunk) {
      const n = Math.min(chunk, N - n0);
      const patches = backend.makeOutput([n, K], 'float32');
      try {
        simdProduct(simd, backend, {
          layout: 'nn',
          a: heapOffset(backend, dy) + n0 * Cout * 4,
          b: heapOffset(backend, transposed),
          c: heapOffset(backend, patches),
          m: n,
          k: Cout,
          n: K,
          lda: Cout,
        });
        simd.col2im(heapOffset(backend, patches), heapOffset(backend, out), patchGeometry(info, n0, n));
      } finally {
        backend.disposeData(patches.dataId);
      }
    }
  } finally {
    backend.disposeData(transposed.dataId);
  }
}

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
      simd.maxPoolGrad(heapOffset(backend, input), heapOffset(backend, dy), heapOffset(backend, out), {
        b0: 0,
        oy0: 0,
        ox0: 0,
        count: B * OH * OW,
        inHeight: H,
        inWidth: W,
        channels: C,
        outHeight: OH,
        outWidth: OW,
        filterHeight: FH,
        filterWidth: FW,
        strideHeight: sh,
        strideWidth: sw,
        padTop: top,
        padLeft: left,
      });
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
