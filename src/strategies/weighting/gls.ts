import { tf } from '../../tf.js';
import type { LossWeightingDefinition } from '../types.js';
import { LastWeights, stopGradient } from './common.js';

/**
 * Geometric Loss Strategy (GLS): Chennupati, Sistu, Yogamani & Rawashdeh, "MultiNet++: Multi-Stream Feature
 * Aggregation and Geometric Loss Strategy for Multi-Task Learning", CVPR Workshops 2019. The objective is the
 * geometric mean of the task losses,
 *
 *     L = (Π_i L_i)^{1/T},
 *
 * computed as exp((1/T) Σ_i log max(L_i, 1e-12)) — the same value, but without the product under- or overflowing
 * for many tasks (the floor only matters for a loss of exactly 0). Its gradient is Σ_i (L / (T·L_i)) ∂L_i/∂θ, so the
 * task weights reported are the effective weights L / (T·L_i) of the last step (read lazily, once per epoch).
 */
export const gls: LossWeightingDefinition = {
  name: 'gls',
  family: 'loss-weighting',
  paper: 'Chennupati et al. 2019, "MultiNet++: ... Geometric Loss Strategy for Multi-Task Learning" (CVPRW)',
  cost: '1',
  optionsSchema: {},
  needs: () => 'losses',
  create(_options, { tasks }) {
    const T = tasks.length;
    const last = new LastWeights(tasks.map(() => 1 / T));
    return {
      name: 'gls',
      needs: 'losses',
      combineLosses: (losses) =>
        tf.tidy(() => {
          const logs = tf.log(tf.maximum(tf.stack(losses), 1e-12));
          const geometric = tf.exp(tf.mean(logs)) as tf.Scalar;
          const detachedLogs = stopGradient(logs);
          // L / (T·L_i) = exp(mean(log L) − log L_i) / T
          last.set(tf.div(tf.exp(tf.sub(tf.mean(detachedLogs), detachedLogs)), T));
          return geometric;
        }),
      currentWeights: () => last.read(),
      state: () => ({}),
      restore: () => undefined,
      dispose: () => last.dispose(),
    };
  },
};
