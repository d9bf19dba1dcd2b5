/**
 * Faster (and, for convolutions, missing or corrected) kernels for the TF.js wasm backend.
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
 * backend's heap. They read a transposed A in place, transpose a flagged B first, address batch entries in place
 * (numpy broadcasting), and pack B into cache-friendly panels themselves, so they also avoid XNNPACK's repacking of
 * the weights on every training step (they change every step): 256×784·784×256 ~3.3–4 ms against 5.4 ms for XNNPACK
 * with fresh weights; xᵀ·dy for the same layer ~3.5 ms against ~6.4 ms transpose + XNNPACK. Same summation order as
 * XNNPACK (in k, float32 multiply then add), so the same numbers. {@link setSimdKernelsEnabled}(false), or a runtime
 * without WebAssembly SIMD, leaves the XNNPACK way below:
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
 * Anything else (non-float32 inputs, shape errors, empty tensors, a non-rank-1 bias, PReLU weights that do
 * not repeat within one batch entry) goes to the stock kernel unchanged, so errors and edge-case
 * behaviour stay the stock ones. Batch dims broadcast as in numpy; a batch where both sides broadcast
 * ([2,1,m,k]·[1,3,k,n]) is always split, because the stock kernel (and tfjs 4.22's cpu one) computes only
 * max(batchA, batchB) = 3 of its 6 entries.
 *
 * Slicing (`Slice`, and `SplitV` / `Unpack`, which the stock backend builds on its slice): the stock wasm slice
 * reads its input with `backend.readSync`, which copies the WHOLE input tensor out of the wasm heap, before
 * copying the requested part. Taking 64 rows of a 4,200-row training split (the trainer's per-batch `tf.slice`)
 * therefore copies all 4,200 rows; MMoE's backward pass unstacks a [512, 8, 64] tensor per task into 8 slices,
 * copying it 8 times (measured: 1.5–6 ms per `Unpack` in a W3 step, ~0.25 ms with the override; the quickstart
 * epoch spent ~10 % of its time in those whole-input copies). The override copies only the requested elements, straight from a view of the heap,
 * one `copyWithin` per contiguous run. Pure data movement: results are bit-identical. String tensors go to the
 * stock kernels.
 *
 * Gathering (`GatherV2`): the stock kernel's C++ loop recomputes strided offsets per element (gathering the
 * quickstart's 4,200 × 96 training inputs in a shuffled order: 22 ms, once per epoch, ~8 % of the epoch); the
 * override copies each gathered slice with one `copyWithin` (~0.3 ms). Bit-identical; an index out of range goes
 * to the stock kernel, which throws its own error.
 *
 * Copies (`Identity`, which `tf.clone` runs; the gradient tape clones every tensor it saves for the backward pass,
 * e.g. the input batch and each weight matrix): the stock wasm kernel copies the buffer. Tensors are immutable, so
 * the override shares it and counts a reference, as the wasm `Reshape` kernel and the cpu backend's `Identity` do
 * (W1: ~25 copies per step, the largest 256×784 and 784×256). String tensors go to the stock kernel.
 *
 * Column sums (`Sum` over leading axes, e.g. every bias gradient: Σ over the batch of dy): the stock kernel
 * transposes the input so the reduced axes come last, then sums each row. The override adds the rows of the
 * untransposed input into the output in the same order (0 + x₀ + x₁ + …, float32 after every addition), so the result
 * is bit-identical, without the transpose (256×256 alone: 0.45 → 0.16 ms; inside a W1 step ~0.26 → ~0.2 ms). Other
 * reductions go to the stock kernel.
 *
 * Adam (`MtlAdamUpdate`, a kernel this module adds; train/optimizers.ts uses it when it is registered): the
 * optimizer's update is 13 elementwise ops per variable, and for the small variables of a model (biases, heads,
 * MMoE experts, gates) their fixed cost per op dominates: W3's 46 variables took ~600 kernel calls per step. The
 * kernel does the whole update of one variable in one pass, in the same order as the op chain, every operation a
 * correctly rounded float32 one, so the results are bit-identical to it: in WebAssembly SIMD (backend/simd/adam.ts,
 * ~1–2 ns per element, so every variable takes it: 784×256 weights ~1.6 ms → ~0.3 ms), else in JS with `Math.fround`
 * after every operation (each float32 step is reproduced exactly by rounding the float64 result, since float64 has
 * more than twice float32's precision; ~15 ns per element, so then only up to {@link ADAM_KERNEL_MAX_SIZE}).
 *
 * Convolutions: tfjs-backend-wasm 4.22 registers no `Conv2DBackpropFilter`, so the gradient of `tf.conv2d` /
 * `tf.fused.conv2d` with respect to the kernel throws on wasm; this module adds it (im2col patches built in JS, then
 * one XNNPACK matrix product per chunk; equal to the cpu backend's up to float32 summation order). And the stock
 * `MaxPoolGrad` sends gradients to wrong input positions for many shapes (e.g. a 6×6 input with a 2×2 window, and every
 * `same`-padded case tried; 4×4 happens to be right); the override routes each window's gradient to the first
 * position of its maximum, as the cpu backend does (bit-identical to it where windows do not overlap). The stock
 * `Conv2DBackpropInput` is right but a plain loop (two thirds of a conv training step); the override is a matrix
 * product (XNNPACK) and a col2im scatter.
 *
 * Only the kernels registered for the `wasm` backend are touched; `cpu`, `webgl` and `tensorflow` keep
 * theirs. The stock kernels' `setupFunc`/`disposeFunc` are kept, so installing before the wasm backend is
 * initialised also works.
 */
