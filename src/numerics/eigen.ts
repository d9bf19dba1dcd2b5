/**
 * The one symmetric eigensolver: cyclic Jacobi rotations (Numerical Recipes §11.1) — rotate away each off-diagonal
 * entry in turn until the off-diagonal mass is negligible against the diagonal. Slow for big matrices, exact to
 * rounding and unconditionally convergent for the sizes met here: T×T Gram matrices of task gradients (Aligned-MTL,
 * IMTL's pseudo-inverse) and the k×k Gram matrix of a weight matrix (the nuclear norm, k ≤ a layer's width).
 */
import type { Matrix } from './matrix.js';

/**
 * Eigen-decomposition of a symmetric n×n row-major matrix: eigenvalues and eigenvectors as the columns of `vectors`.
 */
export function symmetricEigenPacked(matrix: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let p = 0; p < n; p++) {
      diag += a[p * n + p]! ** 2;
      for (let q = p + 1; q < n; q++) off += a[p * n + q]! ** 2;
    }
    if (off === 0 || off <= 1e-30 * diag) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        const app = a[p * n + p]!;
        const aqq = a[q * n + q]!;
        // Rotation J (J_pp = J_qq = c, J_pq = s, J_qp = −s) with (JᵀAJ)_pq = 0: t = tan of the angle, the smaller
        // root of t² + 2θt − 1 = 0.
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          // A ← A J (columns p, q)
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
          // V ← V J
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
        for (let k = 0; k < n; k++) {
          // A ← Jᵀ A (rows p, q)
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        a[p * n + q] = 0;
        a[q * n + p] = 0;
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i]!;
  return { values, vectors: v };
}

export interface Eigen {
  /** Eigenvalues, in no particular order. */
  values: number[];
  /** vectors[row][k] is component `row` of the eigenvector for values[k] (columns are orthonormal). */
  vectors: Matrix;
}

/** {@link symmetricEigenPacked} for a small matrix given as rows. */
export function symmetricEigen(input: Matrix): Eigen {
  const n = input.length;
  const packed = new Float64Array(n * n);
  input.forEach((row, i) => row.forEach((x, j) => (packed[i * n + j] = x)));
  const { values, vectors } = symmetricEigenPacked(packed, n);
  return {
    values: Array.from(values),
    vectors: Array.from({ length: n }, (_, i) => Array.from(vectors.subarray(i * n, (i + 1) * n))),
  };
}
