/**
 * Nash-MTL — A. Navon, A. Shamsian, I. Achituve, H. Maron, K. Kawaguchi, G. Chechik, E. Fetaya, "Multi-Task
 * Learning as a Bargaining Game", ICML 2022.
 *
 * The Nash bargaining solution is d = Σ_i α_i g_i with α > 0 solving
 *   (G α)_i = 1 / α_i   for every task i   (G_ij = g_iᵀg_j),
 * i.e. each task's directional derivative g_iᵀd equals 1/α_i: no task can gain without another losing more in
 * proportion.
 *
 * Solver (ours, not the paper's): that system is exactly ∇f(α) = 0 for the strictly convex
 *   f(α) = ½ αᵀGα − Σ_i log α_i  on α > 0,   ∇f = Gα − 1/α,   ∇²f = G + diag(1/α²),
 * so we run damped Newton (backtracking that keeps α > 0 and satisfies Armijo) from the previous step's α. The
 * paper instead solves a sequence of linearised convex programs with cvxpy; both reach the same unique point.
 * For conditioning it is solved in β = Nα (N = diag‖g_i‖) on the cosine matrix C = N⁻¹GN⁻¹, where the system
 * reads (Cβ)_i = 1/β_i and does not care how long each gradient is. A ridge of 1e-10 on C's diagonal keeps f
 * bounded when the gradients are linearly dependent (then no exact solution exists and α grows large; max_norm
 * bounds the step).
 *
 * update_weights_every = k: solve on every k-th step, reuse α in between. max_norm > 0: scale d down to norm
 * max_norm, as the authors clip the shared parameters' gradient. Weights reported include that scaling; the raw
 * α (for weighting task-specific heads) is the `alpha` of state(). State: step counter and last α (warm start).
 *
 * Gradient target (`grad_target: auto`): params. The other target: allowed when asked for explicitly, with a note. Why:
 * Navon et al. bargain over the gradients of the shared parameters (Algorithm 1, as the authors' code); the paper
 * defines no representation variant (LibMTL refuses one).
 */
import { bilinear, dot, gram, linearCombination, matVec, solveLinear, type Matrix } from '../../numerics/index.js';
import { numberOption } from '../../util/options.js';
import { checkGrads, readPositiveVector, readStep } from './support.js';
import type { CombinerDefinition } from './types.js';

export function nashWeights(g: Matrix, start: readonly number[] | null, maxIter = 100): number[] {
  const norms = g.map((row, i) => Math.sqrt(Math.max(row[i]!, 0)));
  // A vanishing gradient makes (Gα)_i = 1/α_i unsolvable: such tasks keep their previous α (the authors' solver
  // keeps its last α when infeasible), or the natural scale 1/max‖g_j‖, and the rest is solved without them.
  const longest = Math.max(...norms);
  const fallback = longest > 0 ? 1 / longest : 1;
  const live = norms.map((_, i) => i).filter((i) => norms[i]! > 0);
  const result = g.map((_, i) => start?.[i] ?? fallback);
  const cosine = live.map((i) => live.map((j) => (i === j ? 1 + 1e-10 : g[i]![j]! / (norms[i]! * norms[j]!))));
  const f = (b: readonly number[]): number => 0.5 * bilinear(cosine, b, b) - b.reduce((s, x) => s + Math.log(x), 0);
  // β = Nα; cold start at β = 1, the exact answer for orthogonal gradients.
  let beta = live.map((i) => (start ? start[i]! * norms[i]! : 1));
  for (let iter = 0; iter < maxIter && live.length > 0; iter++) {
    const cb = matVec(cosine, beta);
    if (cb.every((v, i) => Math.abs(beta[i]! * v - 1) < 1e-13)) break;
    const grad = cb.map((v, i) => v - 1 / beta[i]!);
    const hessian = cosine.map((row, i) => row.map((v, j) => v + (i === j ? 1 / beta[i]! ** 2 : 0)));
    const delta = solveLinear(
      hessian,
      grad.map((v) => -v),
    );
    const slope = delta ? grad.reduce((s, v, i) => s + v * delta[i]!, 0) : 0;
    // Newton decrement below rounding: converged as far as float64 allows.
    if (!delta || -slope < 1e-24) break;
    let step = 1;
    while (beta.some((b, i) => b + step * delta[i]! <= 0)) step /= 2;
    const f0 = f(beta);
    const at = (h: number): number[] => beta.map((b, i) => b + h * delta[i]!);
    while (step > 1e-12 && f(at(step)) > f0 + 0.25 * step * slope) step /= 2;
    beta = at(step);
  }
  live.forEach((i, k) => (result[i] = beta[k]! / norms[i]!));
  return result;
}

export const nashMtl: CombinerDefinition = {
  name: 'nash-mtl',
  paper: 'A. Navon et al., "Multi-Task Learning as a Bargaining Game", ICML 2022',
  gradTarget: {
    paper: 'params',
    other: 'not-in-paper',
    reason:
      "Navon et al. bargain over the gradients of the shared parameters (Algorithm 1, as the authors' code); the " +
      'paper defines no representation variant (LibMTL refuses one).',
  },
  optionsSchema: {
    type: 'object',
    properties: {
      max_norm: { type: 'number', minimum: 0, default: 1 },
      update_weights_every: { type: 'integer', minimum: 1, default: 1 },
    },
    additionalProperties: false,
  },
  create(options, _seed, taskCount) {
    const maxNorm = numberOption(options, 'strategy.max_norm', 1);
    const every = Math.max(1, Math.round(numberOption(options, 'strategy.update_weights_every', 1)));
    let step = 0;
    let alpha: number[] | null = null;
    return {
      combine({ grads }) {
        checkGrads('nash-mtl', grads, taskCount);
        if (alpha === null || step % every === 0) alpha = nashWeights(gram(grads), alpha);
        step += 1;
        const combined = linearCombination(grads, alpha);
        const norm = Math.sqrt(dot(combined, combined));
        const clip = maxNorm > 0 && norm > maxNorm ? maxNorm / norm : 1;
        if (clip !== 1) for (let k = 0; k < combined.length; k++) combined[k]! *= clip;
        return { combined, weights: alpha.map((a) => a * clip) };
      },
      state: () => ({ step, alpha: alpha && [...alpha] }),
      restore(state) {
        step = readStep('nash-mtl', state);
        const saved = state === null || state === undefined ? null : (state as { alpha?: unknown }).alpha;
        alpha = readPositiveVector('nash-mtl', saved, taskCount);
      },
    };
  },
};
