/**
 * Summaries across tasks and runs, shared by evaluation and `mtl compare`.
 */

/**
 * Signed relative change against a baseline, oriented so that positive always means better:
 *   r = s · (value − baseline) / |baseline|,  s = +1 if higher is better, −1 if lower is better.
 * Dividing by |baseline| (not baseline) keeps the orientation right for metrics that can be negative, such as r2.
 * NaN when the baseline is 0 (no scale to be relative to) or either input is NaN.
 */
export function relativeImprovement(value: number, baseline: number, higherIsBetter: boolean): number {
  if (baseline === 0) return NaN;
  const r = (value - baseline) / Math.abs(baseline);
  return higherIsBetter ? r : -r;
}

/**
 * Multi-task performance Δm (Maninis et al. 2019; Vandenhende et al. 2021): the mean over the T entries (one per
 * task metric) of relativeImprovement(value, baseline, higherIsBetter), i.e.
 *   Δm = (1/T) · Σ_i s_i · (M_i − B_i) / |B_i|.
 * Returned as a fraction: the papers report ×100 (percent), callers format it. A NaN entry (baseline 0, missing
 * value) makes Δm NaN on purpose, since silently dropping a task would change what is being compared.
 * NaN for an empty list.
 */
export function deltaM(perTask: ReadonlyArray<{ value: number; baseline: number; higherIsBetter: boolean }>): number {
  if (perTask.length === 0) return NaN;
  let sum = 0;
  for (const e of perTask) sum += relativeImprovement(e.value, e.baseline, e.higherIsBetter);
  return sum / perTask.length;
}

/** Arithmetic mean of the non-NaN values (e.g. over seeds where some runs diverged); NaN when none is left. */
export function meanOver(values: readonly number[]): number {
  let sum = 0;
  let count = 0;
  for (const v of values) {
    if (Number.isNaN(v)) continue;
    sum += v;
    count++;
  }
  return count === 0 ? NaN : sum / count;
}
