/**
 * Data-based task relatedness: how the targets of two tasks go together on the training rows, before any model.
 *
 * Each task's targets are columns: a regression task's values (one column per output), a binary task's 0/1, a
 * multilabel task's 0/1 per label (numeric columns), a multiclass task's class index (a categorical column).
 *
 * Association of two columns, by their kinds:
 *   numeric–numeric          Pearson's r = Σ(x−x̄)(y−ȳ) / √(Σ(x−x̄)² Σ(y−ȳ)²)   (signed; binary 0/1 gives the φ
 *                            coefficient)
 *   categorical–numeric      the correlation ratio η = √(Σ_c n_c (ȳ_c − ȳ)² / Σ(y − ȳ)²) (Pearson 1903; in [0, 1])
 *   categorical–categorical  Cramér's V = √(χ² / (n·(min(k_x, k_y) − 1)))  (Cramér 1946; in [0, 1])
 *
 * Mutual information (nats) of two columns: numeric columns with more than {@link MI_BINS} distinct values are cut
 * into {@link MI_BINS} quantile bins (equal counts; ties stay in one bin), others keep one bin per value. The estimate
 * is the plug-in MI with the Miller–Madow correction (Miller 1955) on each entropy, H_MM = H_plugin + (m − 1)/(2n)
 * with m the non-empty cells, so MI_MM = H_MM(X) + H_MM(Y) − H_MM(X,Y) = MI_plugin + (m_x + m_y − m_xy − 1)/(2n):
 * the plug-in's upward bias for independent columns, (m_x−1)(m_y−1)/(2n), is removed to first order. It is reported
 * as is (it may fall slightly below 0 for independent targets) and normalised as NMI = MI_MM / √(H_MM(X)·H_MM(Y))
 * (1 for identical columns).
 *
 * Two tasks with several columns each: the mean over all pairs of their columns.
 */

export const MI_BINS = 10;

export type TargetColumn =
  | { kind: 'numeric'; values: ArrayLike<number> }
  | { kind: 'categorical'; codes: ArrayLike<number> };

function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s / Math.max(1, values.length);
}

export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < x.length; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx === 0 || syy === 0 ? NaN : sxy / Math.sqrt(sxx * syy);
}

export function correlationRatio(codes: ArrayLike<number>, y: ArrayLike<number>): number {
  const my = mean(y);
  const sums = new Map<number, { sum: number; count: number }>();
  let total = 0;
  for (let i = 0; i < y.length; i++) {
    const entry = sums.get(codes[i]!) ?? { sum: 0, count: 0 };
    entry.sum += y[i]!;
    entry.count++;
    sums.set(codes[i]!, entry);
    total += (y[i]! - my) ** 2;
  }
  let between = 0;
  for (const { sum, count } of sums.values()) between += count * (sum / count - my) ** 2;
  return total === 0 ? NaN : Math.sqrt(between / total);
}

/** Contingency counts of two code columns (codes are small non-negative integers or any numbers). */
function contingency(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
): {
  joint: Map<string, number>;
  left: Map<number, number>;
  right: Map<number, number>;
} {
  const joint = new Map<string, number>();
  const left = new Map<number, number>();
  const right = new Map<number, number>();
  for (let i = 0; i < a.length; i++) {
    const key = `${a[i]!}|${b[i]!}`;
    joint.set(key, (joint.get(key) ?? 0) + 1);
    left.set(a[i]!, (left.get(a[i]!) ?? 0) + 1);
    right.set(b[i]!, (right.get(b[i]!) ?? 0) + 1);
  }
  return { joint, left, right };
}

export function cramersV(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  const { joint, left, right } = contingency(a, b);
  let chi2 = 0;
  for (const [x, nx] of left) {
    for (const [y, ny] of right) {
      const expected = (nx * ny) / n;
      chi2 += ((joint.get(`${x}|${y}`) ?? 0) - expected) ** 2 / expected;
    }
  }
  const k = Math.min(left.size, right.size) - 1;
  return k <= 0 ? NaN : Math.sqrt(chi2 / (n * k));
}

