/**
 * MGDA-UB — O. Sener, V. Koltun, "Multi-Task Learning as Multi-Objective Optimization", NeurIPS 2018.
 *
 * The weights are the minimum-norm point of the convex hull of the (normalised) task gradients:
 *   α = argmin_{α ∈ Δ_T} ‖Σ_i α_i g_i / n_i‖²
 * with n_i from `normalization` as in the authors' code (`gradient_normalizers`): none → 1, l2 → ‖g_i‖,
 * loss → L_i, loss+ → L_i‖g_i‖. The normalisation is not in the paper; with `none` (the default) both updates below
 * are the same.
 *   apply_to: raw (default, the authors' code: it scales the losses by α and backpropagates)   d = Σ_i α_i g_i
 *   apply_to: normalized (α on the normalised gradients, the min-norm point itself)            d = Σ_i α_i g_i / n_i
 * Both are zero exactly at Pareto-stationary points. Along the `normalized` update every task decreases
 * (ĝ_iᵀd ≥ ‖d‖², ĝ_i = g_i / n_i); the `raw` update keeps that guarantee only when the n_i are equal (`none`),
 * since it reweights the min-norm point's terms by n_i.
 * The reported weights are the ones applied to the raw gradients (d = Σ_i w_i g_i): α_i for `raw`, α_i / n_i for
 * `normalized`.
 *
 * T = 2: closed form γ = clip(ĝ_2ᵀ(ĝ_2 − ĝ_1) / ‖ĝ_1 − ĝ_2‖², 0, 1), α = (γ, 1 − γ).
 * T ≥ 3: Frank–Wolfe over the simplex (the paper's Algorithm 2) in its fully-corrective form (Wolfe's min-norm
 * point algorithm): plain Frank–Wolfe with line search converges sublinearly and stalls on ill-conditioned Gram
 * matrices, this one ends exactly, so the KKT conditions hold to rounding: ĝ_iᵀm = ‖m‖² where α_i > 0 and
 * ≥ ‖m‖² where α_i = 0, m = Σ_i α_i ĝ_i.
 *
 * Gradient target (`grad_target: auto`): representation. The other target: defined too (no note). Why: Sener & Koltun
 * define MGDA on the shared parameters and propose MGDA-UB (§3.3), the same solver on the gradients of the shared
 * representation (an upper bound of the parameter problem), as the efficient method they evaluate; auto follows
 * MGDA-UB, grad_target: params gives plain MGDA.
 */
import { UsageError } from '../../errors.js';
import { gram, linearCombination, matVec, solveLinear, type Matrix } from '../../numerics/index.js';
import { enumOption } from '../../util/options.js';
import { checkGrads, stateless } from './support.js';
import type { CombinerDefinition } from './types.js';

const normalizations = ['none', 'l2', 'loss', 'loss+'] as const;
/** Which gradients α weights: the raw ones (the authors' code) or the normalised ones. */
const applyTargets = ['raw', 'normalized'] as const;

/** Weight γ on the first of two vectors minimising ‖γu + (1 − γ)v‖², from uᵀu, uᵀv, vᵀv. */
export function minNormPair(uu: number, uv: number, vv: number): number {
  const curvature = uu + vv - 2 * uv;
  if (!(curvature > 1e-15 * (uu + vv))) return 0.5; // u = v: every γ gives the same point.
  return Math.min(1, Math.max(0, (vv - uv) / curvature));
}

/**
 * Min-norm point of the hull of vectors with Gram matrix g, as simplex weights (Wolfe 1976). Major step: add the
 * Frank–Wolfe vertex argmin_i g_iᵀx. Minor steps: re-solve min ‖x‖ over the affine hull of the active vertices,
 * stepping back to the simplex boundary (dropping vertices) while that minimiser has non-positive weights.
 */
