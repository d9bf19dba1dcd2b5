/**
 * Euclidean projection onto the probability simplex {x ≥ 0, Σx = 1}: x = max(y − θ, 0) with θ chosen by the
 * sort-based rule of Held, Wolfe & Crowder (1974) / Duchi et al. (2008).
 */
export function projectOntoSimplex(y: readonly number[]): number[] {
  const sorted = [...y].sort((a, b) => b - a);
  let cumulative = 0;
  let theta = 0;
  for (const [k, v] of sorted.entries()) {
    cumulative += v;
    const candidate = (cumulative - 1) / (k + 1);
    if (v - candidate > 0) theta = candidate;
  }
  return y.map((v) => Math.max(v - theta, 0));
}
