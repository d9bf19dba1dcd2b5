/**
 * Linear centred kernel alignment (Kornblith, Norouzi, Lee & Hinton 2019, "Similarity of Neural Network
 * Representations Revisited", ICML, eq. 5): for representations X (n×p) and Y (n×q) of the same n examples, with
 * every column centred,
 *
 *   CKA(X, Y) = ‖YᵀX‖²_F / (‖XᵀX‖_F · ‖YᵀY‖_F)
 *
 * It lies in [0, 1], is 1 for X with itself, and is invariant to orthogonal transforms and isotropic scaling of either
 * side (not to arbitrary invertible ones), so representations of different widths compare. For one column each it is
 * the squared Pearson correlation. Float64 throughout; a side whose columns are all constant has no similarity to
 * anything: NaN.
 */

/** A row-major matrix: `rows` examples of `cols` values each. */
export interface RowMatrix {
  rows: number;
  cols: number;
  data: ArrayLike<number>;
}

function centred(m: RowMatrix): Float64Array {
  const out = new Float64Array(m.rows * m.cols);
  for (let c = 0; c < m.cols; c++) {
    let mean = 0;
    for (let r = 0; r < m.rows; r++) mean += m.data[r * m.cols + c]!;
    mean /= Math.max(1, m.rows);
    for (let r = 0; r < m.rows; r++) out[r * m.cols + c] = m.data[r * m.cols + c]! - mean;
  }
  return out;
}

/** ‖AᵀB‖²_F for A (n×p) and B (n×q), both row-major. */
function crossFrobeniusSquared(a: Float64Array, p: number, b: Float64Array, q: number, n: number): number {
  let total = 0;
  for (let i = 0; i < p; i++) {
    for (let j = 0; j < q; j++) {
      let s = 0;
      for (let r = 0; r < n; r++) s += a[r * p + i]! * b[r * q + j]!;
      total += s * s;
    }
  }
  return total;
}

export function linearCka(x: RowMatrix, y: RowMatrix): number {
  if (x.rows !== y.rows) throw new Error(`CKA needs the same examples on both sides: ${x.rows} and ${y.rows} rows`);
  const n = x.rows;
  const cx = centred(x);
  const cy = centred(y);
  const xy = crossFrobeniusSquared(cy, y.cols, cx, x.cols, n);
  const xx = Math.sqrt(crossFrobeniusSquared(cx, x.cols, cx, x.cols, n));
  const yy = Math.sqrt(crossFrobeniusSquared(cy, y.cols, cy, y.cols, n));
  if (xx === 0 || yy === 0) return NaN;
  return xy / (xx * yy);
}