export function minNormElement(g: Matrix, maxIter = 50 * g.length): number[] {
  const gamma = g.length === 2 ? minNormPair(g[0]![0]!, g[0]![1]!, g[1]![1]!) : 0;
  if (g.length === 2) return [gamma, 1 - gamma];
  const diagonal = g.map((row, i) => row[i]!);
  const tol = 1e-12 * Math.max(...diagonal);
  const alpha = new Array<number>(g.length).fill(0);
  const first = diagonal.indexOf(Math.min(...diagonal));
  let active = [first];
  alpha[first] = 1;
  for (let iter = 0; iter < maxIter; iter++) {
    const gx = matVec(g, alpha); // g_iᵀx for x = Σ α_i g_i
    const xx = alpha.reduce((s, a, i) => s + a * gx[i]!, 0);
    const j = gx.indexOf(Math.min(...gx));
    if (xx - gx[j]! <= tol || active.includes(j)) break;
    active.push(j);
    for (;;) {
      // Affine minimiser over the active vertices: [G_SS c1; c1ᵀ 0] [μ; ν] = [0; c], with the border scaled
      // to the Gram entries (c = max diag) so that elimination does not mistake it for a zero pivot.
      const c = Math.max(...active.map((a) => g[a]![a]!));
      const bordered = active.map((a) => [...active.map((b) => g[a]![b]!), c]);
      const mu = solveLinear([...bordered, [...active.map(() => c), 0]], [...active.map(() => 0), c]);
      // Affinely dependent vertices (rounding): keep the last good point.
      if (!mu) return alpha;
      if (active.every((_, k) => mu[k]! > 0)) {
        active.forEach((a, k) => (alpha[a] = mu[k]!));
        break;
      }
      // Walk from α towards μ until the first weight hits zero.
      const theta = Math.min(...active.map((a, k) => (mu[k]! <= 0 ? alpha[a]! / (alpha[a]! - mu[k]!) : 1)));
      active.forEach((a, k) => (alpha[a]! += theta * (mu[k]! - alpha[a]!)));
      for (const a of active) if (alpha[a]! <= 1e-15) alpha[a] = 0;
      active = active.filter((a) => alpha[a]! > 0);
      const total = active.reduce((s, a) => s + alpha[a]!, 0);
      active.forEach((a) => (alpha[a]! /= total));
    }
  }
  return alpha;
}

export const mgda: CombinerDefinition = {
  name: 'mgda',
  paper: 'O. Sener, V. Koltun, "Multi-Task Learning as Multi-Objective Optimization", NeurIPS 2018',
  gradTarget: {
    paper: 'representation',
    other: 'variant',
    reason:
      'Sener & Koltun define MGDA on the shared parameters and propose MGDA-UB (§3.3), the same solver on the ' +
      'gradients of the shared representation (an upper bound of the parameter problem), as the efficient method ' +
      'they evaluate; auto follows MGDA-UB, grad_target: params gives plain MGDA.',
  },
  optionsSchema: {
    type: 'object',
    properties: {
      normalization: { enum: [...normalizations], default: 'none' },
      apply_to: { enum: [...applyTargets], default: 'raw' },
    },
    additionalProperties: false,
  },
  create(options, _seed, taskCount) {
    const normalization = enumOption(options, 'strategy.normalization', normalizations, 'none');
    const applyTo = enumOption(options, 'strategy.apply_to', applyTargets, 'raw');
    return stateless(({ grads, losses }) => {
      checkGrads('mgda', grads, taskCount);
      if (normalization.startsWith('loss') && losses?.length !== taskCount) {
        throw new UsageError(`mgda with normalization "${normalization}" needs the ${taskCount} task losses.`);
      }
      const g = gram(grads);
      const norms = g.map((row, i) => {
        const loss = losses?.[i] ?? 1;
        const n = { none: 1, l2: Math.sqrt(row[i]!), loss, 'loss+': loss * Math.sqrt(row[i]!) }[normalization];
        // Dividing by a zero (or negative) normaliser would flip or blow up the gradient; leave it unscaled.
        return n > 0 && Number.isFinite(n) ? n : 1;
      });
      const h = g.map((row, i) => row.map((v, j) => v / (norms[i]! * norms[j]!)));
      const alpha = minNormElement(h);
      const weights = applyTo === 'raw' ? alpha : alpha.map((a, i) => a / norms[i]!);
      return { combined: linearCombination(grads, weights), weights };
    });
  },
};