import * as tf from '@tensorflow/tfjs';
import { packedBytes } from './simd/gemm.js';
import { simdKernelsFor, simdSupported, type SimdKernels } from './simd/module.js';
import type { WasmMemory } from './simd/wasm-api.js';

/** The kernel this module adds: one fused Adam/AdamW update of a variable and its two moments (see {@link adamUpdate}). */
export const ADAM_UPDATE_KERNEL = 'MtlAdamUpdate';

/** Kernels this module replaces (or, for {@link ADAM_UPDATE_KERNEL}, adds) on the wasm backend. */
export const FAST_WASM_KERNEL_NAMES: readonly string[] = [
  'BatchMatMul',
  '_FusedMatMul',
  'Slice',
  'SplitV',
  'Unpack',
  'GatherV2',
  'Sum',
  'Identity',
  'MaxPoolGrad',
  'Conv2DBackpropInput',
  ADAM_UPDATE_KERNEL,
  'Conv2DBackpropFilter',
];

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

const WASM = 'wasm';
/** Property on our wrapper kernelFunc that holds the stock kernel config it wraps (also the "installed" marker). */
const ORIGINAL = Symbol.for('mtl.wasm-kernels.original');

type FastKernelFunc = tf.KernelFunc & { [ORIGINAL]?: tf.KernelConfig };

/** The parts of the wasm backend (BackendWasm) these kernels use. */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: tf.TensorInfo['dataId'], force?: boolean): boolean;
  incRef(dataId: tf.TensorInfo['dataId']): void;
  dataIdMap: { get(dataId: tf.TensorInfo['dataId']): { memoryOffset: number } | undefined };
  wasm?: { asm?: { memory?: WasmMemory } };
}

let simdAvailable: boolean | undefined;
let simdEnabled = true;

/**
 * Turns the project's SIMD kernels (backend/simd/) on or off for the overrides here; off, matrix products go the
 * transpose-then-XNNPACK way and Adam runs its JS loop. For tests that compare the two paths and for benchmarks.
 * Returns the previous setting.
 */
export function setSimdKernelsEnabled(enabled: boolean): boolean {
  const previous = simdEnabled;
  simdEnabled = enabled;
  return previous;
}

/** The project's SIMD kernels (backend/simd/) on this backend's heap, or undefined where they cannot run. */
function simdOf(backend: WasmBackendLike): SimdKernels | undefined {
  if (!simdEnabled) return undefined;
  const memory = backend.wasm?.asm?.memory;
  if (memory === undefined || backend.dataIdMap === undefined) return undefined;
  simdAvailable ??= simdSupported();
  return simdAvailable ? simdKernelsFor(memory) : undefined;
}

/** Byte offset of a tensor's data in the wasm heap. */
function heapOffset(backend: WasmBackendLike, info: tf.TensorInfo): number {
  const entry = backend.dataIdMap.get(info.dataId);
  if (entry === undefined) throw new Error('wasm-kernels: tensor data not on the wasm heap');
  return entry.memoryOffset;
}

function lookupKernel(name: string): tf.KernelConfig | undefined {
  // getKernel is typed as always returning a config, but returns undefined when none is registered.
  return tf.getKernel(name, WASM) as tf.KernelConfig | undefined;
}

