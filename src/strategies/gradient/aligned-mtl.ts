/**
 * Aligned-MTL — D. Senushkin, N. Patakin, A. Kuznetsov, A. Konushin, "Independent Component Alignment for
 * Multi-Task Learning", CVPR 2023.
 *
 * Replace the task-gradient matrix 𝒢 = [g_1 … g_T] (P×T) by the closest matrix with condition number 1 and
 * rescale it: with the Gram matrix 𝒢ᵀ𝒢 = V Λ Vᵀ (rank r, λ_1 ≥ … ≥ λ_r > 0),
 *   𝒢̂ = σ 𝒢 V Λ^{-1/2} Vᵀ = σ U Vᵀ,      σ = √λ_r (scale "min", the paper's choice),
 *                                          √median(λ) ("median") or √mean(λ) ("rmse"),
 * so all singular values of the aligned gradients equal σ, and the update is their sum:
 *   d = 𝒢̂ 1 = Σ_i α_i g_i,   α = σ V Λ^{-1/2} Vᵀ 1.
 * Eigenvalues below λ_1 · T · ε_float32 count as zero (the same rank rule as the authors' code, with the
 * float32 ε the gradients were computed in). The eigen-decomposition is the Jacobi solver of numerics/eigen.ts.
 *
 * Gradient target (`grad_target: auto`): params. The other target: defined too (no note). Why: Senushkin et al. align
 * the gradients of the shared parameters (Algorithm 1) and define Aligned-MTL-UB, the same alignment on the shared
 * representation, as a cheaper variant (§4); auto follows the main method.
 */
import { gram, linearCombination, symmetricEigen, type Matrix } from '../../numerics/index.js';
import { enumOption } from '../../util/options.js';
import { checkGrads, stateless } from './support.js';
import type { CombinerDefinition } from './types.js';

const scales = ['min', 'median', 'rmse'] as const;
const FLOAT32_EPSILON = 2 ** -23;

export function alignedWeights(g: Matrix, scale: (typeof scales)[number] = 'min'): number[] {
  const t = g.length;
  const { values, vectors } = symmetricEigen(g);
  const largest = Math.max(0, ...values);
  const kept = values
    .map((lambda, k) => ({ lambda, k }))
    .filter(({ lambda }) => lambda > largest * t * FLOAT32_EPSILON)
    .sort((a, b) => b.lambda - a.lambda);
  // All gradients zero: nothing to align.
  if (kept.length === 0) return new Array<number>(t).fill(0);
  const lambdas = kept.map(({ lambda }) => lambda);
  const squared = {
    min: lambdas[lambdas.length - 1]!,
    // The lower median for an even count, as torch.median in the authors' code.
    median: lambdas[lambdas.length >> 1]!,
    rmse: lambdas.reduce((s, l) => s + l, 0) / lambdas.length,
  };
  const sigma = Math.sqrt(squared[scale]);
  const alpha = new Array<number>(t).fill(0);
  for (const { lambda, k } of kept) {
    // Contribution of one eigen-direction: σ v_k (v_kᵀ1) / √λ_k.
    let along = 0;
    for (const row of vectors) along += row[k]!;
    for (let i = 0; i < t; i++) alpha[i]! += (sigma * vectors[i]![k]! * along) / Math.sqrt(lambda);
  }
  return alpha;
}

export const alignedMtl: CombinerDefinition = {
  name: 'aligned-mtl',
  paper: 'D. Senushkin et al., "Independent Component Alignment for Multi-Task Learning", CVPR 2023',
  gradTarget: {
    paper: 'params',
    other: 'variant',
    reason:
      'Senushkin et al. align the gradients of the shared parameters (Algorithm 1) and define Aligned-MTL-UB, the ' +
      'same alignment on the shared representation, as a cheaper variant (§4); auto follows the main method.',
  },
  optionsSchema: {
    type: 'object',
    properties: { scale: { enum: [...scales], default: 'min' } },
    additionalProperties: false,
  },
  create(options, _seed, taskCount) {
    const scale = enumOption(options, 'strategy.scale', scales, 'min');
    return stateless(({ grads }) => {
      checkGrads('aligned-mtl', grads, taskCount);
      const weights = alignedWeights(gram(grads), scale);
      return { combined: linearCombination(grads, weights), weights };
    });
  },
};
