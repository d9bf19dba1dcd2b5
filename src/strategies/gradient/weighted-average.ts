/**
 * Weighted average of the task gradients — the "加权平均梯度" of the seed document (§4.1.2):
 *   g = Σ_i w_i g_i,   w_i = v_i / Σ_k v_k
 * with v the `weights` option (non-negative, one per task), or w_i = 1/T when it is not given. Normalising makes
 * the option a ratio, so the scale of the step stays the learning rate's business.
 *
 * Gradient target (`grad_target: auto`): params. The other target: defined too (no note). Why: seed 003 §4.1.2 averages
 * the task gradients of the shared parameters; on the representation the update is the same (the trunk's backward pass
 * is linear in the incoming gradient: Σ w_i Jᵀ z_i = Jᵀ Σ w_i z_i), only cheaper.
 */
import { linearCombination } from '../../numerics/index.js';
import { numberListOption, OptionError, type Options } from '../../util/options.js';
import { checkGrads, stateless } from './support.js';
import type { CombinerDefinition } from './types.js';

/** w_i = v_i / Σ_k v_k from the `weights` option, or 1/T each when it is null. */
function readWeights(options: Options, taskCount: number): number[] {
  const raw = numberListOption(options, 'strategy.weights', { length: taskCount, minimum: 0 });
  if (raw === null) return new Array<number>(taskCount).fill(1 / taskCount);
  const total = raw.reduce((s, v) => s + v, 0);
  if (!(total > 0)) throw new OptionError('strategy.weights', 'weights that are not all zero', raw);
  return raw.map((v) => v / total);
}

export const weightedAverage: CombinerDefinition = {
  name: 'weighted-average',
  paper: 'Seed document 003 §4.1.2 (weighted average of task gradients)',
  gradTarget: {
    paper: 'params',
    other: 'variant',
    reason:
      'seed 003 §4.1.2 averages the task gradients of the shared parameters; on the representation the update is ' +
      "the same (the trunk's backward pass is linear in the incoming gradient: Σ w_i Jᵀ z_i = Jᵀ Σ w_i z_i), only " +
      'cheaper.',
  },
  optionsSchema: {
    type: 'object',
    properties: {
      weights: {
        type: ['array', 'null'],
        items: { type: 'number', minimum: 0 },
        default: null,
        description: 'One non-negative weight per task, in task order; normalised to sum 1. Null: equal weights.',
      },
    },
    additionalProperties: false,
  },
  checkOptions: (options, taskCount) => void readWeights(options, taskCount),
  create(options, _seed, taskCount) {
    const weights = readWeights(options, taskCount);
    return stateless(({ grads }) => {
      checkGrads('weighted-average', grads, taskCount);
      return { combined: linearCombination(grads, weights), weights: [...weights] };
    });
  },
};