function sizeOf(shape: readonly number[]): number {
  let s = 1;
  for (const d of shape) s *= d;
  return s;
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

/** Runs the wasm Transpose kernel swapping the last two axes of `x`; the caller frees the result. */
function transposeLastTwo(x: tf.TensorInfo, backend: WasmBackendLike): tf.TensorInfo {
  const transpose = lookupKernel('Transpose');
  if (transpose === undefined) throw new Error("wasm-kernels: the wasm 'Transpose' kernel is not registered");
  const rank = x.shape.length;
  const perm: number[] = [];
  for (let i = 0; i < rank - 2; i++) perm.push(i);
  perm.push(rank - 1, rank - 2);
  return transpose.kernelFunc({ inputs: { x }, backend, attrs: { perm } }) as tf.TensorInfo;
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
 * batch entries addressed in place (numpy broadcasting). A transposed B is transposed first (B is then the smaller
 * operand in a dense layer's input gradient, dy·Wᵀ). Fused calls: bias and linear/relu only; undefined for anything
 * else (prelu, leaky relu, sigmoid, elu, relu6, a bias of another shape), which goes the XNNPACK way.
 */
function simdMatMul(simd: SimdKernels, args: Parameters<tf.KernelFunc>[0], shape: MatMulShape): tf.TensorInfo | undefined {
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
      if (given.dtype !== 'float32' || given.shape.length !== 1 || (given.shape[0] !== n && given.shape[0] !== 1)) return undefined;
      bias = given;
    }
  }
  const bStored = transposeB ? transposeLastTwo(b, backend) : b; // [...outerB, k, n]
  // Packing B's panels pays off once enough rows reuse them (measured: 256×784·784×256 5.4 → 4.1 ms; below 16 rows
  // the copy costs more than it saves).
  const scratchBytes = m >= 16 ? packedBytes(k, n) : 0;
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
      });
    }
    if (bias !== undefined || relu) {
      simd.biasActivation({ c: cBase, bias: bias ? heapOffset(backend, bias) : 0, rows: batch * m, n, scalarBias: bias !== undefined && bias.shape[0] === 1 && n !== 1, relu });
    }
    return out;
  } finally {
    if (bStored !== b) backend.disposeData(bStored.dataId);
    if (scratch !== undefined) backend.disposeData(scratch.dataId);
  }
}

function makeFastMatMul(stock: tf.KernelConfig, fused: boolean): FastKernelFunc {
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
    if (batch === 0 || m === 0 || kA === 0 || n === 0) return stockFunc(args);

    const simd = simdOf(backend);
    if (simd !== undefined) {
      const result = simdMatMul(simd, args, { a, b, m, k: kA, n, transposeA, transposeB, outer, outerA, outerB, fused });
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

type HeapArray = Float32Array | Int32Array | Uint8Array;

/**
 * Copies the box [begin, begin + size) of `x` into the new tensor `out` (both on the wasm heap, same dtype), one
 * `copyWithin` on the heap per contiguous run (trailing dimensions taken whole merge into one run).
 */
function copyBox(x: tf.TensorInfo, begin: readonly number[], size: readonly number[], out: tf.TensorInfo, backend: WasmBackendLike): void {
  const total = sizeOf(size);
  if (total === 0) return;
  const rank = x.shape.length;
  const src = backend.typedArrayFromHeap(x) as HeapArray;
  const dst = backend.typedArrayFromHeap(out) as HeapArray;
  const Ctor = src.constructor as new (buffer: ArrayBufferLike) => HeapArray;
  const heap = new Ctor(src.buffer);
  const srcBase = src.byteOffset / src.BYTES_PER_ELEMENT;
  let dstPos = dst.byteOffset / dst.BYTES_PER_ELEMENT;
  if (rank === 0) {
    heap[dstPos] = heap[srcBase] as number;
    return;
  }
  const strides = new Array<number>(rank);
  for (let d = rank - 1, s = 1; d >= 0; d--) {
    strides[d] = s;
    s *= x.shape[d]!;
  }
  // The run starts at dimension r: every dimension after r is taken whole.
  let r = rank - 1;
  while (r > 0 && begin[r] === 0 && size[r] === x.shape[r]) r--;
  const run = size[r]! * strides[r]!;
  const runStart = begin[r]! * strides[r]!;
  const outer = size.slice(0, r);
  const count = sizeOf(outer);
  const index = new Array<number>(r).fill(0);
  for (let i = 0; i < count; i++) {
    let from = srcBase + runStart;
    for (let d = 0; d < r; d++) from += (begin[d]! + index[d]!) * strides[d]!;
    if (run >= 16) {
      heap.copyWithin(dstPos, from, from + run);
    } else {
      for (let k = 0; k < run; k++) heap[dstPos + k] = heap[from + k] as number;
    }
    dstPos += run;
    for (let d = r - 1; d >= 0; d--) {
      if (++index[d]! < outer[d]!) break;
      index[d] = 0;
    }
  }
}

/** The slice the stock kernels compute, without copying the whole input first. Caller checks the dtype. */
function sliceOf(x: tf.TensorInfo, begin: number[], size: number[], backend: WasmBackendLike): tf.TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  copyBox(x, begin, size, out, backend); // heap views are taken after the allocation (a malloc may grow the heap)
  return out;
}

function makeFastSlice(stock: tf.KernelConfig): FastKernelFunc {
  const fast: FastKernelFunc = (args) => {
    const x = args.inputs['x'];
    const attrs = args.attrs as { begin?: number | number[]; size?: number | number[] } | undefined;
    if (x === undefined || x.dtype === 'string' || attrs?.begin === undefined) return stock.kernelFunc(args);
    const [begin, size] = tf.slice_util.parseSliceParams(x, attrs.begin, attrs.size);
    return sliceOf(x, begin, size, args.backend as WasmBackendLike);
  };
  fast[ORIGINAL] = stock;
  return fast;
}

function makeFastSplitV(stock: tf.KernelConfig): FastKernelFunc {
  const fast: FastKernelFunc = (args) => {
    const x = args.inputs['x'];
    const attrs = args.attrs as { numOrSizeSplits?: number | number[]; axis?: number | number[] } | undefined;
    if (x === undefined || x.dtype === 'string' || attrs?.numOrSizeSplits === undefined || attrs.axis === undefined) return stock.kernelFunc(args);
    const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0]!;
    const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, attrs.numOrSizeSplits, axis);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((s) => {
      const size = [...x.shape];
      size[axis] = s;
      const piece = sliceOf(x, begin, size, args.backend as WasmBackendLike);
      begin[axis]! += s;
      return piece;
    });
  };
  fast[ORIGINAL] = stock;
  return fast;
}

