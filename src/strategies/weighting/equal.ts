import { tf } from '../../tf.js';
import type { LossWeightingDefinition } from '../types.js';

/**
 * Equal weighting (EW), the usual MTL baseline: L = Σ_i L_i, every task with weight 1.
 * Each task's own `weight` in the config is ignored here; use `static` to apply it.
 */
export const equal: LossWeightingDefinition = {
  name: 'equal',
  family: 'loss-weighting',
  paper: 'baseline (e.g. Lin et al. 2022, LibMTL "EW")',
  cost: '1',
  optionsSchema: {},
  needs: () => 'losses',
  create(_options, { tasks }) {
    const weights = tasks.map(() => 1);
    return {
      name: 'equal',
      needs: 'losses',
      combineLosses: (losses) => tf.addN(losses),
      currentWeights: () => weights,
      state: () => ({}),
      restore: () => undefined,
    };
  },
};