/** Bin index per value: one bin per distinct value when there are at most `bins`, else equal-count quantile bins. */
export function quantileBins(values: ArrayLike<number>, bins = MI_BINS): Int32Array {
  const n = values.length;
  const distinct = [...new Set(Array.from(values))].sort((p, q) => p - q);
  const out = new Int32Array(n);
  if (distinct.length <= bins) {
    const index = new Map(distinct.map((v, i) => [v, i]));
    for (let i = 0; i < n; i++) out[i] = index.get(values[i]!) ?? 0;
    return out;
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((p, q) => values[p]! - values[q]!);
  let bin = 0;
  for (let rank = 0; rank < n; rank++) {
    const i = order[rank]!;
    const previous = rank > 0 ? values[order[rank - 1]!]! : NaN;
    // A new bin starts where the rank crosses the next quantile, but never between equal values.
    if (rank > 0 && values[i]! !== previous && Math.floor((rank * bins) / n) > bin) bin = Math.floor((rank * bins) / n);
    out[i] = bin;
  }
  return out;
}

function entropy(counts: Iterable<number>, n: number): { plugin: number; cells: number } {
  let h = 0;
  let cells = 0;
  for (const c of counts) {
    if (c === 0) continue;
    cells++;
    h -= (c / n) * Math.log(c / n);
  }
  return { plugin: h, cells };
}

export interface MutualInformation {
  /** Miller–Madow corrected, nats. */
  nats: number;
  /** The plug-in estimate, nats. */
  plugin: number;
  /** nats / √(H_MM(X)·H_MM(Y)); NaN when a column is constant. */
  normalised: number;
}

/** MI of two discrete columns (bin or class codes). */
export function mutualInformation(a: ArrayLike<number>, b: ArrayLike<number>): MutualInformation {
  const n = a.length;
  const { joint, left, right } = contingency(a, b);
  const hx = entropy(left.values(), n);
  const hy = entropy(right.values(), n);
  const hxy = entropy(joint.values(), n);
  const correction = (cells: number): number => (cells - 1) / (2 * n);
  const mmX = hx.plugin + correction(hx.cells);
  const mmY = hy.plugin + correction(hy.cells);
  const mmXY = hxy.plugin + correction(hxy.cells);
  const nats = mmX + mmY - mmXY;
  const scale = Math.sqrt(mmX * mmY);
  return { nats, plugin: hx.plugin + hy.plugin - hxy.plugin, normalised: scale > 0 ? nats / scale : NaN };
}

export function association(x: TargetColumn, y: TargetColumn): number {
  if (x.kind === 'numeric' && y.kind === 'numeric') return pearson(x.values, y.values);
  if (x.kind === 'categorical' && y.kind === 'categorical') return cramersV(x.codes, y.codes);
  if (x.kind === 'categorical' && y.kind === 'numeric') return correlationRatio(x.codes, y.values);
  if (x.kind === 'numeric' && y.kind === 'categorical') return correlationRatio(y.codes, x.values);
  return NaN;
}

function discrete(column: TargetColumn): ArrayLike<number> {
  return column.kind === 'categorical' ? column.codes : quantileBins(column.values);
}

export interface TargetPair {
  association: number;
  /** Which measure `association` is: the kinds decide it (see the file's head). */
  measure: 'pearson' | 'correlation-ratio' | 'cramers-v' | 'mixed';
  mutualInformation: number;
  normalisedMutualInformation: number;
}

function measureOf(x: TargetColumn, y: TargetColumn): TargetPair['measure'] {
  if (x.kind === 'numeric' && y.kind === 'numeric') return 'pearson';
  return x.kind === 'categorical' && y.kind === 'categorical' ? 'cramers-v' : 'correlation-ratio';
}

/** The measures of two tasks' targets: the mean over every pair of their columns. */
export function targetPair(a: readonly TargetColumn[], b: readonly TargetColumn[]): TargetPair {
  let assoc = 0;
  let mi = 0;
  let nmi = 0;
  const measures = new Set<TargetPair['measure']>();
  for (const x of a) {
    for (const y of b) {
      assoc += association(x, y);
      const information = mutualInformation(discrete(x), discrete(y));
      mi += information.nats;
      nmi += information.normalised;
      measures.add(measureOf(x, y));
    }
  }
  const pairs = Math.max(1, a.length * b.length);
  const [only] = measures;
  return {
    association: assoc / pairs,
    measure: measures.size === 1 && only ? only : 'mixed',
    mutualInformation: mi / pairs,
    normalisedMutualInformation: nmi / pairs,
  };
}
