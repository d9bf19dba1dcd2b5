/**
 * Faster matrix-multiply kernels for the TF.js wasm backend.
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
 * The fix re-registers the two wasm kernels with a wrapper that
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
 * Only the kernels registered for the `wasm` backend are touched; `cpu`, `webgl` and `tensorflow` keep
 * theirs. The stock kernels' `setupFunc`/`disposeFunc` are kept, so installing before the wasm backend is
 * initialised also works.
 */
import * as tf from '@tensorflow/tfjs';

/** Kernels this module replaces on the wasm backend. */
export const FAST_WASM_KERNEL_NAMES: readonly string[] = ['BatchMatMul', '_FusedMatMul'];

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

/**
 * Replaces the wasm backend's `BatchMatMul` and `_FusedMatMul` kernels with versions that avoid the
 * backend's slow matMul loop (see the module comment for the measurements). Results are the same up to
 * float32 rounding order.
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
    if (current === undefined) continue;
    if ((current.kernelFunc as FastKernelFunc)[ORIGINAL] !== undefined) {
      installed.push(name);
      continue;
    }
    const config: tf.KernelConfig = {
      kernelName: name,
      backendName: WASM,
      kernelFunc: makeFastMatMul(current, name === '_FusedMatMul'),
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
 * Puts the stock wasm kernels back (for tests and benchmarks comparing both).
 * @returns the kernel names that were restored.
 */
export function uninstallFastWasmKernels(): { restored: string[] } {
  const restored: string[] = [];
  for (const name of FAST_WASM_KERNEL_NAMES) {
    const current = lookupKernel(name);
    const stock = current === undefined ? undefined : (current.kernelFunc as FastKernelFunc)[ORIGINAL];
    if (stock === undefined) continue;
    tf.unregisterKernel(name, WASM);
    tf.registerKernel(stock);
    restored.push(name);
  }
  return { restored };
}

/** Whether the fast version of `kernelName` is the one registered for the wasm backend. */
export function isFastWasmKernelInstalled(kernelName: string): boolean {
  const current = lookupKernel(kernelName);
  return current !== undefined && (current.kernelFunc as FastKernelFunc)[ORIGINAL] !== undefined;
}
