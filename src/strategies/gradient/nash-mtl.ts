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
 * What the authors' code (github.com/AvivNavon/nash-mtl, methods/weight_methods.py, NashMTL) does and we do too:
 * - It backpropagates Σ_i α_i L_i, so the shared parameters get d = Σ_i α_i g_i and each task's own parameters
 *   (its head) get α_i ∇L_i: the combiner returns α as `taskScales`, which the trainer applies to the heads.
 * - `max_norm` (default 1.0, as theirs): after that backward they call clip_grad_norm_(shared_parameters, max_norm),
 *   i.e. d ← d · max_norm / (‖d‖ + 1e-6) when that factor is below 1 (torch's formula, its 1e-6 included); the heads
 *   are not clipped. 0 turns the clip off. The reported weights include that factor (combined = Σ w_i g_i), the
 *   head scales do not.
 * - `update_weights_every` = k (default 1): solve on every k-th step (steps 0, k, 2k, …), reuse α in between.
 * - Warm start from the previous step's α.
 * Where we differ, on purpose (the same fixed point, reached exactly):
 * - Their solver runs at most `optim_niter` = 20 linearised convex programs (cvxpy, ECOS), stops early when
 *   ‖G'α − 1/α‖ < 1e-3 or α moves less than 1e-6, and keeps the previous α when ECOS fails; ours is the Newton
 *   iteration above, run to float64 convergence (at most 100 steps), so there is no `optim_niter` option.
 * - They scale GᵀG by its Frobenius norm for the solver, but put the same factor back inside the constraint
 *   log(α_i·n) + log((Gα/n)_i) ≥ 0, so their α solves the unscaled system (Gα)_i = 1/α_i as ours; our scaling is the
 *   per-gradient one (the cosine matrix above).
 * On representation gradients (not in the paper, only when asked for) d and its clip are on the representation's
 * gradient, not on the shared parameters'. State: step counter and last α.
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

/**
 * The factor torch.nn.utils.clip_grad_norm_ applies to a gradient of norm `norm` (the authors' clip of the shared
 * parameters): max_norm / (norm + 1e-6) when that is below 1, else 1; max_norm 0 turns the clip off.
 */
export function clipFactor(norm: number, maxNorm: number): number {
  if (maxNorm <= 0) return 1;
  const factor = maxNorm / (norm + 1e-6);
  return Math.min(factor, 1);
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
      max_norm: {
        type: 'number',
        minimum: 0,
        default: 1,
        description:
          "Clip the shared update's L2 norm to this (the authors' clip_grad_norm_ of the shared parameters); 0: off.",
      },
      update_weights_every: {
        type: 'integer',
        minimum: 1,
        default: 1,
        description: "Solve for α on every k-th step and reuse it in between (the authors' option).",
      },
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
        const clip = clipFactor(Math.sqrt(dot(combined, combined)), maxNorm);
        if (clip !== 1) for (let k = 0; k < combined.length; k++) combined[k]! *= clip;
        return { combined, weights: alpha.map((a) => a * clip), taskScales: [...alpha] };
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
