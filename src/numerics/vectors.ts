import { simdArenaVectors, simdLinearCombination } from '../backend/simd/long-vectors.js';

/**
 * Long vectors: the P-long task gradients (float32), touched only here and in gram.ts, always accumulating in
 * float64 with a fixed summation order, so results are deterministic.
 */

export function dot(a: Float32Array, b: Float32Array): number {
  const n = a.length;
  // Two accumulators halve the dependency chain; the order is fixed, so results stay deterministic.
  let s0 = 0;
  let s1 = 0;
  let k = 0;
  for (; k + 1 < n; k += 2) {
    s0 += a[k]! * b[k]!;
    s1 += a[k + 1]! * b[k + 1]!;
  }
  if (k < n) s0 += a[k]! * b[k]!;
  return s0 + s1;
}

/** y ← y + a·x (float64 accumulator). */
export function axpy(a: number, x: Float32Array, y: Float64Array): void {
  const n = x.length;
  for (let k = 0; k < n; k++) y[k]! += a * x[k]!;
}

/**
 * Σ w_i g_i as float32, summed in float64 from 0 in task order, skipping zero weights: per element the sum that
 * repeated `axpy` into a float64 accumulator gives, but in one pass and without the P-long float64 array (for W2,
 * PCGrad on 234k shared parameters, that was ~1 ms of a 30 ms step). Of the step's gradients ({@link stepVectors})
 * the result may live in the step's memory as they do, valid until the next step's (a later combination in the same
 * step leaves it as it is): the caller copies it to keep it longer. Otherwise the result is an array of its own.
 */
export function linearCombination(grads: readonly Float32Array[], weights: readonly number[]): Float32Array {
  const p = grads[0]?.length ?? 0;
  const used = grads.map((g, i) => ({ g, w: weights[i]! })).filter((u) => u.w !== 0);
  // The same sums in WebAssembly SIMD where the runtime has it (bit-identical: backend/simd/long-vectors.ts).
  if (used.length > 0 && used.every((u) => u.g.length === p)) {
    const fast = simdLinearCombination(
      used.map((u) => u.g),
      used.map((u) => u.w),
    );
    if (fast) return fast;
  }
  const out = new Float32Array(p);
  const [a, b] = used;
  if (used.length === 2 && a && b) {
    // The common case (two tasks) without the inner loop.
    for (let k = 0; k < p; k++) {
      let sum = 0;
      sum += a.w * a.g[k]!;
      sum += b.w * b.g[k]!;
      out[k] = sum;
    }
    return out;
  }
  for (let k = 0; k < p; k++) {
    let sum = 0;
    for (const u of used) sum += u.w * u.g[k]!;
    out[k] = sum;
  }
  return out;
}

/**
 * `count` float32 vectors of `length` for one step's task gradients, valid until the next call: where the runtime has
 * WebAssembly SIMD they live in the memory the Gram and combination kernels read in place (no copy in, no fresh
 * megabyte per task per step), and the next call empties them (length 0). Contents are unspecified: the caller writes
 * every element. Anything that must outlive the step copies them.
 */
export function stepVectors(count: number, length: number): Float32Array[] {
  return simdArenaVectors(count, length) ?? Array.from({ length: count }, () => new Float32Array(length));
}
