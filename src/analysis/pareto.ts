/**
 * Pareto optimality of configurations over their tasks' metrics (`mtl compare --sweep`). Multi-task learning as
 * multi-objective optimisation: Sener & Koltun, "Multi-Task Learning as Multi-Objective Optimization", NeurIPS 2018;
 * the dominance relation as in Miettinen, "Nonlinear Multiobjective Optimization", 1999, def. 2.1.1.
 *
 * With s_i = +1 for a metric where higher is better and −1 where lower is better, point a dominates point b when
 *   ∀ i: s_i·a_i ≥ s_i·b_i   and   ∃ i: s_i·a_i > s_i·b_i,
 * that is, a is at least as good on every objective and strictly better on one. A point is Pareto-optimal when no
 * other point dominates it (no objective can be improved without hurting another). Equal points do not dominate each
 * other, so ties are all optimal or all not; with one objective the optimal points are those with the best value.
 */

export const PARETO_RULE =
  "configuration A dominates B when A is at least as good as B on every task's main metric (in its direction) and " +
  'strictly better on one; the Pareto-optimal configurations are those no other dominates (ties dominate neither ' +
  'way). Only configurations with the same task set are compared, and one missing a main metric is not judged.';

/** Whether `a` dominates `b`; both have one value per objective, in the order of `higherIsBetter`. */
export function dominates(a: readonly number[], b: readonly number[], higherIsBetter: readonly boolean[]): boolean {
  if (a.length !== higherIsBetter.length || b.length !== higherIsBetter.length)
    throw new RangeError(`dominates: ${a.length} and ${b.length} values for ${higherIsBetter.length} objectives`);
  let strictlyBetter = false;
  for (const [i, higher] of higherIsBetter.entries()) {
    const sign = higher ? 1 : -1;
    const gain = sign * ((a[i] ?? NaN) - (b[i] ?? NaN));
    if (!(gain >= 0)) return false;
    if (gain > 0) strictlyBetter = true;
  }
  return strictlyBetter;
}

/**
 * For each point, whether it is Pareto-optimal among `points` (O(n²·k), fine for the rows of a sweep). Every value
 * must be finite: the caller leaves out a point it cannot judge.
 */
export function paretoOptimal(points: readonly (readonly number[])[], higherIsBetter: readonly boolean[]): boolean[] {
  for (const point of points)
    if (!point.every((v) => Number.isFinite(v))) throw new RangeError('paretoOptimal: every value must be finite');
  return points.map((point, i) => !points.some((other, j) => j !== i && dominates(other, point, higherIsBetter)));
}
