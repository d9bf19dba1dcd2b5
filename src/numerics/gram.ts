/**
 * Gram matrices. Almost every gradient method only needs G = [g_iᵀg_j] of the T task gradients: any vector of the
 * form Σ c_i g_i has its dot products and norms given by G, so per-pair projections can be tracked as coefficient
 * vectors and the P-long result formed once at the end. The nuclear norm needs the Gram matrix of a weight matrix's
 * columns or rows.
 */
import type { Matrix } from './matrix.js';
import { simdGram } from '../backend/simd/long-vectors.js';
import { dot } from './vectors.js';

/**
 * Gram matrices already computed for a list of gradients (task gradients are never modified), so that the trainer's
 * gradient-cosine log reuses the combiner's instead of another T(T+1)/2 passes over P.
 */
const gramCache = new WeakMap<readonly Float32Array[], Matrix>();

/** G[i][j] = g_iᵀ g_j, computed once per pair (T(T+1)/2 passes over P) and once per list; callers get a copy. */
export function gram(grads: readonly Float32Array[]): Matrix {
  let g = gramCache.get(grads);
  if (!g) {
    g = computeGram(grads);
    gramCache.set(grads, g);
  }
  return g.map((row) => [...row]);
}

function computeGram(grads: readonly Float32Array[]): Matrix {
  // The same products, four at a time in WebAssembly SIMD where the runtime has it (bit-identical:
  // backend/simd/long-vectors.ts).
  const fast = grads.every((g) => g.length === grads[0]?.length) ? simdGram(grads) : undefined;
  if (fast) return fast;
  const t = grads.length;
  const g: Matrix = Array.from({ length: t }, () => new Array<number>(t).fill(0));
  for (let i = 0; i < t; i++) {
    for (let j = i; j < t; j++) {
      const v = dot(grads[i]!, grads[j]!);
      g[i]![j] = v;
      g[j]![i] = v;
    }
  }
  return g;
}

/** cos(g_i, g_j) from the Gram matrix; 0 where a gradient vanishes. */
export function cosineMatrix(grads: readonly Float32Array[]): Matrix {
  const g = gram(grads);
  return g.map((row, i) =>
    row.map((value, j) => {
      const norm = Math.sqrt((g[i]?.[i] ?? 0) * (g[j]?.[j] ?? 0));
      return norm > 0 ? value / norm : 0;
    }),
  );
}

/**
 * The smaller Gram matrix of an m×n row-major matrix A, in float64: AᵀA (n×n, `ofColumns`) when n ≤ m, else AAᵀ
 * (m×m). Row-major k×k with k = min(m, n).
 */
export function smallerGram(
  values: ArrayLike<number>,
  m: number,
  n: number,
): { gram: Float64Array; k: number; ofColumns: boolean } {
  const ofColumns = n <= m;
  const k = ofColumns ? n : m;
  const g = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = i; j < k; j++) {
      let sum = 0;
      if (ofColumns) for (let r = 0; r < m; r++) sum += values[r * n + i]! * values[r * n + j]!;
      else for (let c = 0; c < n; c++) sum += values[i * n + c]! * values[j * n + c]!;
      g[i * k + j] = sum;
      g[j * k + i] = sum;
    }
  }
  return { gram: g, k, ofColumns };
}
