import * as tf from '@tensorflow/tfjs';
import type { StrategyDefinition } from '../types.js';

/**
 * Static weighting: L = Σ_i w_i L_i with the fixed `weight` each task declares in the config (default 1), or the
 * strategy's own `weights` map when given (it overrides the tasks' weights by name).
 */
export const staticWeighting: StrategyDefinition = {
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
  create(options, { tasks }) {
    const overrides = (options['weights'] ?? {}) as Record<string, number>;
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
