/**
 * ConFIG — Q. Liu, M. Chu, N. Thuerey, "ConFIG: Towards Conflict-free Training of Physics Informed Neural Networks",
 * ICLR 2025 (arXiv:2408.11104, 2024). Reference: the authors' code (github.com/tum-pbs/ConFIG,
 * conflictfree/grad_operator.py `ConFIG_update`, read at commit 94862437) and TorchJD's aggregation/_config.py.
 *
 * Conflict-free update: the direction whose cosine with every task gradient is the same (in proportion to the
 * preference weights p, all 1 by default), with the length of the sum of the gradients' projections onto it:
 *   û_i = g_i / ‖g_i‖   (0 for a zero gradient)
 *   x   = U⁺ p          (the minimum-norm least-squares solution of û_iᵀx = p_i; U has rows û_i)
 *   d   = (Σ_i g_iᵀx̂) x̂,   x̂ = x / ‖x‖
 * so cos(g_i, d) = p_i / ‖x‖ for every i when the gradients are linearly independent, and g_iᵀd > 0 for all of them.
 * Computed in Gram form: x = Σ_i c_i û_i with c = C⁺p, C the cosine matrix (pseudo-inverse through the eigensolver,
 * the same minimum-norm solution as the reference's lstsq / pinv), so d = Σ_i w_i g_i with
 * w_i = L c_i / (‖x‖ ‖g_i‖), ‖x‖² = cᵀCc, L = Σ_i ‖g_i‖ (Cc)_i / ‖x‖.
 * The authors' code uses a closed form for two tasks (ConFIG_update_double), the same direction in exact
 * arithmetic. `length_model` offers their other length models: every gradient rescaled to the same length τ before
 * projecting, L = τ Σ_i û_iᵀx̂, with τ the minimum, maximum, harmonic, arithmetic or geometric mean of the norms
 * ‖g_i‖ (TrackMinimum, …; over the non-zero gradients here, where the authors' code would divide by zero).
 *
 * Gradient target (`grad_target: auto`): params. The other target: allowed when asked for explicitly, with a note. Why:
 * Liu et al. combine the gradients of the loss terms with respect to the network parameters (Algorithm 1, as the
 * authors' code); the paper defines no representation variant.
 */
import { gram, linearCombination, matVec, pseudoSolve } from '../../numerics/index.js';
import { enumOption, numberListOption, OptionError, type Options } from '../../util/options.js';
import { checkGrads, stateless } from './support.js';
import type { CombinerDefinition } from './types.js';

const lengthModels = [
  'projection',
  'track-minimum',
  'track-maximum',
  'track-harmonic',
  'track-arithmetic',
  'track-geometric',
] as const;
type LengthModel = (typeof lengthModels)[number];

/** τ of the Track* length models from the non-zero gradient norms. */
function trackedLength(model: Exclude<LengthModel, 'projection'>, norms: readonly number[]): number {
  const n = norms.length;
  if (n === 0) return 0;
  const sum = (f: (x: number) => number): number => norms.reduce((s, x) => s + f(x), 0);
  const values = {
    'track-minimum': () => Math.min(...norms),
    'track-maximum': () => Math.max(...norms),
    'track-harmonic': () => n / sum((x) => 1 / x),
    'track-arithmetic': () => sum((x) => x) / n,
    'track-geometric': () => Math.exp(sum(Math.log) / n),
  };
  return values[model]();
}

/** p: the `pref_vector` option, or 1 each when it is null. */
function readPreference(options: Options, taskCount: number): number[] {
  const given = numberListOption(options, 'strategy.pref_vector', { length: taskCount, minimum: 0 });
  if (given === null) return new Array<number>(taskCount).fill(1);
  if (!given.some((v) => v > 0)) throw new OptionError('strategy.pref_vector', 'weights that are not all zero', given);
  return given;
}

/** ConFIG's weights on the raw gradients, from their Gram matrix and the preference p (see the file header). */
export function configWeights(
  g: number[][],
  preference: readonly number[],
  lengthModel: LengthModel = 'projection',
): number[] {
  const norms = g.map((row, i) => Math.sqrt(Math.max(row[i]!, 0)));
  const cosine = g.map((row, i) =>
    row.map((v, j) => (norms[i]! > 0 && norms[j]! > 0 ? v / (norms[i]! * norms[j]!) : 0)),
  );
  const c = pseudoSolve(cosine, preference);
  const cc = matVec(cosine, c); // (Cc)_i = û_iᵀx
  const xNormSq = c.reduce((s, ci, i) => s + ci * cc[i]!, 0);
  if (!(xNormSq > 0)) return preference.map(() => 0);
  const xNorm = Math.sqrt(xNormSq);
  // Σ_i ‖g_i‖ û_iᵀx (projection), or τ Σ_i û_iᵀx (track-*; zero gradients have û_i = 0); divided by ‖x‖ below.
  const projected =
    lengthModel === 'projection'
      ? cc.reduce((s, v, i) => s + norms[i]! * v, 0)
      : trackedLength(
          lengthModel,
          norms.filter((n) => n > 0),
        ) * cc.reduce((s, v) => s + v, 0);
  const length = projected / xNorm;
  return c.map((ci, i) => (norms[i]! > 0 ? (length * ci) / (xNorm * norms[i]!) : 0));
}

export const config: CombinerDefinition = {
  name: 'config',
  paper:
    'Q. Liu, M. Chu, N. Thuerey, "ConFIG: Towards Conflict-free Training of Physics Informed Neural Networks", ' +
    'ICLR 2025 (arXiv:2408.11104)',
  gradTarget: {
    paper: 'params',
    other: 'not-in-paper',
    reason:
      'Liu et al. combine the gradients of the loss terms with respect to the network parameters (Algorithm 1, as ' +
      "the authors' code); the paper defines no representation variant.",
  },
  optionsSchema: {
    type: 'object',
    properties: {
      pref_vector: {
        type: ['array', 'null'],
        items: { type: 'number', minimum: 0 },
        default: null,
        description: 'Relative cosine of the update with each task gradient, in task order. Null: equal (all 1).',
      },
      length_model: {
        enum: [...lengthModels],
        default: 'projection',
        description:
          "The update's length: Σ_i g_iᵀd̂ (projection, the authors' default) or, for track-*, every gradient first " +
          'rescaled to the minimum / maximum / harmonic, arithmetic or geometric mean of the norms.',
      },
    },
    additionalProperties: false,
  },
  checkOptions: (options, taskCount) => void readPreference(options, taskCount),
  create(options, _seed, taskCount) {
    const preference = readPreference(options, taskCount);
    const lengthModel = enumOption(options, 'strategy.length_model', lengthModels, 'projection');
    return stateless(({ grads }) => {
      checkGrads('config', grads, taskCount);
      const weights = configWeights(gram(grads), preference, lengthModel);
      return { combined: linearCombination(grads, weights), weights };
    });
  },
};
