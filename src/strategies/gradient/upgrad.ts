/**
 * UPGrad — P. Quinton, V. Rey, "Jacobian Descent for Multi-Objective Optimization", arXiv:2406.16232, 2024
 * (reference: TorchJD, src/torchjd/aggregation/_upgrad.py, read at commit 46962c2b).
 *
 * Unconflicting Projection of Gradients: each task gradient is projected onto the dual cone of all of them,
 * C = {d : g_jᵀd ≥ 0 for every j}, and the projections are combined with the preference weights p (1/T each):
 *   d = Σ_i p_i π_C(g_i) = Σ_j w_j g_j,   w = Σ_i v⁽ⁱ⁾,   v⁽ⁱ⁾ = argmin_v vᵀHv  s.t.  v ≥ p_i e_i
 * (Proposition 1 of the paper: π_C(Jᵀu) = Jᵀv with v = argmin vᵀGv s.t. v ≥ u), each QP solved exactly by the active
 * set of src/numerics/qp.ts. H is TorchJD's conditioned Gramian: G = [g_iᵀg_j] divided by its trace (the squared
 * Frobenius norm of the Jacobian; H = 0 when that is below `norm_eps`), plus `reg_eps`·I so that H is positive
 * definite. With `reg_eps: 0` the projection is exact and every task's directional derivative g_jᵀd is ≥ 0; the
 * default 1e-4 (TorchJD's) bounds the violation by reg_eps·tr(G)·w_j.
 * Properties (with reg_eps 0): d lies in C (no task increases to first order); d is 0 where positive weights make the
 * gradients cancel (C is then orthogonal to all of them); scaling every gradient by s scales d by s.
 *
 * Gradient target (`grad_target: auto`): params. The other target: allowed when asked for explicitly, with a note. Why:
 * Quinton & Rey aggregate the Jacobian of the task losses with respect to the shared parameters (TorchJD's
 * mtl_backward differentiates through the features but aggregates the parameter Jacobian); the paper defines no
 * representation variant.
 */
import { gram, linearCombination, type Matrix, projectOntoDualCone } from '../../numerics/index.js';
import { numberListOption, numberOption, OptionError, type Options } from '../../util/options.js';
import { checkGrads, stateless } from './support.js';
import type { CombinerDefinition } from './types.js';

/**
 * TorchJD's conditioning of the Gramian: G / tr(G) (zero when tr(G) < normEps), plus regEps on the diagonal. Shared
 * with DualProj.
 */
export function conditionedGramian(g: Matrix, normEps: number, regEps: number): Matrix {
  const trace = g.reduce((s, row, i) => s + row[i]!, 0);
  const scale = trace < normEps ? 0 : 1 / trace;
  return g.map((row, i) => row.map((v, j) => v * scale + (i === j ? regEps : 0)));
}

/** The preference vector p: the `pref_vector` option, or 1/T each when it is null. Shared with DualProj. */
export function readPreference(options: Options, taskCount: number): number[] {
  const given = numberListOption(options, 'strategy.pref_vector', { length: taskCount, minimum: 0 });
  if (given === null) return new Array<number>(taskCount).fill(1 / taskCount);
  if (!given.some((v) => v > 0)) throw new OptionError('strategy.pref_vector', 'weights that are not all zero', given);
  return given;
}

/** The options UPGrad and DualProj share (TorchJD's parameters and defaults). */
export const jacobianDescentOptions = {
  type: 'object',
  properties: {
    pref_vector: {
      type: ['array', 'null'],
      items: { type: 'number', minimum: 0 },
      default: null,
      description: 'Preference weights, one per task in task order (TorchJD pref_vector). Null: 1/T each.',
    },
    norm_eps: {
      type: 'number',
      minimum: 0,
      default: 0.0001,
      description: 'The Gramian is divided by its trace, or taken as 0 when the trace is below this.',
    },
    reg_eps: {
      type: 'number',
      minimum: 0,
      default: 0.0001,
      description: 'Added to the diagonal of the normalised Gramian (0: the exact projection).',
    },
  },
  additionalProperties: false,
};

/** `norm_eps` and `reg_eps`. */
export function readEpsilons(options: Options): { normEps: number; regEps: number } {
  return {
    normEps: numberOption(options, 'strategy.norm_eps', 0.0001, { minimum: 0 }),
    regEps: numberOption(options, 'strategy.reg_eps', 0.0001, { minimum: 0 }),
  };
}

/** UPGrad's weights w = Σ_i v⁽ⁱ⁾ on the gradients, from the conditioned Gramian h and the preference p. */
export function upgradWeights(h: Matrix, preference: readonly number[]): number[] {
  const weights = new Array<number>(preference.length).fill(0);
  preference.forEach((p, i) => {
    if (p === 0) return; // π_C(0) = 0
    const u = preference.map((_, j) => (j === i ? p : 0));
    projectOntoDualCone(h, u).forEach((v, j) => (weights[j]! += v));
  });
  return weights;
}

/**
 * A combiner of the Jacobian-descent family (UPGrad, DualProj): the same target, options and checks; the weights on
 * the gradients from the conditioned Gramian and the preference are what tells them apart.
 */
export function jacobianDescentCombiner(
  name: string,
  label: string,
  weightsOf: (h: Matrix, preference: readonly number[]) => number[],
): CombinerDefinition {
  return {
    name,
    paper: `P. Quinton, V. Rey, "Jacobian Descent for Multi-Objective Optimization", arXiv:2406.16232, 2024 (${label})`,
    gradTarget: {
      paper: 'params',
      other: 'not-in-paper',
      reason:
        'Quinton & Rey aggregate the Jacobian of the task losses with respect to the shared parameters (TorchJD ' +
        'mtl_backward differentiates through the features but aggregates the parameter Jacobian); the paper ' +
        'defines no representation variant.',
    },
    optionsSchema: jacobianDescentOptions,
    checkOptions: (options, taskCount) => void readPreference(options, taskCount),
    create(options, _seed, taskCount) {
      const preference = readPreference(options, taskCount);
      const { normEps, regEps } = readEpsilons(options);
      return stateless(({ grads }) => {
        checkGrads(name, grads, taskCount);
        const weights = weightsOf(conditionedGramian(gram(grads), normEps, regEps), preference);
        return { combined: linearCombination(grads, weights), weights };
      });
    },
  };
}

export const upgrad: CombinerDefinition = jacobianDescentCombiner('upgrad', 'UPGrad', upgradWeights);
