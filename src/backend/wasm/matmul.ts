/**
 * Matrix products (`BatchMatMul`, `_FusedMatMul`) for the TF.js wasm backend.
 *
 * Why this exists (measured on this project's machine, Node 20, tfjs 4.22, wasm + SIMD, one thread):
 *
 * The wasm backend's C++ `batchMatMul` (shared by the `BatchMatMul` and `_FusedMatMul` kernels) only uses
 * XNNPACK's fully-connected operator when neither `transposeA` nor `transposeB` is set and both batch
 * sizes are 1. Every other call falls back to a naive blocked triple loop:
 *
 *   256×784 · 784×256, plain ......................   5 ms
 *   same with transposeB / transposeA .............  74 / 133 ms
 *   explicit tf.transpose, then plain matMul ......  10 ms (transpose + XNNPACK weight packing included)
 *   tf.fused.matMul with transposeB / transposeA ..  87 / 138 ms (plain: 8 ms)
 *
 * The gradient of every dense layer (`dW = xᵀ·dy`, `dx = dy·Wᵀ`) is a matMul with a transpose flag, so
 * a training step spends almost all its time in the slow loop (plain MLP step: 193 ms stock, 30 ms with
 * this override, same loss to 1e-7).
 *
 * The override re-registers the two wasm kernels. First choice, for float32 products (and fused ones with a bias
 * and a linear or relu activation): the project's own WebAssembly SIMD kernels (backend/simd/gemm.ts), run on the
 * backend's heap. They read a transposed A in place, pack a flagged B into panels from where it lies (or transpose it
 * first when n is not a multiple of 8 or the product is too small to pack), address batch entries in place
 * (numpy broadcasting), and pack B into cache-friendly panels themselves, so they also avoid XNNPACK's repacking of
 * the weights on every training step (they change every step): 256×784·784×256 ~3.3–4 ms against 5.4 ms for XNNPACK
 * with fresh weights; xᵀ·dy for the same layer ~3.5 ms against ~6.4 ms transpose + XNNPACK. Same summation order as
 * XNNPACK (in k, float32 multiply then add), so the same numbers. `setSimdKernelsEnabled(false)` (backend.ts), or a
 * runtime without WebAssembly SIMD, leaves the XNNPACK way below:
 *  - when the (broadcast) batch size is 1: runs the wasm `Transpose` kernel on each flagged input
 *    (swapping its last two axes), then calls the stock kernel with the flags cleared, so it takes the
 *    XNNPACK path, and frees the transposed intermediates;
 *  - when the batch size is > 1 (the stock kernel then always loops, flags or not): transposes flagged
 *    inputs the same way, then runs the stock kernel once per batch entry on [1, m, k] · [1, k, n] copies
 *    (XNNPACK path) and writes the results into one output (8×256×256 · 8×256×256: ~300 ms stock → ~23 ms;
 *    8×512×100 · 8×100×64: 45 → 4.4 ms).
 * Tiny `BatchMatMul` products are left to the stock kernel, where the extra transpose, copies and XNNPACK
 * weight packing cost more than the loop (see {@link shouldTranspose} / {@link shouldSplit}; all such
 * cases take < 0.2 ms).
 *
 * `_FusedMatMul` always avoids the stock loop, whatever the size, because that loop is also wrong
 * (checked against the cpu backend): it indexes the bias by flat output position instead of by column
 * (so every row after the first gets the last bias value), and adds the bias and applies the relu/relu6
 * clamp once per 48-wide block of the inner dimension (wrong for k > 48). The stock XNNPACK path also
 * reads n bias values when given a one-value bias; the override widens such a bias to n values first.
 * So with the override, fused products with transposes or a batch are not only faster but correct.
 *
 * Empty operands never reach the stock kernel: with no rows (or columns, or batch entries) it reads out of bounds in
 * XNNPACK, and over an empty inner dimension it returns heap garbage instead of 0 (see {@link emptyProduct},
 * {@link withOneZeroTerm}). Anything else (non-float32 inputs, shape errors, a non-rank-1 bias, PReLU weights that do
 * not repeat within one batch entry) goes to the stock kernel unchanged, so errors and edge-case
 * behaviour stay the stock ones. Batch dims broadcast as in numpy; a batch where both sides broadcast
 * ([2,1,m,k]·[1,3,k,n]) is always split, because the stock kernel (and tfjs 4.22's cpu one) computes only
 * max(batchA, batchB) = 3 of its 6 entries.
 */
import type { tf } from '../../tf.js';
import { packedBytes } from '../simd/gemm.js';
import type { SimdKernels } from '../simd/module.js';
import {
  heapOffset,
  ORIGINAL,
  simdOf,
  sizeOf,
  transposeLastTwo,
  type FastKernelFunc,
  type WasmBackendLike,
} from './backend.js';
import { emptyProduct, withOneZeroTerm } from './empty-products.js';

