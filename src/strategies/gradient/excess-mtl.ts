/**
 * ExcessMTL — Y. He, S. Zhou, G. Zhang, H. Yun, Y. Xu, B. Zeng, T. Chilimbi, H. Zhao, "Robust Multi-Task Learning
 * with Excess Risks", ICML 2024, as in the authors' code (github.com/yifei-he/ExcessMTL, LibMTL/LibMTL/weighting/
 * ExcessMTL.py, commit b179956) and LibMTL's copy of it (weighting/ExcessMTL.py, commit 4336804).
 *
 * Tasks are weighted by their excess risk L_i(θ) − L_i(θ*_i), not their loss, so that a task with a large
 * irreducible loss (label noise) does not take over. Near the optimum the excess risk is ≈ ½ g_iᵀ H_i⁻¹ g_i; H_i is
 * approximated by AdaGrad's diagonal of the gradients seen so far. At each step, per task i and coordinate c:
 *   S_ic ← S_ic + g_ic²                             (S starts at 0)
 *   e_i  = Σ_c g_ic² / √(S_ic + 1e-7)                (the excess-risk estimate, the ½ dropped)
 * The first step only records e_i⁰ = e_i; from the second on, with η = `robust_step_size` (default 0.01):
 *   r_i = e_i / e_i⁰,   w_i ← w_i · exp(η r_i),   w ← T · w / Σ_j w_j
 * (multiplicative weights, starting at w = 1), and the update is d = Σ_i w_i g_i; task-specific parameters get
 * w_i ∇L_i (`taskScales`), as the reference's backward of Σ w_i L_i gives them. A task whose first estimate was 0
 * (a zero gradient) gets r_i = 0 rather than the reference's division by zero.
 * State: whether the first step was taken, e⁰, w and the T AdaGrad sums (P numbers each), for an exact resume.
 *
 * Gradient target (`grad_target: auto`): params. The other target: refused. Why: the AdaGrad sums run per coordinate
 * across steps, and a representation gradient's coordinates are the current batch's examples, which change every
 * step (the authors' code sums the representation gradient over the batch instead, which this trainer does not
 * provide).
 */
import { linearCombination } from '../../numerics/index.js';
import { numberOption } from '../../util/options.js';
import { checkLength, readVector, readVectors, stateRecord } from './saved-state.js';
import { checkGrads } from './support.js';
import type { CombinerDefinition } from './types.js';

/** The excess-risk estimates e_i after adding this step's squared gradients to the AdaGrad sums (in place). */
export function excessRiskEstimates(grads: readonly Float32Array[], sums: Float64Array[]): number[] {
  return grads.map((grad, i) => {
    const sum = sums[i]!;
    let estimate = 0;
    for (let c = 0; c < grad.length; c++) {
      const squared = grad[c]! * grad[c]!;
      sum[c]! += squared;
      estimate += squared / Math.sqrt(sum[c]! + 1e-7);
    }
    return estimate;
  });
}

/** The multiplicative-weights step: w_i · exp(η e_i / e_i⁰), renormalised to sum to T. */
export function excessWeights(
  weights: readonly number[],
  estimates: readonly number[],
  initial: readonly number[],
  stepSize: number,
): number[] {
  const raised = weights.map((w, i) => {
    const ratio = initial[i]! > 0 ? estimates[i]! / initial[i]! : 0;
    return w * Math.exp(stepSize * ratio);
  });
  const total = raised.reduce((a, b) => a + b, 0);
  return raised.map((w) => (w / total) * weights.length);
}

export const excessMtl: CombinerDefinition = {
  name: 'excess-mtl',
  paper: 'Y. He et al., "Robust Multi-Task Learning with Excess Risks", ICML 2024',
  gradTarget: {
    paper: 'params',
    other: 'refused',
    reason:
      "its AdaGrad sums run per coordinate across steps, and a representation gradient's coordinates are the " +
      "current batch's examples, which change every step.",
  },
  optionsSchema: {
    type: 'object',
    properties: {
      robust_step_size: {
        type: 'number',
        exclusiveMinimum: 0,
        default: 0.01,
        description: 'Step size η of the multiplicative weight update (LibMTL robust_step_size).',
      },
    },
    additionalProperties: false,
  },
  create(options, _seed, taskCount) {
    const stepSize = numberOption(options, 'strategy.robust_step_size', 0.01, { exclusiveMinimum: 0 });
    let sums: Float64Array[] | null = null;
    let initial: number[] | null = null;
    let weights = new Array<number>(taskCount).fill(1);
    return {
      combine({ grads }) {
        const p = checkGrads('excess-mtl', grads, taskCount);
        if (sums) checkLength('excess-mtl', sums, p);
        const current = sums ?? grads.map(() => new Float64Array(p));
        sums = current;
        const estimates = excessRiskEstimates(grads, current);
        if (initial) weights = excessWeights(weights, estimates, initial, stepSize);
        else initial = estimates;
        return { combined: linearCombination(grads, weights), weights: [...weights], taskScales: [...weights] };
      },
      state: () => ({
        weights: [...weights],
        initial: initial ? [...initial] : null,
        sums: sums ? sums.map((sum) => Array.from(sum)) : null,
      }),
      restore(state) {
        const saved = stateRecord('excess-mtl', state);
        weights = saved ? readVector('excess-mtl', saved['weights'], taskCount) : new Array<number>(taskCount).fill(1);
        initial = saved && saved['initial'] !== null ? readVector('excess-mtl', saved['initial'], taskCount) : null;
        sums = saved ? readVectors('excess-mtl', saved['sums'], taskCount) : null;
      },
    };
  },
};
