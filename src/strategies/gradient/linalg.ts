/**
 * Dense linear algebra shared by the gradient combiners. Two sizes meet here: the P-long task gradients (float32,
 * touched only by `dot`, `gram` and `linearCombination`, always accumulating in float64) and the small T×T
 * problems built from their Gram matrix, which are solved in plain float64 JS.
 *
 * Almost every method only needs G = [g_iᵀg_j]: any vector of the form Σ c_i g_i has its dot products and norms
 * given by G, so the per-pair projections of PCGrad/GradVac are tracked as coefficient vectors and the P-long
 * result is formed once at the end.
 */

/** A small dense matrix, row-major: m[row][column]. */
export type Matrix = number[][];

export function dot(a: Float32Array, b: Float32Array): number {
  const n = a.length;
  // Two accumulators halve the dependency chain; the order is fixed, so results stay deterministic.
  let s0 = 0;
  let s1 = 0;
  let k = 0;
  for (; k + 1 < n; k += 2) {
    s0 += a[k] * b[k];
    s1 += a[k + 1] * b[k + 1];
  }
  if (k < n) s0 += a[k] * b[k];
  return s0 + s1;
}

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
  const t = grads.length;
  const g: Matrix = Array.from({ length: t }, () => new Array<number>(t).fill(0));
  for (let i = 0; i < t; i++) {
    for (let j = i; j < t; j++) {
      const v = dot(grads[i], grads[j]);
      g[i][j] = v;
      g[j][i] = v;
    }
  }
  return g;
}

/** y ← y + a·x (float64 accumulator). */
export function axpy(a: number, x: Float32Array, y: Float64Array): void {
  const n = x.length;
  for (let k = 0; k < n; k++) y[k] += a * x[k];
}

/**
 * Σ w_i g_i as float32, summed in float64 from 0 in task order, skipping zero weights: per element the sum that
 * repeated `axpy` into a float64 accumulator gives, but in one pass and without the P-long float64 array (for W2,
 * PCGrad on 234k shared parameters, that was ~1 ms of a 30 ms step).
 */
export function linearCombination(grads: readonly Float32Array[], weights: readonly number[]): Float32Array {
  const p = grads.length > 0 ? grads[0].length : 0;
  const out = new Float32Array(p);
  const used = grads.map((g, i) => ({ g, w: weights[i] })).filter((u) => u.w !== 0);
  if (used.length === 2) {
    // The common case (two tasks) without the inner loop.
    const [a, b] = used as [{ g: Float32Array; w: number }, { g: Float32Array; w: number }];
    for (let k = 0; k < p; k++) {
      let sum = 0;
      sum += a.w * a.g[k];
      sum += b.w * b.g[k];
      out[k] = sum;
    }
    return out;
  }
  for (let k = 0; k < p; k++) {
    let sum = 0;
    for (const u of used) sum += u.w * u.g[k];
    out[k] = sum;
  }
  return out;
}

export function matVec(m: Matrix, x: readonly number[]): number[] {
  return m.map((row) => row.reduce((s, v, j) => s + v * x[j], 0));
}

/** xᵀ M y. */
export function bilinear(m: Matrix, x: readonly number[], y: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    if (x[i] === 0) continue;
    for (let j = 0; j < y.length; j++) s += x[i] * m[i][j] * y[j];
  }
  return s;
}

/** Σ over rows: turns per-task coefficient rows (g_i' = Σ_k c_ik g_k) into the weights of Σ_i g_i'. */
export function columnSums(rows: Matrix): number[] {
  const width = rows.length > 0 ? rows[0].length : 0;
  return rows.reduce((acc, row) => acc.map((x, k) => x + row[k]), new Array<number>(width).fill(0));
}

export function sum(x: readonly number[]): number {
  return x.reduce((s, v) => s + v, 0);
}

/** Largest diagonal entry (the squared norm of the longest gradient), the natural scale of a Gram matrix. */
export function maxDiagonal(m: Matrix): number {
  return m.reduce((best, row, i) => Math.max(best, row[i]), 0);
}

/**
 * Euclidean projection onto the probability simplex {x ≥ 0, Σx = 1}: x = max(y − θ, 0) with θ chosen by the
 * sort-based rule of Held, Wolfe & Crowder (1974) / Duchi et al. (2008).
 */
export function projectOntoSimplex(y: readonly number[]): number[] {
  const sorted = [...y].sort((a, b) => b - a);
  let cumulative = 0;
  let theta = 0;
  for (let k = 0; k < sorted.length; k++) {
    cumulative += sorted[k];
    const candidate = (cumulative - 1) / (k + 1);
    if (sorted[k] - candidate > 0) theta = candidate;
  }
  return y.map((v) => Math.max(v - theta, 0));
}

export interface Eigen {
  /** Eigenvalues, in no particular order. */
  values: number[];
  /** vectors[row][k] is component `row` of the eigenvector for values[k] (columns are orthonormal). */
  vectors: Matrix;
}

/**
 * Cyclic Jacobi eigen-decomposition of a symmetric matrix: rotate away each off-diagonal entry in turn until the
 * off-diagonal mass is negligible. Slow for big matrices, exact to rounding and unconditionally stable for the
 * T ≤ ~20 Gram matrices met here.
 */
export function symmetricEigen(input: Matrix): Eigen {
  const n = input.length;
  const a = input.map((row) => [...row]);
  const v: Matrix = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  const total = a.reduce((s, row) => s + row.reduce((r, x) => r + x * x, 0), 0);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p][q] * a[p][q];
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p][q];
        if (apq === 0) continue;
        // t = tan of the rotation angle, the smaller root of t² + 2θt − 1 = 0, so that the rotation zeroes a[p][q].
        const theta = (a[q][q] - a[p][p]) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k][p];
          const akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p][k];
          const aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k][p];
          const vkq = v[k][q];
          v[k][p] = c * vkp - s * vkq;
          v[k][q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: a.map((row, i) => row[i]), vectors: v };
}

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
    for (let i = 0; i < b.length; i++) proj += vectors[i][k] * b[i];
    for (let i = 0; i < b.length; i++) x[i] += (proj / lambda) * vectors[i][k];
  });
  return x;
}

/** Solves A x = b by Gaussian elimination with partial pivoting; null when A is (numerically) singular. */
export function solveLinear(matrix: Matrix, rhs: readonly number[]): number[] | null {
  const n = rhs.length;
  const a = matrix.map((row, i) => [...row, rhs[i]]);
  const scale = Math.max(...matrix.flat().map(Math.abs));
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) pivot = r;
    if (!(Math.abs(a[pivot][col]) > 1e-14 * scale)) return null;
    [a[col], a[pivot]] = [a[pivot], a[col]];
    for (let r = col + 1; r < n; r++) {
      const f = a[r][col] / a[col][col];
      if (f !== 0) for (let k = col; k <= n; k++) a[r][k] -= f * a[col][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = a[r][n];
    for (let k = r + 1; k < n; k++) s -= a[r][k] * x[k];
    x[r] = s / a[r][r];
  }
  return x;
}