/**
 * Whether a batch-1 product [m×k]·[k×n] with a transpose flag goes the transpose-then-XNNPACK way.
 * Measured: below m·k·n = 32768 both ways take < 0.2 ms; with transposeB and m < 8 (a few rows times a
 * transposed matrix) transposing and packing the k×n weights costs more than the stock loop
 * (1×784 · (256×784)ᵀ: 0.7 ms stock, 1.8 ms transposed), while from m = 8 on it wins (0.5 → 0.26 ms).
 */
export function shouldTranspose(m: number, k: number, n: number, transposeB: boolean): boolean {
  return m * k * n >= 32768 && (!transposeB || m >= 8);
}

/**
 * Whether a batched (batch > 1) product of [m×k]·[k×n] entries is split into per-entry XNNPACK calls.
 * Measured: from m ≥ 16 and m·k·n ≥ 16384 the split wins (16×64×16·16×16×16: 0.61 → 0.41 ms;
 * 16×32×256·16×256×64: 11 → 3.8 ms); with fewer rows the per-entry copies and weight packing dominate
 * (16×1×256·16×256×256: 3.0 → 9.0 ms).
 */
export function shouldSplit(m: number, k: number, n: number): boolean {
  return m >= 16 && m * k * n >= 16384;
}

/** numpy-style broadcast of two outer (batch) shapes; null when incompatible. */
function broadcastShapes(s1: readonly number[], s2: readonly number[]): number[] | null {
  const rank = Math.max(s1.length, s2.length);
  const out: number[] = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const d1 = s1[s1.length - rank + i] ?? 1;
    const d2 = s2[s2.length - rank + i] ?? 1;
    if (d1 !== d2 && d1 !== 1 && d2 !== 1) return null;
    out[i] = d1 === 1 ? d2 : d1;
  }
  return out;
}

/**
 * For each entry of the flattened broadcast batch `outer`, the flat batch index into an operand whose
 * batch shape is `own` (numpy broadcasting: `own` is left-padded with 1s, size-1 dims repeat).
 */
function broadcastIndex(outer: readonly number[], own: readonly number[]): Int32Array {
  const rank = outer.length;
  const padded = [...new Array<number>(rank - own.length).fill(1), ...own];
  const strides = new Array<number>(rank).fill(0);
  for (let d = rank - 1, s = 1; d >= 0; d--) {
    strides[d] = padded[d] === 1 ? 0 : s;
    s *= padded[d]!;
  }
  const total = sizeOf(outer);
  const index = new Int32Array(total);
  const pos = new Array<number>(rank).fill(0);
  for (let i = 0; i < total; i++) {
    let flat = 0;
    for (let d = 0; d < rank; d++) flat += pos[d]! * strides[d]!;
    index[i] = flat;
    for (let d = rank - 1; d >= 0; d--) {
      if (++pos[d]! < outer[d]!) break;
      pos[d] = 0;
    }
  }
  return index;
}

/** A new [1, rows, cols] float32 tensor holding entry `index` of the flattened batch of `src`. */
function copyBatchEntry(
  src: tf.TensorInfo,
  index: number,
  rows: number,
  cols: number,
  backend: WasmBackendLike,
): tf.TensorInfo {
  const sub = backend.makeOutput([1, rows, cols], 'float32');
  const size = rows * cols;
  // Views are taken after the allocation above: a malloc may grow (and replace) the wasm heap.
  const from = backend.typedArrayFromHeap(src).subarray(index * size, (index + 1) * size);
  backend.typedArrayFromHeap(sub).set(from);
  return sub;
}

interface MatMulShape {
  a: tf.TensorInfo;
  b: tf.TensorInfo;
  m: number;
  k: number;
  n: number;
  transposeA: boolean;
  transposeB: boolean;
  outer: number[];
  outerA: number[];
  outerB: number[];
  fused: boolean;
}

/**
 * The product on the project's SIMD kernels (backend/simd/gemm.ts): no weight packing, transposed A read in place,
 * batch entries addressed in place (numpy broadcasting). A transposed B (a dense layer's input gradient, dy·Wᵀ) is
 * packed into panels straight from where it lies, or transposed first where the product does not pack it. Fused
 * calls: bias and linear/relu only; undefined for anything else (prelu, leaky relu, sigmoid, elu, relu6, a bias of
 * another shape), which goes the XNNPACK way.
 */
