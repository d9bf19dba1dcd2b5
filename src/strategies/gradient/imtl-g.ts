/**
 * IMTL-G (`imtl-g`) — L. Liu, Y. Li, Z. Kuang, J.-H. Xue, Y. Chen, W. Yang, Q. Liao, W. Zhang, "Towards Impartial
 * Multi-task Learning", ICLR 2021 (gradient balance part).
 *
 * Find weights α with Σ α_i = 1 such that g = Σ α_i g_i has the same projection onto every unit task gradient
 * u_i = g_i / ‖g_i‖, i.e. gᵀ(u_1 − u_j) = 0 for j = 2..T. The paper's closed form,
 *   α_{2..T} = g_1 Uᵀ (D Uᵀ)⁻¹,  α_1 = 1 − Σ_{j≥2} α_j,   D_j = g_1 − g_j,  U_j = u_1 − u_j,
 * is the same solution written in Gram-matrix terms: gᵀg_i = c ‖g_i‖ for all i means G α = c n (n_i = ‖g_i‖).
 * With G = N C N (N = diag(n), C the cosine matrix) that is C (Nα) = c 1, so
 *   α_i ∝ (C⁻¹ 1)_i / ‖g_i‖,   normalised to Σ α_i = 1.
 * Solving with C rather than G keeps gradients of very different lengths from making the system ill-conditioned.
 * C⁻¹ is applied as a pseudo-inverse, so parallel or dependent gradients still give least-squares weights; if even
 * that degenerates the weights fall back to equal.
 *
 * This is the gradient half of the paper alone. The paper's IMTL (`imtl`, src/strategies/imtl.ts) runs it on the
 * gradients of IMTL-L's learned, scaled losses e^{s_i}·L_i in the same step; IMTL-L alone is `imtl-l`.
 *
 * Gradient target (`grad_target: auto`): representation. The other target: defined too (no note). Why: Liu et al.
 * compute IMTL-G on the gradients of the shared feature z rather than the shared parameters, for efficiency (§3.2, as
 * MGDA-UB); the parameter form is the same definition, applied to θ_sh.
 */
import { gram, linearCombination, pseudoSolve, sum } from '../../numerics/index.js';
import { checkGrads, stateless } from './support.js';
import type { CombinerDefinition } from './types.js';

export function imtlWeights(g: number[][]): number[] {
  const t = g.length;
  const norms = g.map((row, i) => Math.sqrt(Math.max(row[i]!, 0)));
  // A zero gradient has no direction to be impartial to; it gets weight 0 (it adds nothing to g either way).
  const live = norms.map((_, i) => i).filter((i) => norms[i]! > 0);
  const cosine = live.map((i) => live.map((j) => g[i]![j]! / (norms[i]! * norms[j]!)));
  const beta = pseudoSolve(
    cosine,
    live.map(() => 1),
  );
  const raw = new Array<number>(t).fill(0);
  live.forEach((i, k) => (raw[i] = beta[k]! / norms[i]!));
  const total = sum(raw);
  const alpha = raw.map((v) => v / total);
  return alpha.every(Number.isFinite) && Math.abs(total) > 1e-300 ? alpha : new Array<number>(t).fill(1 / t);
}

export const imtlG: CombinerDefinition = {
  name: 'imtl-g',
  paper: 'L. Liu et al., "Towards Impartial Multi-task Learning", ICLR 2021 (IMTL-G, the gradient half)',
  gradTarget: {
    paper: 'representation',
    other: 'variant',
    reason:
      'Liu et al. compute IMTL-G on the gradients of the shared feature z rather than the shared parameters, for ' +
      'efficiency (§3.2, as MGDA-UB); the parameter form is the same definition, applied to θ_sh.',
  },
  optionsSchema: { type: 'object', properties: {}, additionalProperties: false },
  create(_options, _seed, taskCount) {
    return stateless(({ grads }) => {
      checkGrads('imtl-g', grads, taskCount);
      const weights = imtlWeights(gram(grads));
      return { combined: linearCombination(grads, weights), weights };
    });
  },
};
