/**
 * MoDo — L. Chen, H. Fernando, Y. Ying, T. Chen, "Three-Way Trade-Off in Multi-Objective Learning: Optimization,
 * Generalization and Conflict-Avoidance", NeurIPS 2023 (Algorithm 1, multi-objective gradient with double
 * sampling), as in LibMTL's weighting/MoDo.py (commit 4336804, "modified from the official implementation",
 * github.com/heshandevaka/Trade-Off-MOL).
 *
 * Weights λ on the simplex (λ = 1/T at the start) follow one projected gradient step per training step on
 * ½ ‖G λ‖² + ½ ρ ‖λ‖², its gradient estimated without bias from two independent samples z₁, z₂; the update uses a
 * third, z₃:
 *   λ ← Π_Δ(λ − γ (G(z₁)ᵀ G(z₂) λ + ρ λ)),   d = G(z₃) λ = Σ_i λ_i g_i(z₃)
 * with G(z) = [g_1(z) … g_T(z)]. Defaults γ = 0.001, ρ = 0.1 (LibMTL's `MoDo_gamma`, `MoDo_rho`). The weights
 * reported are λ. Samples (`sampling`, see double-sampling.ts): z₃ is the step's batch, z₁ and z₂ the next two
 * (LibMTL's batches 3, 1 and 2). Task-specific parameters get their gradient on the step's batch (LibMTL: the mean of
 * its three batches' gradients).
 * State: λ.
 *
 * Gradient target (`grad_target: auto`): params. The other target: refused. Why: the product of independent samples'
 * gradients needs gradients on the same coordinates, the shared parameters; representation gradients of other
 * batches' rows do not overlap (LibMTL refuses representation gradients for MoDo).
 */
import { dot, linearCombination, projectOntoSimplex } from '../../numerics/index.js';
import { numberOption } from '../../util/options.js';
import {
  independentSamplesTarget,
  samplesNeeded,
  samplingOption,
  samplingSchema,
  threeSamples,
} from './double-sampling.js';
import { readVector, stateRecord } from './saved-state.js';
import { checkGrads } from './support.js';
import type { CombinerDefinition } from './types.js';

/** One MoDo weight step: Π_Δ(λ − γ (G₁ᵀ G₂ λ + ρ λ)). */
export function modoWeights(
  lambda: readonly number[],
  first: readonly Float32Array[],
  second: readonly Float32Array[],
  gamma: number,
  rho: number,
): number[] {
  const cross = first.map((a) => second.reduce((s, b, j) => s + dot(a, b) * lambda[j]!, 0));
  return projectOntoSimplex(lambda.map((l, i) => l - gamma * (cross[i]! + rho * l)));
}

export const modo: CombinerDefinition = {
  name: 'modo',
  paper:
    'L. Chen et al., "Three-Way Trade-Off in Multi-Objective Learning: Optimization, Generalization and ' +
    'Conflict-Avoidance", NeurIPS 2023',
  gradTarget: independentSamplesTarget,
  optionsSchema: {
    type: 'object',
    properties: {
      gamma: {
        type: 'number',
        exclusiveMinimum: 0,
        default: 0.001,
        description: 'Step size γ of the weights λ (LibMTL MoDo_gamma).',
      },
      rho: {
        type: 'number',
        minimum: 0,
        default: 0.1,
        description: 'ℓ2 regularisation ρ of the weights λ (LibMTL MoDo_rho).',
      },
      sampling: samplingSchema,
    },
    additionalProperties: false,
  },
  create(options, _seed, taskCount) {
    const gamma = numberOption(options, 'strategy.gamma', 0.001, { exclusiveMinimum: 0 });
    const rho = numberOption(options, 'strategy.rho', 0.1, { minimum: 0 });
    const sampling = samplingOption(options);
    const initial = (): number[] => new Array<number>(taskCount).fill(1 / taskCount);
    let lambda = initial();
    return {
      independentSamples: samplesNeeded(sampling),
      combine(input) {
        checkGrads('modo', input.grads, taskCount);
        const [update, first, second] = threeSamples('modo', sampling, input);
        lambda = modoWeights(lambda, first, second, gamma, rho);
        return { combined: linearCombination(update, lambda), weights: [...lambda] };
      },
      state: () => ({ lambda: [...lambda] }),
      restore(state) {
        const saved = stateRecord('modo', state);
        lambda = saved ? readVector('modo', saved['lambda'], taskCount) : initial();
      },
    };
  },
};