function makeFastUnpack(stock: tf.KernelConfig): FastKernelFunc {
  const fast: FastKernelFunc = (args) => {
    const value = args.inputs['value'];
    const attrs = args.attrs as { axis?: number } | undefined;
    if (value === undefined || value.dtype === 'string' || attrs?.axis === undefined) return stock.kernelFunc(args);
    const rank = value.shape.length;
    const axis = attrs.axis < 0 ? attrs.axis + rank : attrs.axis;
    const outShape = value.shape.filter((_, d) => d !== axis);
    const begin = new Array<number>(rank).fill(0);
    const size = [...value.shape];
    size[axis] = 1;
    const outs: tf.TensorInfo[] = [];
    for (let i = 0; i < value.shape[axis]!; i++) {
      begin[axis] = i;
      const piece = sliceOf(value, begin, size, args.backend as WasmBackendLike);
      outs.push({ dataId: piece.dataId, dtype: piece.dtype, shape: outShape });
    }
    return outs;
  };
  fast[ORIGINAL] = stock;
  return fast;
}

function makeFastGather(stock: tf.KernelConfig): FastKernelFunc {
  const fast: FastKernelFunc = (args) => {
    const x = args.inputs['x'];
    const indices = args.inputs['indices'];
    const attrs = args.attrs as { axis?: number; batchDims?: number } | undefined;
    const backend = args.backend as WasmBackendLike;
    if (x === undefined || indices === undefined || attrs?.axis === undefined || x.dtype === 'string' || indices.dtype !== 'int32') {
      return stock.kernelFunc(args);
    }
    const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0]!;
    const axisDim = x.shape[axis]!;
    let index = backend.typedArrayFromHeap(indices) as Int32Array;
    for (let i = 0; i < index.length; i++) {
      const k = index[i]!;
      if (!(k >= 0 && k <= axisDim - 1)) return stock.kernelFunc(args); // the stock kernel reports it
    }
    const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(
      x as unknown as tf.Tensor,
      indices as unknown as tf.Tensor,
      axis,
      attrs.batchDims ?? 0,
    );
    const out = backend.makeOutput(info.outputShape, x.dtype);
    const perBatch = index.length / info.batchSize;
    if (sizeOf(x.shape) === 0 || sizeOf(info.outputShape) === 0) return out;
    // Views after the allocation (a malloc may grow the heap).
    index = backend.typedArrayFromHeap(indices) as Int32Array;
    const src = backend.typedArrayFromHeap(x) as HeapArray;
    const dst = backend.typedArrayFromHeap(out) as HeapArray;
    const heap = new (src.constructor as new (buffer: ArrayBufferLike) => HeapArray)(src.buffer);
    const srcBase = src.byteOffset / src.BYTES_PER_ELEMENT;
    let at = dst.byteOffset / dst.BYTES_PER_ELEMENT;
    const { batchSize, outerSize, dimSize, sliceSize } = info;
    for (let b = 0; b < batchSize; b++) {
      for (let o = 0; o < outerSize; o++) {
        const base = srcBase + (b * outerSize + o) * dimSize * sliceSize;
        for (let j = 0; j < perBatch; j++) {
          const from = base + index[b * perBatch + j]! * sliceSize;
          if (sliceSize >= 16) heap.copyWithin(at, from, from + sliceSize);
          else for (let e = 0; e < sliceSize; e++) heap[at + e] = heap[from + e] as number;
          at += sliceSize;
        }
      }
    }
    return out;
  };
  fast[ORIGINAL] = stock;
  return fast;
}

