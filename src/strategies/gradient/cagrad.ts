/**
 * CAGrad — B. Liu, X. Liu, X. Jin, P. Stone, Q. Liu, "Conflict-Averse Gradient Descent for Multi-task Learning",
 * NeurIPS 2021.
 *
 * Maximise the worst-case improvement within a ball around the average gradient g0 = (1/T) Σ g_i:
 *   max_d min_i g_iᵀd   s.t.  ‖d − g0‖ ≤ c‖g0‖
 * solved through its dual over the simplex (T unknowns):
 *   w* = argmin_{w ∈ Δ_T} g_wᵀg0 + c‖g0‖ ‖g_w‖,   g_w = Σ_i w_i g_i
 *   d  = g0 + (c‖g0‖ / ‖g_w*‖) g_w*
 * then divided by 1 + c² (rescale 1, the authors' default), 1 + c (rescale 2) or left as is (rescale 0).
 * With c = 0 this is plain averaging.
 *
 * The dual is convex but not smooth where g_w = 0, so it is minimised by projected gradient descent with
 * backtracking on the slightly smoothed ‖g_w‖ ≈ √(‖g_w‖² + ε) in Gram-matrix units scaled to max diag 1; fully
 * deterministic.
 *
 * Gradient target (`grad_target: auto`): params. The other target: allowed when asked for explicitly, with a note. Why:
 * Liu et al. define CAGrad on the gradients of the shared parameters (Algorithm 1, as the authors' code); the paper
 * defines no representation variant (LibMTL refuses one).
 */
import {
  bilinear,
  gram,
  linearCombination,
  matVec,
  maxDiagonal,
  projectOntoSimplex,
  type Matrix,
} from '../../numerics/index.js';
import { enumOption, numberOption } from '../../util/options.js';
import { checkGrads, stateless } from './support.js';
import type { CombinerDefinition } from './types.js';

/** Dual weights w* for Gram matrix g (already scaled) and radius factor c. */
export function cagradDual(g: Matrix, c: number, maxIter = 2000): number[] {
  const t = g.length;
  const mean = new Array<number>(t).fill(1 / t);
  const gMean = matVec(g, mean); // (G b)_i = g_iᵀg0
  const radius = c * Math.sqrt(Math.max(bilinear(g, mean, mean), 0));
  const eps = 1e-12;
  const objective = (w: number[]): number =>
    w.reduce((s, x, i) => s + x * gMean[i]!, 0) + radius * Math.sqrt(Math.max(bilinear(g, w, w), 0) + eps);
  let w = mean;
  let f = objective(w);
  let step = 1;
  let stalled = 0;
  for (let iter = 0; iter < maxIter; iter++) {
    const gw = matVec(g, w);
    const norm = Math.sqrt(
      Math.max(
        w.reduce((s, x, i) => s + x * gw[i]!, 0),
        0,
      ) + eps,
    );
    const grad = gMean.map((v, i) => v + (radius * gw[i]!) / norm);
    step *= 2;
    let next = w;
    let fNext = f;
    for (let tries = 0; tries < 60; tries++) {
      next = projectOntoSimplex(w.map((x, i) => x - step * grad[i]!));
      fNext = objective(next);
      const lin = next.reduce((s, x, i) => s + (x - w[i]!) * grad[i]!, 0);
      const quad = next.reduce((s, x, i) => s + (x - w[i]!) ** 2, 0) / (2 * step);
      if (fNext <= f + lin + quad + 1e-15) break;
      step /= 2;
    }
    const moved = next.reduce((s, x, i) => Math.max(s, Math.abs(x - w[i]!)), 0);
    // In Gram units scaled to max diag 1, an objective gain below 1e-15 twice running is rounding, not progress
    // (the step-size probing can keep w jittering at the kink of ‖g_w‖ long after that).
    stalled = f - fNext < 1e-15 ? stalled + 1 : 0;
    w = next;
    f = fNext;
    if (moved < 1e-12 || stalled >= 2) break;
  }
  return w;
}

export const cagrad: CombinerDefinition = {
  name: 'cagrad',
  paper: 'B. Liu et al., "Conflict-Averse Gradient Descent for Multi-task Learning", NeurIPS 2021',
  gradTarget: {
    paper: 'params',
    other: 'not-in-paper',
    reason:
      "Liu et al. define CAGrad on the gradients of the shared parameters (Algorithm 1, as the authors' code); the" +
      ' paper defines no representation variant (LibMTL refuses one).',
  },
  optionsSchema: {
    type: 'object',
    properties: {
      c: { type: 'number', minimum: 0, default: 0.5 },
      rescale: { enum: [0, 1, 2], default: 1 },
    },
    additionalProperties: false,
  },
  create(options, _seed, taskCount) {
    const c = numberOption(options, 'strategy.c', 0.5);
    const rescale = enumOption(options, 'strategy.rescale', [0, 1, 2] as const, 1);
    const divisor = ([1, 1 + c * c, 1 + c] as const)[rescale];
    return stateless(({ grads }) => {
      checkGrads('cagrad', grads, taskCount);
      const g = gram(grads);
      const scale = maxDiagonal(g) || 1;
      const mean = new Array<number>(taskCount).fill(1 / taskCount);
      const w =
        c > 0
          ? cagradDual(
              g.map((row) => row.map((v) => v / scale)),
              c,
            )
          : mean.map(() => 0);
      const gwNorm = Math.sqrt(Math.max(bilinear(g, w, w), 0));
      const g0Norm = Math.sqrt(Math.max(bilinear(g, mean, mean), 0));
      // g_w ≈ 0 (below Gram-matrix rounding) means the tasks cancel out and g_w has no direction to follow.
      const lambda = gwNorm > 1e-7 * Math.sqrt(scale) ? (c * g0Norm) / gwNorm : 0;
      const weights = w.map((wi) => (1 / taskCount + lambda * wi) / divisor);
      return { combined: linearCombination(grads, weights), weights };
    });
  },
};
