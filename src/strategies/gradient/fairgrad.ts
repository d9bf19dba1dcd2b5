/**
 * FairGrad — H. Ban, K. Ji, "Fair Resource Allocation in Multi-Task Learning", ICML 2024. Reference: LibMTL,
 * LibMTL/weighting/FairGrad.py (read at commit 43368048), from the authors' code (github.com/OptMN-Lab/fairgrad).
 *
 * Treats the update as a resource shared by the tasks and maximises the α-fair utility Σ_i u_i^{1−α}/(1−α) of the
 * tasks' directional derivatives u_i = g_iᵀd (log u_i at α = 1). Its optimality condition gives d = Σ_i w_i g_i with
 * w > 0 solving
 *   (G w)_i = w_i^{−1/α}   for every task i   (G_ij = g_iᵀg_j),
 * so each task's improvement g_iᵀd equals w_i^{−1/α}. α = 1 is proportional fairness (Nash-MTL's system
 * (Gw)_i = 1/w_i); α → ∞ tends to max-min fairness (MGDA-like); α → 0 to the plain sum. Default α = 1
 * (LibMTL's `FairGrad_alpha`).
 *
 * Solver (ours; LibMTL calls scipy's least_squares on the residual from w = 1/T): the system is ∇f(w) = 0 for the
 * strictly convex
 *   f(w) = ½ wᵀGw − Σ_i h(w_i),   h(w) = log w (α = 1), w^{1−1/α} / (1 − 1/α) (otherwise),   on w > 0,
 * ∇f = Gw − w^{−1/α},  ∇²f = G + diag(w^{−1/α−1} / α), minimised by damped Newton (backtracking that keeps w > 0 and
 * satisfies Armijo, or near the solution lowers ‖∇f‖). f has a minimiser exactly when 0 is not in the convex hull of
 * the gradients (no Pareto stationarity), even for a rank-deficient G (fewer dimensions than tasks); where Newton does
 * not converge (no solution, or as good as none) it is solved again with a ridge of 1e-10 on the scaled diagonal,
 * which keeps w finite. For conditioning it is solved on Ĝ = G / s, s = max_i G_ii: Ĝu = u^{−1/α}, then
 * w = s^{−α/(α+1)} u. A task whose gradient is zero cannot satisfy its equation (LibMTL's solver then drives its
 * weight up without bound); it gets weight 0 here, which leaves the update unchanged, and the others are solved
 * without it.
 *
 * Task-specific parameters (heads) get w_i ∇L_i, as LibMTL's `Σ w_i L_i` backward gives them (`taskScales`).
 *
 * Gradient target (`grad_target: auto`): params. The other target: allowed when asked for explicitly, with a note. Why:
 * Ban & Ji allocate the update of the shared parameters (Algorithm 1); the paper defines no representation variant
 * (LibMTL refuses one).
 */
import { bilinear, gram, linearCombination, matVec, solveLinear, type Matrix } from '../../numerics/index.js';
import { numberOption } from '../../util/options.js';
import { checkGrads, stateless } from './support.js';
import type { CombinerDefinition } from './types.js';

/** The weights w solving (Gw)_i = w_i^{−1/α} (see the file header). */
export function fairGradWeights(g: Matrix, alpha: number, maxIterations = 100): number[] {
  const scale = g.reduce((best, row, i) => Math.max(best, row[i]!), 0);
  const weights = new Array<number>(g.length).fill(0);
  if (!(scale > 0)) return weights;
  const live = g.map((_, i) => i).filter((i) => g[i]![i]! > 0);
  const scaled = (ridge: number): Matrix => live.map((i) => live.map((j) => g[i]![j]! / scale + (i === j ? ridge : 0)));
  // Exact first; where it has no solution (Pareto stationarity, or as good as) the ridge makes one.
  let solved = newtonSolve(scaled(0), alpha, maxIterations);
  if (!solved.converged) solved = newtonSolve(scaled(1e-10), alpha, maxIterations);
  const unscale = scale ** (-alpha / (alpha + 1));
  live.forEach((i, k) => (weights[i] = solved.u[k]! * unscale));
  return weights;
}

