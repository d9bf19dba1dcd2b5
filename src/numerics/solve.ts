/** Small linear systems (T×T), in float64. */
import { symmetricEigen } from './eigen.js';
import type { Matrix } from './matrix.js';

/**
 * Minimum-norm least-squares solution of M x = b for symmetric positive semi-definite M (pseudo-inverse through
 * the eigen-decomposition), so rank-deficient Gram matrices — parallel or dependent task gradients — still give a
 * finite answer. Eigenvalues below relTol·λ_max count as zero.
 */
export function pseudoSolve(m: Matrix, b: readonly number[], relTol = 1e-10): number[] {
  const { values, vectors } = symmetricEigen(m);
  const cutoff = relTol * Math.max(0, ...values);
  const x = new Array<number>(b.length).fill(0);
  values.forEach((lambda, k) => {
    if (!(lambda > cutoff)) return;
    let proj = 0;
    for (let i = 0; i < b.length; i++) proj += vectors[i]![k]! * b[i]!;
    for (let i = 0; i < b.length; i++) x[i]! += (proj / lambda) * vectors[i]![k]!;
  });
  return x;
}

/** Solves A x = b by Gaussian elimination with partial pivoting; null when A is (numerically) singular. */
export function solveLinear(matrix: Matrix, rhs: readonly number[]): number[] | null {
  const n = rhs.length;
  const a = matrix.map((row, i) => [...row, rhs[i]!]);
  const scale = Math.max(...matrix.flat().map(Math.abs));
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    const top = a[pivot]!;
    if (!(Math.abs(top[col]!) > 1e-14 * scale)) return null;
    a[pivot] = a[col]!;
    a[col] = top;
    for (let r = col + 1; r < n; r++) {
      const row = a[r]!;
      const f = row[col]! / top[col]!;
      if (f !== 0) for (let k = col; k <= n; k++) row[k]! -= f * top[k]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    const row = a[r]!;
    let s = row[n]!;
    for (let k = r + 1; k < n; k++) s -= row[k]! * x[k]!;
    x[r] = s / row[r]!;
  }
  return x;
}
