/**
 * Small dense matrices (the T×T problems of the gradient combiners, T ≤ ~20), in plain float64 JS arrays.
 */

/** A small dense matrix, row-major: m[row][column]. */
export type Matrix = number[][];

export function matVec(m: Matrix, x: readonly number[]): number[] {
  return m.map((row) => row.reduce((s, v, j) => s + v * x[j]!, 0));
}

/** xᵀ M y. */
export function bilinear(m: Matrix, x: readonly number[], y: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]!;
    if (xi === 0) continue;
    const row = m[i]!;
    for (let j = 0; j < y.length; j++) s += xi * row[j]! * y[j]!;
  }
  return s;
}

/** Σ over rows: turns per-task coefficient rows (g_i' = Σ_k c_ik g_k) into the weights of Σ_i g_i'. */
export function columnSums(rows: Matrix): number[] {
  const width = rows[0]?.length ?? 0;
  return rows.reduce((acc, row) => acc.map((x, k) => x + row[k]!), new Array<number>(width).fill(0));
}

export function sum(x: readonly number[]): number {
  return x.reduce((s, v) => s + v, 0);
}

/** Largest diagonal entry (the squared norm of the longest gradient), the natural scale of a Gram matrix. */
export function maxDiagonal(m: Matrix): number {
  return m.reduce((best, row, i) => Math.max(best, row[i]!), 0);
}