/** Damped Newton on f(u) = ½uᵀHu − Σ h(u_i) from u = 1; `converged` when ∇f = Hu − u^{−1/α} vanished to rounding. */
function newtonSolve(h: Matrix, alpha: number, maxIterations: number): { u: number[]; converged: boolean } {
  const power = -1 / alpha;
  const barrier = (u: readonly number[]): number =>
    u.reduce((s, x) => s + (alpha === 1 ? Math.log(x) : x ** (1 + power) / (1 + power)), 0);
  const f = (u: readonly number[]): number => 0.5 * bilinear(h, u, u) - barrier(u);
  let u = h.map(() => 1); // exact for orthogonal gradients of equal length
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    const hu = matVec(h, u);
    const grad = hu.map((v, i) => v - u[i]! ** power);
    // Rounding of (Hu)_i is relative to Σ_j |H_ij u_j|, which cancellation can make far larger than (Hu)_i.
    const magnitude = h.map((row, i) => row.reduce((s, v, j) => s + Math.abs(v * u[j]!), u[i]! ** power));
    if (grad.every((v, i) => Math.abs(v) <= 1e-13 * magnitude[i]!)) return { u, converged: true };
    const hessian = h.map((row, i) => row.map((v, j) => v + (i === j ? u[i]! ** (power - 1) / alpha : 0)));
    const delta = solveLinear(
      hessian,
      grad.map((v) => -v),
    );
    const slope = delta ? grad.reduce((s, v, i) => s + v * delta[i]!, 0) : 0;
    // Newton decrement below rounding: as far as float64 goes (converged unless u ran away).
    if (!delta || -slope < 1e-26) return { u, converged: u.every((x) => x < 1e12) };
    let step = 1;
    while (u.some((x, i) => x + step * delta[i]! <= 0)) step /= 2;
    const f0 = f(u);
    const at = (t: number): number[] => u.map((x, i) => x + t * delta[i]!);
    // Armijo on f, or — where f's rounding hides the decrease near the solution — a smaller residual ‖∇f‖.
    const residual = (v: readonly number[]): number =>
      matVec(h, v).reduce((s, x, i) => s + (x - v[i]! ** power) ** 2, 0);
    const r0 = residual(u);
    while (step > 1e-12 && f(at(step)) > f0 + 0.25 * step * slope && !(residual(at(step)) < r0)) step /= 2;
    u = at(step);
  }
  return { u, converged: false };
}

export const fairgrad: CombinerDefinition = {
  name: 'fairgrad',
  paper: 'H. Ban, K. Ji, "Fair Resource Allocation in Multi-Task Learning", ICML 2024',
  gradTarget: {
    paper: 'params',
    other: 'not-in-paper',
    reason:
      'Ban & Ji allocate the update of the shared parameters (Algorithm 1); the paper defines no representation ' +
      'variant (LibMTL refuses one).',
  },
  optionsSchema: {
    type: 'object',
    properties: {
      alpha: {
        type: 'number',
        exclusiveMinimum: 0,
        default: 1,
        description: 'Fairness α of the utility (1: proportional fairness, large: towards max-min fairness).',
      },
    },
    additionalProperties: false,
  },
  create(options, _seed, taskCount) {
    const alpha = numberOption(options, 'strategy.alpha', 1, { exclusiveMinimum: 0 });
    return stateless(({ grads }) => {
      checkGrads('fairgrad', grads, taskCount);
      const weights = fairGradWeights(gram(grads), alpha);
      // The reference backpropagates Σ w_i L_i: each task's own parameters get w_i ∇L_i too.
      return { combined: linearCombination(grads, weights), weights, taskScales: [...weights] };
    });
  },
};