function simdMatMul(
  simd: SimdKernels,
  args: Parameters<tf.KernelFunc>[0],
  shape: MatMulShape,
): tf.TensorInfo | undefined {
  const backend = args.backend as WasmBackendLike;
  const { a, b, m, k, n, transposeA, transposeB, outer, outerA, outerB, fused } = shape;
  let bias: tf.TensorInfo | undefined;
  let relu = false;
  if (fused) {
    const activation = (args.attrs?.['activation'] as string | undefined) ?? 'linear';
    if (activation !== 'linear' && activation !== 'relu') return undefined;
    relu = activation === 'relu';
    const given = args.inputs['bias'];
    if (given !== undefined && given !== null) {
      if (given.dtype !== 'float32' || given.shape.length !== 1 || (given.shape[0] !== n && given.shape[0] !== 1))
        return undefined;
      bias = given;
    }
  }
  // Packing B's panels pays off once enough rows reuse them (measured: 256×784·784×256 5.4 → 4.1 ms; below 16 rows
  // the copy costs more than it saves).
  const scratchBytes = m >= 16 ? packedBytes(m, k, n) : 0;
  // A flagged B is packed into panels straight from where it lies when every column is in a panel; otherwise the
  // edge tiles need it transposed first ([...outerB, k, n]).
  const packsTransposed = transposeB && scratchBytes > 0 && n % 8 === 0;
  const bStored = transposeB && !packsTransposed ? transposeLastTwo(b, backend) : b;
  const scratch = scratchBytes > 0 ? backend.makeOutput([Math.ceil(scratchBytes / 4)], 'float32') : undefined;
  try {
    const out = backend.makeOutput([...outer, m, n], 'float32');
    // Offsets after the allocations (a malloc may grow the heap; offsets stay valid, views would not).
    const aBase = heapOffset(backend, a);
    const bBase = heapOffset(backend, bStored);
    const cBase = heapOffset(backend, out);
    const packed = scratch ? heapOffset(backend, scratch) : undefined;
    const batch = sizeOf(outer);
    const single = batch === 1;
    const indexA = single ? undefined : broadcastIndex(outer, outerA);
    const indexB = single ? undefined : broadcastIndex(outer, outerB);
    for (let i = 0; i < batch; i++) {
      simd.gemm({
        layout: transposeA ? 'tn' : 'nn',
        a: aBase + (indexA?.[i] ?? 0) * m * k * 4,
        b: bBase + (indexB?.[i] ?? 0) * k * n * 4,
        c: cBase + i * m * n * 4,
        m,
        k,
        n,
        ...(packed !== undefined ? { packed } : {}),
        ...(packsTransposed ? { transposedB: true } : {}),
      });
    }
    if (bias !== undefined || relu) {
      simd.biasActivation({
        c: cBase,
        bias: bias ? heapOffset(backend, bias) : 0,
        rows: batch * m,
        n,
        scalarBias: bias !== undefined && bias.shape[0] === 1 && n !== 1,
        relu,
      });
    }
    return out;
  } finally {
    if (bStored !== b) backend.disposeData(bStored.dataId);
    if (scratch !== undefined) backend.disposeData(scratch.dataId);
  }
}

