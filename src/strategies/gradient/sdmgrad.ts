/**
 * SDMGrad — P. Xiao, H. Ban, K. Ji, "Direction-oriented Multi-objective Learning: Simple and Provable Stochastic
 * Algorithms", NeurIPS 2023 (Algorithm 1), as in LibMTL's weighting/SDMGrad.py (commit 4336804, "modified from the
 * official implementation", github.com/OptMN-Lab/sdmgrad).
 *
 * MGDA's min-norm problem regularised towards the average direction g0 = (1/T) Σ g_i:
 *   min_{w ∈ Δ_T} ½ ‖G w‖² + λ ⟨G w, g0⟩,   d = (G_ζ w + λ g0_ζ) / (1 + λ),
 * with the objective's gradient estimated from two independent samples ξ, ξ' and the direction from a third, ζ:
 *   A_ij = ⟨g_i(ξ), g_j(ξ')⟩,   A ← A / (s² + 1e-8),  s = mean_i √max(A_ii, 0)   (scale-free)
 *   b_i  = (1/T) Σ_j A_ij                             (= ⟨g_i(ξ), g0(ξ')⟩ / (s² + 1e-8))
 * then `niter` steps of projected SGD with momentum μ and learning rate η, warm-started from the last step's w
 * (w = 1/T at the start; the momentum buffer starts afresh each step, as the reference's new optimizer does):
 *   u = A w + λ b,   m ← u (first iteration) or μ m + u,   w ← Π_Δ(w − η m)
 * and d = Σ_i (w_i + λ/T) / (1 + λ) · g_i(ζ): the weights reported. Defaults λ = 0.3, niter = 20, η = 5, μ = 0.5
 * (LibMTL's `SDMGrad_lamda`, `SDMGrad_niter` and its inner SGD). The authors' code uses η = 10, s = mean √(A_ii + 1e-4)
 * and multiplies d by T; it also stores the three samples' gradients in one aliased tensor, so its ξ, ξ', ζ are all
 * the last sample — LibMTL keeps them apart, as the paper does.
 * Samples (`sampling`, see double-sampling.ts): ζ is the step's batch, ξ and ξ' the next two (LibMTL's three
 * batches in its order). Task-specific parameters get their gradient on the step's batch (LibMTL: the sum of its
 * three batches' gradients).
 * State: w.
 *
 * Gradient target (`grad_target: auto`): params. The other target: refused. Why: the products of independent
 * samples' gradients need gradients that live on the same coordinates, the shared parameters; representation
 * gradients of other batches' rows have no overlap (LibMTL and the authors' code run on parameters only).
 */
import { dot, linearCombination, matVec, projectOntoSimplex, type Matrix } from '../../numerics/index.js';
import { integerOption, numberOption } from '../../util/options.js';
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

export interface SdmgradSolver {
  lambda: number;
  iterations: number;
  lr: number;
  momentum: number;
}

/** The scaled cross-sample matrix A_ij = ⟨a_i, b_j⟩ / (s² + 1e-8), s = mean_i √max(A_ii, 0). */
export function crossSampleMatrix(first: readonly Float32Array[], second: readonly Float32Array[]): Matrix {
  const raw = first.map((a) => second.map((b) => dot(a, b)));
  const scale = raw.reduce((s, row, i) => s + Math.sqrt(Math.max(row[i]!, 0)), 0) / raw.length;
  const divisor = scale * scale + 1e-8;
  return raw.map((row) => row.map((v) => v / divisor));
}

/** `iterations` steps of projected momentum SGD on ½ wᵀA w + λ wᵀb from `start`; returns the new w. */
export function sdmgradWeights(a: Matrix, start: readonly number[], solver: SdmgradSolver): number[] {
  const t = a.length;
  const b = a.map((row) => row.reduce((s, v) => s + v, 0) / t);
  let w = [...start];
  let buffer: number[] = [];
  for (let iter = 0; iter < solver.iterations; iter++) {
    const u = matVec(a, w).map((v, i) => v + solver.lambda * b[i]!);
    const previous = buffer;
    // The reference's torch SGD: the buffer is the first gradient itself, then μ·buffer + gradient.
    buffer = iter === 0 ? u : u.map((v, i) => solver.momentum * previous[i]! + v);
    const velocity = buffer;
    w = projectOntoSimplex(w.map((x, i) => x - solver.lr * velocity[i]!));
  }
  return w;
}

export const sdmgrad: CombinerDefinition = {
  name: 'sdmgrad',
  paper:
    'P. Xiao, H. Ban, K. Ji, "Direction-oriented Multi-objective Learning: Simple and Provable Stochastic ' +
    'Algorithms", NeurIPS 2023',
  gradTarget: independentSamplesTarget,
  optionsSchema: {
    type: 'object',
    properties: {
      lambda: {
        type: 'number',
        minimum: 0,
        default: 0.3,
        description: 'Regularisation λ towards the average direction (LibMTL SDMGrad_lamda).',
      },
      niter: {
        type: 'integer',
        minimum: 1,
        default: 20,
        description: 'Projected-SGD iterations on the weights per step (LibMTL SDMGrad_niter).',
      },
      lr: { type: 'number', exclusiveMinimum: 0, default: 5, description: 'Learning rate of the weights’ SGD.' },
      momentum: { type: 'number', minimum: 0, maximum: 1, default: 0.5, description: 'Momentum of the weights’ SGD.' },
      sampling: samplingSchema,
    },
    additionalProperties: false,
  },
  create(options, _seed, taskCount) {
    const solver: SdmgradSolver = {
      lambda: numberOption(options, 'strategy.lambda', 0.3, { minimum: 0 }),
      iterations: integerOption(options, 'strategy.niter', 20, { minimum: 1 }),
      lr: numberOption(options, 'strategy.lr', 5, { exclusiveMinimum: 0 }),
      momentum: numberOption(options, 'strategy.momentum', 0.5, { minimum: 0, maximum: 1 }),
    };
    const sampling = samplingOption(options);
    const initial = (): number[] => new Array<number>(taskCount).fill(1 / taskCount);
    let w = initial();
    return {
      independentSamples: samplesNeeded(sampling),
      combine(input) {
        checkGrads('sdmgrad', input.grads, taskCount);
        const [zeta, xi, xiPrime] = threeSamples('sdmgrad', sampling, input);
        w = sdmgradWeights(crossSampleMatrix(xi, xiPrime), w, solver);
        const weights = w.map((wi) => (wi + solver.lambda / taskCount) / (1 + solver.lambda));
        return { combined: linearCombination(zeta, weights), weights };
      },
      state: () => ({ w: [...w] }),
      restore(state) {
        const saved = stateRecord('sdmgrad', state);
        w = saved ? readVector('sdmgrad', saved['w'], taskCount) : initial();
      },
    };
  },
};
