/**
 * Convolutions (`Conv2D`, `Conv2DBackpropFilter`, `Conv2DBackpropInput`) for the TF.js wasm backend.
 *
 * tfjs-backend-wasm 4.22 registers no `Conv2DBackpropFilter`, so the gradient of `tf.conv2d` / `tf.fused.conv2d` with
 * respect to the kernel throws on wasm; this module adds it. The stock `Conv2DBackpropInput` is right but a plain loop
 * (two thirds of a conv training step); the override is a matrix product and a col2im scatter. The stock `Conv2D`
 * (XNNPACK) is replaced by im2col and the project's GEMM, the same sums in the same order. Where the project's SIMD
 * kernels run, the patch work (im2col, col2im) is wasm (simd/patches.ts) and the products the SIMD GEMM, reading dy
 * and the filter where they lie; elsewhere JS loops build the patches and the registered `BatchMatMul` multiplies.
 */
import type { tf } from '../../tf.js';
import type { SimdKernels } from '../simd/module.js';
import {
  heapOffset,
  lookupKernel,
  ORIGINAL,
  sizeOf,
  transposeLastTwo,
  type FastKernelFunc,
  type WasmBackendLike,
} from './backend.js';
import {
  type ConvAttrs,
  convGeometry,
  forEachPatchTap,
  IM2COL_MAX_ELEMENTS,
  patchGeometry,
  patchKernels,
  patchSizes,
  simdProduct,
} from './conv-common.js';

/**
 * `Conv2D` on the wasm kernels: per chunk of output positions, the patch rows P [n, K] (im2col in wasm) times the
 * filter as a [K, Cout] matrix (the SIMD GEMM), written straight into the output rows. The stock kernel (XNNPACK's
 * convolution) sums each output over the taps in (fy, fx, c) order, one float32 multiply and add at a time, and so does
 * this product: the same values bit for bit on the plain path (test/conv-patches.test.ts); the FMA path fuses them as
 * its dense products do. Dilated, channels-first or non-float32 calls, and runtimes without SIMD, go to the stock
 * kernel.
 */
export function makeFastConv2D(stock: tf.KernelConfig): FastKernelFunc {
  const fast: FastKernelFunc = (args) => {
    const { x, filter } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const attrs = args.attrs as (ConvAttrs & { dilations?: number | [number, number] }) | undefined;
    const backend = args.backend as WasmBackendLike;
    const simd = patchKernels(backend);
    const dilations = attrs?.dilations ?? 1;
    if (
      !simd ||
      !x ||
      !filter ||
      !attrs ||
      x.dtype !== 'float32' ||
      filter.dtype !== 'float32' ||
      x.shape.length !== 4 ||
      filter.shape.length !== 4 ||
      (attrs.dataFormat ?? 'NHWC') !== 'NHWC' ||
      (typeof dilations === 'number' ? dilations !== 1 : dilations.some((d) => d !== 1))
    ) {
      return stock.kernelFunc(args);
    }
    const info = convGeometry(x.shape, filter.shape, attrs);
    const { K, N, Cout } = patchSizes(info);
    if (info.inChannels !== x.shape[3] || filter.shape[3] !== Cout) return stock.kernelFunc(args);
    const out = backend.makeOutput([info.batchSize, info.outHeight, info.outWidth, Cout], 'float32');
    if (N === 0 || Cout === 0) return out;
    if (K === 0) {
      (backend.typedArrayFromHeap(out) as Float32Array).fill(0);
      return out;
    }
    const chunk = Math.max(1, Math.floor(IM2COL_MAX_ELEMENTS / K));
    for (let n0 = 0; n0 < N; n0 += chunk) {
      const n = Math.min(chunk, N - n0);
      const patches = backend.makeOutput([n, K], 'float32');
      try {
        simd.im2col(heapOffset(backend, x), heapOffset(backend, patches), patchGeometry(info, n0, n));
        simdProduct(simd, backend, {
          layout: 'nn',
          a: heapOffset(backend, patches),
          b: heapOffset(backend, filter),
          c: heapOffset(backend, out) + n0 * Cout * 4,
          m: n,
          k: K,
          n: Cout,
          lda: K,
        });
      } finally {
        backend.disposeData(patches.dataId);
      }
    }
    return out;
  };
  fast[ORIGINAL] = stock;
  return fast;
}

/** The kernel this module adds for the filter gradient of a 2-D convolution (the wasm backend has none). */
export const CONV2D_FILTER_GRAD_KERNEL = 'Conv2DBackpropFilter';

/**
 * ∂L/∂W of a 2-D convolution, `Conv2DBackpropFilter` (inputs `x` [B, H, W, Cin] and `dy` [B, OH, OW, Cout]; output
 * the filter shape [FH, FW, Cin, Cout]), which tfjs-backend-wasm 4.22 does not register, so without it no
 * convolution could be trained on wasm:
 *
 *   dW[fy, fx, c, o] = Σ_{b, oy, ox} x[b, oy·sh + fy − padTop, ox·sw + fx − padLeft, c] · dy[b, oy, ox, o]
 *
 * (out-of-range x reads are the zero padding). Computed as one matrix product per chunk of output positions, summed
 * over chunks: on the SIMD kernels the patch rows P [n, FH·FW·Cin] (im2col in wasm) and Pᵀ·dy (see
 * {@link filterGradientOnSimd}); elsewhere the patch matrix P [FH·FW·Cin, n] built in JS straight from the heap times
 * dy's rows [n, Cout] through the registered `BatchMatMul`. Channels-last only (what this project uses); channels-first
 * throws.
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
  const { K, N, Cout } = patchSizes(info);
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
 * per chunk of output positions: the SIMD GEMM on dy in place, elsewhere the registered `BatchMatMul`) and scatters
 * them back (col2im, in wasm or JS):
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
  const { K, N, Cout } = patchSizes(info);
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
