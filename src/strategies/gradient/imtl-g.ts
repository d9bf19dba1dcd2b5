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
 * Dependent gradients (C singular, e.g. more tasks than dimensions): the conditions still have exact solutions.
 * - 1 in the range of C (e.g. parallel gradients): β = C⁺1, the least-norm one;
 * - otherwise c must be 0: Cβ = 0, so g = 0 — no non-zero g projects equally onto all the unit gradients. β is the
 *   least-norm null vector of C with Σ β_i / ‖g_i‖ = 1; this is what the paper's closed form gives where (D Uᵀ)⁻¹
 *   exists (e.g. T − 1 tasks' worth of dimensions), and what LibMTL computes (a least-squares β there would give a
 *   non-zero g with unequal projections, as TorchJD's pseudo-inverse generalisation does).
 * If even that degenerates the weights fall back to equal.
 *
 * This is the gradient half of the paper alone. The paper's IMTL (`imtl`, src/strategies/imtl.ts) runs it on the
 * gradients of IMTL-L's learned, scaled losses e^{s_i}·L_i in the same step; IMTL-L alone is `imtl-l`.
 *
 * Gradient target (`grad_target: auto`): representation. The other target: defined too (no note). Why: Liu et al.
 * compute IMTL-G on the gradients of the shared feature z rather than the shared parameters, for efficiency (§3.2, as
 * MGDA-UB); the parameter form is the same definition, applied to θ_sh.
 */
import { gram, linearCombination, pseudoSolve, sum, symmetricEigen } from '../../numerics/index.js';
import { checkGrads, stateless } from './support.js';
import type { CombinerDefinition } from './types.js';

export function imtlWeights(g: number[][]): number[] {
  const t = g.length;
  const norms = g.map((row, i) => Math.sqrt(Math.max(row[i]!, 0)));
  // A zero gradient has no direction to be impartial to; it gets weight 0 (it adds nothing to g either way).
  const live = norms.map((_, i) => i).filter((i) => norms[i]! > 0);
  const cosine = live.map((i) => live.map((j) => g[i]![j]! / (norms[i]! * norms[j]!)));
  const beta = impartialBeta(
    cosine,
    live.map((i) => 1 / norms[i]!),
  );
  const raw = new Array<number>(t).fill(0);
  live.forEach((i, k) => (raw[i] = beta[k]! / norms[i]!));
  const total = sum(raw);
  const alpha = raw.map((v) => v / total);
  return alpha.every(Number.isFinite) && Math.abs(total) > 1e-300 ? alpha : new Array<number>(t).fill(1 / t);
}

/**
 * β with Cβ = c·1 (c ≠ 0 where 1 is in the range of C, else c = 0), up to scale; `inverseNorms` (1/‖g_i‖) picks
 * the null vector when c = 0. Eigenvalues below 1e-10·λ_max count as zero, as in pseudoSolve.
 */
function impartialBeta(cosine: number[][], inverseNorms: readonly number[]): number[] {
  const { values, vectors } = symmetricEigen(cosine);
  const cutoff = 1e-10 * Math.max(0, ...values);
  const column = (k: number): number[] => vectors.map((row) => row[k]!);
  const nullVectors = values.flatMap((lambda, k) => (lambda > cutoff ? [] : [column(k)]));
  const ones = inverseNorms.map(() => 1);
  // The part of 1 outside the range of C: negligible means Cβ = 1 is solvable.
  const outside = Math.hypot(...nullVectors.map((v) => sum(v)));
  if (outside <= 1e-8 * Math.sqrt(ones.length)) return pseudoSolve(cosine, ones);
  const along = nullVectors.map((v) => v.reduce((s, x, i) => s + x * inverseNorms[i]!, 0));
  const squared = along.reduce((s, a) => s + a * a, 0);
  return ones.map((_, i) => nullVectors.reduce((s, v, k) => s + (v[i]! * along[k]!) / squared, 0));
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
