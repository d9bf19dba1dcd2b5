import { tf } from '../../tf.js';
import { numberMapOption } from '../../util/options.js';
import { suggest } from '../../util/suggest.js';
import type { LossWeightingDefinition } from '../types.js';

/**
 * Static weighting: L = Σ_i w_i L_i with the fixed `weight` each task declares in the config (default 1), or the
 * strategy's own `weights` map when given (it overrides the tasks' weights by name).
 */
export const staticWeighting: LossWeightingDefinition = {
  name: 'static',
  family: 'loss-weighting',
  paper: 'fixed linear scalarisation (e.g. Kendall et al. 2018, §1 "weighted sum of losses")',
  cost: '1',
  optionsSchema: {
    weights: {
      type: 'object',
      description: 'Weight per task name; tasks not named keep their config `weight`.',
      additionalProperties: { type: 'number', minimum: 0 },
      default: {},
    },
  },
  needs: () => 'losses',
  checkOptions(options, { tasks }) {
    const names = tasks.map((t) => t.name);
    return Object.keys(numberMapOption(options, 'strategy.weights', { minimum: 0 }))
      .filter((name) => !names.includes(name))
      .map((name) => {
        const hint = suggest(name, names);
        return {
          path: ['strategy', 'weights', name],
          atKey: true,
          message: `no task is named "${name}"${hint ? `; did you mean "${hint}"?` : ''} Tasks: ${names.join(', ')}.`,
        };
      });
  },
  taskWeightIgnored(options, task) {
    const overrides = numberMapOption(options, 'strategy.weights', { minimum: 0 });
    return overrides[task] === undefined ? undefined : `strategy.weights.${task} sets this task's weight instead`;
  },
  create(options, { tasks }) {
    const overrides = numberMapOption(options, 'strategy.weights', { minimum: 0 });
    const weights = tasks.map((task) => overrides[task.name] ?? task.weight);
    return {
      name: 'static',
      needs: 'losses',
      combineLosses: (losses) =>
        tf.tidy(() => tf.addN(losses.map((loss, i) => tf.mul(loss, weights[i] ?? 1))) as tf.Scalar),
      currentWeights: () => weights,
      state: () => ({}),
      restore: () => undefined,
    };
  },
};
