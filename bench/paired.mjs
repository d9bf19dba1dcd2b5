/**
 * Paired timing of W1–W3 (issue #20: "the PyTorch reference from the same invocation"). On a shared VM one
 * product's speed moves by up to 2× from one minute to the next, so two figures measured a few seconds apart (our
 * child, then PyTorch's) give a ratio that moves by ±20 % between runs of the same code. Here every child of a round
 * (ours plain and FMA, PyTorch, each workload) starts at once, warms up, and then waits; the parent lets one child at a
 * time run one window of steps, cycling through all of them. Within a cycle the members of one workload run back to
 * back, so a ratio is taken between windows well under a second apart, once per cycle; the figure is the median of
 * those per-cycle ratios.
 *
 * Pure functions only (tested in test/bench-paired.test.ts); the children and the protocol are in run.mjs.
 */

/** @typedef {{ id: string, workload: string }} Member */

/**
 * The order in which the members run their window in cycle `cycle`: workload after workload as listed, and within a
 * workload its members as listed on even cycles and reversed on odd ones, so that no engine always runs first (right
 * after another workload's windows, with that one's data in the caches).
 * @param {readonly Member[]} members
 * @param {number} cycle
 * @returns {string[]}
 */
export function windowOrder(members, cycle) {
  /** @type {Map<string, string[]>} */
  const byWorkload = new Map();
  for (const m of members) {
    const ids = byWorkload.get(m.workload) ?? [];
    ids.push(m.id);
    byWorkload.set(m.workload, ids);
  }
  return [...byWorkload.values()].flatMap((ids) => (cycle % 2 === 0 ? ids : [...ids].reverse()));
}

/**
 * The median of `xs` (the mean of the two middle values for an even count); null for none.
 * @param {readonly number[]} xs
 */
export function medianOf(xs) {
  return quantileOf(xs, 0.5);
}

/**
 * The `q` quantile of `xs` by linear interpolation between order statistics (numpy's default); null for none.
 * @param {readonly number[]} xs
 * @param {number} q
 */
export function quantileOf(xs, q) {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const at = (s.length - 1) * q;
  const low = s[Math.floor(at)] ?? Number.NaN;
  const high = s[Math.ceil(at)] ?? Number.NaN;
  return low + (high - low) * (at - Math.floor(at));
}

/**
 * A paired ratio numerator / denominator from windows timed in the same cycles: per cycle where both measured, their
 * ratio; the figure is the median of those ratios, with the quartiles as its spread. Windows are ms/step, one entry
 * per cycle (null where the member did not run that cycle); cycles of several rounds are simply concatenated.
 * @param {ReadonlyArray<number | null>} numerator
 * @param {ReadonlyArray<number | null>} denominator
 * @returns {{ ratio: number | null, quartiles: [number, number] | null, cycles: number, ratios: number[] }}
 */
export function pairedRatio(numerator, denominator) {
  /** @type {number[]} */
  const ratios = [];
  const cycles = Math.min(numerator.length, denominator.length);
  for (let c = 0; c < cycles; c++) {
    const top = numerator[c] ?? null;
    const bottom = denominator[c] ?? null;
    if (typeof top === 'number' && typeof bottom === 'number' && top > 0 && bottom > 0) ratios.push(top / bottom);
  }
  const low = quantileOf(ratios, 0.25);
  const high = quantileOf(ratios, 0.75);
  return {
    ratio: medianOf(ratios),
    quartiles: low === null || high === null ? null : [low, high],
    cycles: ratios.length,
    ratios,
  };
}
