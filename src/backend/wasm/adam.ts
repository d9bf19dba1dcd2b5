/**
 * The fused Adam/AdamW update (`MtlAdamUpdate`) for the TF.js wasm backend.
 *
 * Adam (`MtlAdamUpdate`, a kernel this module adds; train/optimizers.ts uses it when it is registered): the
 * optimizer's update is 13 elementwise ops per variable, and for the small variables of a model (biases, heads,
 * MMoE experts, gates) their fixed cost per op dominates: W3's 46 variables took ~600 kernel calls per step. The
 * kernel does the whole update of one variable in one pass, in the same order as the op chain, every operation a
 * correctly rounded float32 one, so the results are bit-identical to it: in WebAssembly SIMD (backend/simd/adam.ts,
 * ~1–2 ns per element, so every variable takes it: 784×256 weights ~1.6 ms → ~0.3 ms), else in JS with `Math.fround`
 * after every operation (each float32 step is reproduced exactly by rounding the float64 result, since float64 has
 * more than twice float32's precision; ~15 ns per element, so then only up to {@link ADAM_KERNEL_MAX_SIZE}).
 */
import { tf } from '../../tf.js';
import type { AdamHyperparameters } from '../simd/adam.js';
import { heapOffset, simdOf, sizeOf, WASM, type WasmBackendLike } from './backend.js';

/**
 * The kernel this module adds: one fused Adam/AdamW update of a variable and its two moments (see {@link adamUpdate}).
 */
export const ADAM_UPDATE_KERNEL = 'MtlAdamUpdate';

/** Up to this many elements, the fused Adam kernel in JS beats the 13-op chain (measured on the W1/W3 variables). */
export const ADAM_KERNEL_MAX_SIZE = 8192;

/**
 * The largest variable the optimizer should give {@link ADAM_UPDATE_KERNEL} on the current backend: any size where the
 * kernel runs in WebAssembly SIMD (one pass, ~1 ns per element), else {@link ADAM_KERNEL_MAX_SIZE} (the JS loop).
 */
export function fusedAdamMaxSize(): number {
  if (tf.getBackend() !== WASM) return ADAM_KERNEL_MAX_SIZE;
  return simdOf(tf.backend() as unknown as WasmBackendLike) !== undefined
    ? Number.POSITIVE_INFINITY
    : ADAM_KERNEL_MAX_SIZE;
}

/** Attributes of {@link ADAM_UPDATE_KERNEL}: the update's hyperparameters (backend/simd/adam.ts). */
export type AdamUpdateAttrs = AdamHyperparameters;

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
export function adamUpdate(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo[] {
  const { variable, gradient, m, v } = args.inputs as Record<string, tf.TensorInfo>;
  const attrs = args.attrs as unknown as AdamUpdateAttrs;
  const backend = args.backend as WasmBackendLike;
  if (!variable || !gradient || !m || !v) throw new Error(`${ADAM_UPDATE_KERNEL}: needs variable, gradient, m and v`);
  const size = sizeOf(variable.shape);
  for (const t of [variable, gradient, m, v]) {
    if (t.dtype !== 'float32' || sizeOf(t.shape) !== size)
      throw new Error(`${ADAM_UPDATE_KERNEL}: float32 inputs of one shape expected`);
  }
  const outW = backend.makeOutput([...variable.shape], 'float32');
  const outM = backend.makeOutput([...variable.shape], 'float32');
  const outV = backend.makeOutput([...variable.shape], 'float32');
  const simd = simdOf(backend);
  if (simd !== undefined) {
    const at = (t: tf.TensorInfo): number => heapOffset(backend, t);
    simd.adam({
      w: at(variable),
      g: at(gradient),
      m: at(m),
      v: at(v),
      outW: at(outW),
      outM: at(outM),
      outV: at(outV),
      size,
      ...attrs,
    });
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