export function makeFastMatMul(stock: tf.KernelConfig, fused: boolean): FastKernelFunc {
  const stockFunc = stock.kernelFunc;
  const fast: FastKernelFunc = (args) => {
    const { inputs, attrs } = args;
    const backend = args.backend as WasmBackendLike;
    const a = inputs['a'];
    const b = inputs['b'];
    if (a === undefined || b === undefined || attrs === undefined) return stockFunc(args);
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return stockFunc(args);
    const ra = a.shape.length;
    const rb = b.shape.length;
    if (ra < 2 || rb < 2) return stockFunc(args);
    const transposeA = attrs['transposeA'] === true;
    const transposeB = attrs['transposeB'] === true;

    const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
    const kA = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
    const kB = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
    const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
    if (kA !== kB) return stockFunc(args); // let the stock kernel report the shape error

    const outerA = a.shape.slice(0, -2);
    const outerB = b.shape.slice(0, -2);
    const outer = broadcastShapes(outerA, outerB);
    if (outer === null) return stockFunc(args);
    const batchA = sizeOf(outerA);
    const batchB = sizeOf(outerB);
    const batch = sizeOf(outer);
    if (batch === 0 || m === 0 || n === 0) return emptyProduct(stockFunc, args, [...outer, m, n], fused);
    if (kA === 0) return withOneZeroTerm(fast, args, { transposeA, transposeB });

    const simd = simdOf(backend);
    if (simd !== undefined) {
      const result = simdMatMul(simd, args, {
        a,
        b,
        m,
        k: kA,
        n,
        transposeA,
        transposeB,
        outer,
        outerA,
        outerB,
        fused,
      });
      if (result !== undefined) return result;
    }

    const temps: tf.TensorInfo[] = [];
    let out: tf.TensorInfo | undefined;
    try {
      let fusedInputs: tf.NamedTensorInfoMap = inputs;
      if (fused) {
        const bias = inputs['bias'];
        if (bias !== undefined && bias !== null) {
          if (bias.shape.length !== 1) return stockFunc(args); // stock error message
          const biasSize = bias.shape[0]!;
          if (biasSize === 1 && n !== 1) {
            // XNNPACK reads one bias value per output column: give it n copies of the single value.
            const wide = backend.makeOutput([n], 'float32');
            temps.push(wide);
            backend.typedArrayFromHeap(wide).fill(backend.typedArrayFromHeap(bias)[0]!);
            fusedInputs = { ...inputs, bias: wide };
          } else if (biasSize !== n) {
            return stockFunc(args);
          }
        }
      }
      const plainAttrs: tf.NamedAttrMap = { ...attrs, transposeA: false, transposeB: false };

      if (batch === 1) {
        // The stock fused loop is wrong (see the module comment), so fused calls always avoid it.
        if ((!transposeA && !transposeB) || (!fused && !shouldTranspose(m, kA, n, transposeB))) {
          return fusedInputs === inputs ? stockFunc(args) : stockFunc({ ...args, inputs: fusedInputs });
        }
        const a2 = transposeA ? transposeLastTwo(a, backend) : a;
        if (a2 !== a) temps.push(a2);
        const b2 = transposeB ? transposeLastTwo(b, backend) : b;
        if (b2 !== b) temps.push(b2);
        return stockFunc({ inputs: { ...fusedInputs, a: a2, b: b2 }, backend, attrs: plainAttrs });
      }

      // batch > 1: split into per-entry XNNPACK products when they are big enough (always, for fused
      // calls). PReLU weights must repeat within one entry's output for the per-entry activation to match.
      const prelu = inputs['preluActivationWeights'];
      const preluSplits = prelu === undefined || prelu === null || (m * n) % sizeOf(prelu.shape) === 0;
      // The stock kernel only computes max(batchA, batchB) entries, which is wrong when both sides
      // broadcast ([2,1,…]·[1,3,…]); always split those.
      const stockBroadcastOk = (batchA === batch || batchA === 1) && (batchB === batch || batchB === 1);
      if (!(fused || !stockBroadcastOk || shouldSplit(m, kA, n)) || !preluSplits) {
        return fusedInputs === inputs ? stockFunc(args) : stockFunc({ ...args, inputs: fusedInputs });
      }
      const indexA = broadcastIndex(outer, outerA);
      const indexB = broadcastIndex(outer, outerB);

      const aC = transposeA ? transposeLastTwo(a, backend) : a; // [...outerA, m, k]
      if (aC !== a) temps.push(aC);
      const bC = transposeB ? transposeLastTwo(b, backend) : b; // [...outerB, k, n]
      if (bC !== b) temps.push(bC);
      out = backend.makeOutput([...outer, m, n], 'float32');
      const outSize = m * n;
      // A side with batch 1 is copied once and reused (for b this also keeps XNNPACK's packed weights).
      const aShared = batchA === 1 ? copyBatchEntry(aC, 0, m, kA, backend) : undefined;
      if (aShared !== undefined) temps.push(aShared);
      const bShared = batchB === 1 ? copyBatchEntry(bC, 0, kA, n, backend) : undefined;
      if (bShared !== undefined) temps.push(bShared);
      for (let i = 0; i < batch; i++) {
        const entryTemps: tf.TensorInfo[] = [];
        try {
          const aSub = aShared ?? copyBatchEntry(aC, indexA[i]!, m, kA, backend);
          if (aSub !== aShared) entryTemps.push(aSub);
          const bSub = bShared ?? copyBatchEntry(bC, indexB[i]!, kA, n, backend);
          if (bSub !== bShared) entryTemps.push(bSub);
          const subOut = stockFunc({
            inputs: { ...fusedInputs, a: aSub, b: bSub },
            backend,
            attrs: plainAttrs,
          }) as tf.TensorInfo;
          entryTemps.push(subOut);
          backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(subOut).subarray(0, outSize), i * outSize);
        } finally {
          for (const t of entryTemps) backend.disposeData(t.dataId);
        }
      }
      const result = out;
      out = undefined;
      return result;
    } finally {
      if (out !== undefined) backend.disposeData(out.dataId); // only reached on an error
      for (const t of temps) backend.disposeData(t.dataId);
    }
  };
  fast[ORIGINAL] = stock;
  return fast;
}