function makeFastIdentity(stock: tf.KernelConfig): FastKernelFunc {
  const fast: FastKernelFunc = (args) => {
    const x = args.inputs['x'];
    if (x === undefined || x.dtype === 'string') return stock.kernelFunc(args);
    (args.backend as WasmBackendLike).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
  fast[ORIGINAL] = stock;
  return fast;
}

function makeFastSum(stock: tf.KernelConfig): FastKernelFunc {
  const fast: FastKernelFunc = (args) => {
    const x = args.inputs['x'];
    const attrs = args.attrs as { axis?: number | number[]; keepDims?: boolean } | undefined;
    if (x === undefined || x.dtype !== 'float32' || attrs?.axis === undefined) return stock.kernelFunc(args);
    const rank = x.shape.length;
    const axes = tf.util.parseAxisParam(attrs.axis, x.shape);
    const k = axes.length;
    // Only sums over a block of leading axes given in order (the stock kernel would transpose them to the end, in
    // the order given, which fixes the order of the additions).
    if (k === 0 || k >= rank || axes.some((a, i) => a !== i)) return stock.kernelFunc(args);
    const rows = sizeOf(x.shape.slice(0, k));
    const width = sizeOf(x.shape.slice(k));
    if (rows === 0 || width === 0) return stock.kernelFunc(args);
    const backend = args.backend as WasmBackendLike;
    const out = backend.makeOutput(attrs.keepDims ? [...new Array<number>(k).fill(1), ...x.shape.slice(k)] : x.shape.slice(k), 'float32');
    const src = backend.typedArrayFromHeap(x) as Float32Array;
    const dst = backend.typedArrayFromHeap(out) as Float32Array;
    dst.fill(0);
    for (let r = 0; r < rows; r++) {
      const base = r * width;
      for (let j = 0; j < width; j++) dst[j] = dst[j]! + src[base + j]!; // the store rounds to float32
    }
    return out;
  };
  fast[ORIGINAL] = stock;
  return fast;
}

/** Up to this many elements, the fused Adam kernel in JS beats the 13-op chain (measured on the W1/W3 variables). */
export const ADAM_KERNEL_MAX_SIZE = 8192;

/**
 * The largest variable the optimizer should give {@link ADAM_UPDATE_KERNEL} on the current backend: any size where the
 * kernel runs in WebAssembly SIMD (one pass, ~1 ns per element), else {@link ADAM_KERNEL_MAX_SIZE} (the JS loop).
 */
export function fusedAdamMaxSize(): number {
  if (tf.getBackend() !== WASM) return ADAM_KERNEL_MAX_SIZE;
  return simdOf(tf.backend() as unknown as WasmBackendLike) !== undefined ? Number.POSITIVE_INFINITY : ADAM_KERNEL_MAX_SIZE;
}

/**
 * Attributes of {@link ADAM_UPDATE_KERNEL}, as plain JS numbers (float64) exactly as the op chain in
 * train/optimizers.ts passes them to `tf.mul`/`tf.div`/`tf.add` (which turn each into a float32 scalar).
 */
export interface AdamUpdateAttrs {
  beta1: number;
  beta2: number;
  /** lr / (1 − β1^t). */
  stepSize: number;
  /** 1 − β2^t. */
  bias2: number;
  epsilon: number;
  /** Classic L2: g ← g + w·coupledDecay (0 = none). */
  coupledDecay: number;
  /** AdamW's decoupled decay: update ← update + w·decoupledDecay, with decoupledDecay = lr·decay (0 = none). */
  decoupledDecay: number;
}

/**
 * One Adam/AdamW step of a float32 variable, its gradient and moments (inputs `variable`, `gradient`, `m`, `v`);
 * outputs [new variable, new m, new v]. Each line reproduces one op of the chain in train/optimizers.ts:
 *
 *   g  = coupled ? g + w·d : g
 *   m' = m·β1 + g·(1 − β1)
 *   v' = v·β2 + (g·g)·(1 − β2)
 *   u  = (m'·s) / (√(v' / b2) + ε)          s = lr/(1 − β1^t), b2 = 1 − β2^t
 *   u  = decoupled ? u + w·(lr·decay) : u
 *   w' = w − u
 */
function adamUpdate(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo[] {
  const { variable, gradient, m, v } = args.inputs as Record<string, tf.TensorInfo>;
  const attrs = args.attrs as unknown as AdamUpdateAttrs;
  const backend = args.backend as WasmBackendLike;
  if (!variable || !gradient || !m || !v) throw new Error(`${ADAM_UPDATE_KERNEL}: needs variable, gradient, m and v`);
  const size = sizeOf(variable.shape);
  for (const t of [variable, gradient, m, v]) {
    if (t.dtype !== 'float32' || sizeOf(t.shape) !== size) throw new Error(`${ADAM_UPDATE_KERNEL}: float32 inputs of one shape expected`);
  }
  const outW = backend.makeOutput([...variable.shape], 'float32');
  const outM = backend.makeOutput([...variable.shape], 'float32');
  const outV = backend.makeOutput([...variable.shape], 'float32');
  const simd = simdOf(backend);
  if (simd !== undefined) {
    const at = (t: tf.TensorInfo): number => heapOffset(backend, t);
    simd.adam({ w: at(variable), g: at(gradient), m: at(m), v: at(v), outW: at(outW), outM: at(outM), outV: at(outV), size, ...attrs });
    return [outW, outM, outV];
  }
  // Views after the allocations (a malloc may grow the heap).
  const W = backend.typedArrayFromHeap(variable) as Float32Array;
  const G = backend.typedArrayFromHeap(gradient) as Float32Array;
  const M = backend.typedArrayFromHeap(m) as Float32Array;
  const V = backend.typedArrayFromHeap(v) as Float32Array;
  const W2 = backend.typedArrayFromHeap(outW) as Float32Array;
  const M2 = backend.typedArrayFromHeap(outM) as Float32Array;
  const V2 = backend.typedArrayFromHeap(outV) as Float32Array;
  const f = Math.fround;
  // The float32 scalars the op chain makes from its JS numbers.
  const b1 = f(attrs.beta1);
  const c1 = f(1 - attrs.beta1);
  const b2 = f(attrs.beta2);
  const c2 = f(1 - attrs.beta2);
  const s = f(attrs.stepSize);
  const bias2 = f(attrs.bias2);
  const eps = f(attrs.epsilon);
  const d = f(attrs.coupledDecay);
  const dd = f(attrs.decoupledDecay);
  const coupled = attrs.coupledDecay > 0;
  const decoupled = attrs.decoupledDecay > 0;
  for (let i = 0; i < size; i++) {
    const w = W[i]!;
    const g = coupled ? f(G[i]! + f(w * d)) : G[i]!;
    const mi = f(f(M[i]! * b1) + f(g * c1));
    const vi = f(f(V[i]! * b2) + f(f(g * g) * c2));
    M2[i] = mi;
    V2[i] = vi;
    let u = f(f(mi * s) / f(f(Math.sqrt(f(vi / bias2))) + eps));
    if (decoupled) u = f(u + f(w * dd));
    W2[i] = w - u; // the store rounds to float32
  }
  return [outW, outM, outV];
}

type ConvAttrs = {
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

/** The shape facts both convolution gradients need (channels-last). */
function convGeometry(inputShape: readonly number[], filterShape: readonly number[], attrs: ConvAttrs): tf.backend_util.Conv2DInfo {
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
function forEachPatchTap(info: tf.backend_util.Conv2DInfo, n0: number, n: number, visit: (r: number, k0: number, base: number) => void): void {
  const { inHeight: H, inWidth: W, inChannels: Cin, outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw, filterHeight: FH, filterWidth: FW } = info;
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
function conv2dBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const { x, dy } = args.inputs as Record<string, tf.TensorInfo>;
  const backend = args.backend as WasmBackendLike;
  const attrs = (args.attrs ?? {}) as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
  if (!x || !dy) throw new Error(`${CONV2D_FILTER_GRAD_KERNEL}: needs x and dy`);
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') throw new Error(`${CONV2D_FILTER_GRAD_KERNEL}: float32 inputs expected`);
  if ((attrs.dataFormat ?? 'NHWC') !== 'NHWC') throw new Error(`${CONV2D_FILTER_GRAD_KERNEL} on wasm supports channels-last (NHWC) data only`);
  const info = convGeometry(x.shape, attrs.filterShape, attrs);
  const { batchSize: B, inChannels: Cin, outHeight: OH, outWidth: OW, outChannels: Cout, filterHeight: FH, filterWidth: FW } = info;
  if (sizeOf(dy.shape) !== B * OH * OW * Cout) throw new Error(`${CONV2D_FILTER_GRAD_KERNEL}: dy has shape [${dy.shape}], expected [${B},${OH},${OW},${Cout}]`);
  const matMul = lookupKernel('BatchMatMul');
  if (matMul === undefined) throw new Error("wasm-kernels: the wasm 'BatchMatMul' kernel is not registered");
  const K = FH * FW * Cin;
  const N = B * OH * OW;
  const out = backend.makeOutput([FH, FW, Cin, Cout], 'float32');
  (backend.typedArrayFromHeap(out) as Float32Array).fill(0);
  if (K === 0 || N === 0 || Cout === 0) return out;
  const chunk = Math.max(1, Math.floor(IM2COL_MAX_ELEMENTS / K));
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
      (backend.typedArrayFromHeap(rows) as Float32Array).set((backend.typedArrayFromHeap(dy) as Float32Array).subarray(n0 * Cout, (n0 + n) * Cout));
      // im2col: P[(k0 + c), r] = x at the tap's pixel, 0 in the padding.
      forEachPatchTap(info, n0, n, (r, k0, base) => {
        if (base >= 0) for (let c = 0; c < Cin; c++) P[(k0 + c) * n + r] = X[base + c]!;
        else for (let c = 0; c < Cin; c++) P[(k0 + c) * n + r] = 0;
      });
      const product = matMul.kernelFunc({ inputs: { a: patches, b: rows }, backend: args.backend as never, attrs: { transposeA: false, transposeB: false } }) as tf.TensorInfo;
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
 * `Conv2DBackpropInput`, ∂L/∂x of a 2-D convolution (inputs `dy` [B, OH, OW, Cout] and `filter` [FH, FW, Cin, Cout];
 * output `inputShape`): the stock wasm kernel is a plain loop (8 ms for the multi-digits conv trunk's second layer at
 * batch 64, two thirds of the training step). The override computes the patch gradients P = dy · Wᵀ ([n, FH·FW·Cin]
 * per chunk of output positions, through the registered `BatchMatMul`: XNNPACK) and scatters them back (col2im):
 *
 *   dx[b, oy·sh + fy − padTop, ox·sw + fx − padLeft, c] += P[(b, oy, ox), (fy, fx, c)]   (in-range positions only)
 *
 * Equal to the stock kernel up to float32 summation order. Non-float32 or channels-first calls go to the stock kernel.
 */
function makeFastConv2DBackpropInput(stock: tf.KernelConfig): FastKernelFunc {
  const fast: FastKernelFunc = (args) => {
    const { dy, filter } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const attrs = args.attrs as (ConvAttrs & { inputShape: [number, number, number, number] }) | undefined;
    if (!dy || !filter || !attrs || dy.dtype !== 'float32' || filter.dtype !== 'float32' || (attrs.dataFormat ?? 'NHWC') !== 'NHWC') {
      return stock.kernelFunc(args);
    }
    const matMul = lookupKernel('BatchMatMul');
    if (matMul === undefined || filter.shape.length !== 4) return stock.kernelFunc(args);
    const info = convGeometry(attrs.inputShape, filter.shape, attrs);
    const { batchSize: B, inChannels: Cin, outHeight: OH, outWidth: OW, outChannels: Cout, filterHeight: FH, filterWidth: FW } = info;
    if (sizeOf(dy.shape) !== B * OH * OW * Cout) return stock.kernelFunc(args);
    const backend = args.backend as WasmBackendLike;
    const K = FH * FW * Cin;
    const N = B * OH * OW;
    const out = backend.makeOutput([...attrs.inputShape], 'float32');
    (backend.typedArrayFromHeap(out) as Float32Array).fill(0);
    if (K === 0 || N === 0 || Cout === 0) return out;
    const weights: tf.TensorInfo = { dataId: filter.dataId, shape: [1, K, Cout], dtype: 'float32' };
    const chunk = Math.max(1, Math.floor(IM2COL_MAX_ELEMENTS / K));
    for (let n0 = 0; n0 < N; n0 += chunk) {
      const n = Math.min(chunk, N - n0);
      const temps: tf.TensorInfo[] = [];
      try {
        const rows = backend.makeOutput([1, n, Cout], 'float32');
        temps.push(rows);
        (backend.typedArrayFromHeap(rows) as Float32Array).set((backend.typedArrayFromHeap(dy) as Float32Array).subarray(n0 * Cout, (n0 + n) * Cout));
        const patches = matMul.kernelFunc({ inputs: { a: rows, b: weights }, backend: args.backend as never, attrs: { transposeA: false, transposeB: true } }) as tf.TensorInfo;
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
 * `MaxPoolGrad`: the stock wasm kernel scatters the gradient to wrong input positions for many shapes (measured
 * against the cpu backend: a 6×6 or 7×8 input with a 2×2 window, and every `same`-padded case tried, are wrong; 4×4
 * is right). The override does what the cpu backend does: each output position sends its dy to the first position
 * holding the maximum of its window (in-range positions only), gradients of overlapping windows add up.
 * Non-float32 or channels-first calls go to the stock kernel.
 */
function makeFastMaxPoolGrad(stock: tf.KernelConfig): FastKernelFunc {
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
    if (!dy || !input || !attrs || input.dtype !== 'float32' || dy.dtype !== 'float32' || input.shape.length !== 4) return stock.kernelFunc(args);
    const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
    const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
    const { strideHeight: sh, strideWidth: sw, filterHeight: FH, filterWidth: FW } = info;
    if (sizeOf(dy.shape) !== B * OH * OW * C) return stock.kernelFunc(args);
    const top = info.padInfo.top;
    const left = info.padInfo.left;
    const backend = args.backend as WasmBackendLike;
    const out = backend.makeOutput([...input.shape], 'float32');
    const X = backend.typedArrayFromHeap(input) as Float32Array;
    const DY = backend.typedArrayFromHeap(dy) as Float32Array;
    const DX = backend.typedArrayFromHeap(out) as Float32Array;
    DX.fill(0);
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

/** Marks a kernel this module added (there is no stock kernel to put back). */
const ADDED: tf.KernelConfig = { kernelName: '', backendName: WASM, kernelFunc: () => {
  throw new Error('wasm-kernels: placeholder');
} };

/** The wrapper for each replaced kernel, given the stock config it wraps. */
const FACTORIES: Record<string, (stock: tf.KernelConfig) => FastKernelFunc> = {
  BatchMatMul: (stock) => makeFastMatMul(stock, false),
  _FusedMatMul: (stock) => makeFastMatMul(stock, true),
  Slice: makeFastSlice,
  SplitV: makeFastSplitV,
  Unpack: makeFastUnpack,
  GatherV2: makeFastGather,
  Sum: makeFastSum,
  Identity: makeFastIdentity,
  MaxPoolGrad: makeFastMaxPoolGrad,
  Conv2DBackpropInput: makeFastConv2DBackpropInput,
};

/** Kernels this module adds where the wasm backend has none, by name. */
const ADDED_KERNELS: Record<string, (args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }) => tf.TensorInfo | tf.TensorInfo[]> = {
  [ADAM_UPDATE_KERNEL]: adamUpdate,
  [CONV2D_FILTER_GRAD_KERNEL]: conv2dBackpropFilter,
};

/**
 * Replaces the wasm backend's `BatchMatMul` and `_FusedMatMul` kernels with versions that avoid the
 * backend's slow matMul loop; `Slice`, `SplitV`, `Unpack`, `GatherV2`, `Identity` and leading-axis `Sum` with
 * versions that copy less; and adds `MtlAdamUpdate` (see the module comment for the measurements). Matrix products
 * are the same up to float32 rounding order; everything else is bit-identical.
 *
 * Idempotent: calling it again leaves the installed kernels in place. Safe to call whether or not the wasm
 * backend is the active one, or initialised yet; it needs `@tensorflow/tfjs-backend-wasm` to have been
 * imported (which registers the kernels) and does nothing for kernels that are not registered.
 *
 * @returns the kernel names whose fast version is active after the call (empty when the wasm backend's
 *   kernels are not registered).
 */
export function installFastWasmKernels(): { installed: string[] } {
  const installed: string[] = [];
  if (lookupKernel('Transpose') === undefined) return { installed };
  for (const name of FAST_WASM_KERNEL_NAMES) {
    const current = lookupKernel(name);
    const addedFunc = ADDED_KERNELS[name];
    if (addedFunc !== undefined) {
      if (current === undefined) {
        const added = addedFunc as unknown as FastKernelFunc;
        added[ORIGINAL] = ADDED;
        tf.registerKernel({ kernelName: name, backendName: WASM, kernelFunc: added });
      } else if ((current.kernelFunc as FastKernelFunc)[ORIGINAL] === undefined) {
        continue; // a later tfjs-backend-wasm has its own: keep it
      }
      installed.push(name);
      continue;
    }
    if (current === undefined) continue;
    if ((current.kernelFunc as FastKernelFunc)[ORIGINAL] !== undefined) {
      installed.push(name);
      continue;
    }
    const config: tf.KernelConfig = {
      kernelName: name,
      backendName: WASM,
      kernelFunc: (FACTORIES[name] as (stock: tf.KernelConfig) => FastKernelFunc)(current),
    };
    if (current.setupFunc !== undefined) config.setupFunc = current.setupFunc;
    if (current.disposeFunc !== undefined) config.disposeFunc = current.disposeFunc;
    tf.unregisterKernel(name, WASM);
    tf.registerKernel(config);
    installed.push(name);
  }
  return { installed };
}

/**
 * Puts the stock wasm kernels back (for tests and benchmarks comparing both): all of them, or only `names`.
 * @returns the kernel names that were restored.
 */
export function uninstallFastWasmKernels(names: readonly string[] = FAST_WASM_KERNEL_NAMES): { restored: string[] } {
  const restored: string[] = [];
  for (const name of FAST_WASM_KERNEL_NAMES.filter((n) => names.includes(n))) {
    const current = lookupKernel(name);
    const stock = current === undefined ? undefined : (current.kernelFunc as FastKernelFunc)[ORIGINAL];
    if (stock === undefined) continue;
    tf.unregisterKernel(name, WASM);
    if (stock !== ADDED) tf.registerKernel(stock);
    restored.push(name);
  }
  return { restored };
}

/** Whether the fast version of `kernelName` is the one registered for the wasm backend. */
export function isFastWasmKernelInstalled(kernelName: string): boolean {
  const current = lookupKernel(kernelName);
  return current !== undefined && (current.kernelFunc as FastKernelFunc)[ORIGINAL] !== undefined;
}
