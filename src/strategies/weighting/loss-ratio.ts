import { tf } from '../../tf.js';
import type { LossWeightingDefinition } from '../types.js';
import { LastWeights, scaleOption, stopGradient, weightTotal } from './common.js';

/**
 * Loss-ratio weighting: each task is weighted inversely to its current loss, so a task that is already far along
 * (small loss) gets less weight and a lagging one (large loss) more — the "weights from loss values" rule of
 * seed document 003, §4.2.1, which for two tasks A, B reads
 *
 *     w_A = L_B / (L_A + L_B),   w_B = L_A / (L_A + L_B).
 *
 * Generalised to T tasks (identical to the above for T = 2, since (1/L_A) / (1/L_A + 1/L_B) = L_B / (L_A + L_B)):
 *
 *     w_i = S · (1 / L_i) / Σ_j (1 / L_j),      L = Σ_i w_i · L_i,
 *
 * with L_i the task's loss on the current batch and S = T (`scale: tasks`, default) or 1 (`scale: one`; S = 1 is the
 * seed's formula exactly). Each L_i is floored at 1e-12 inside the reciprocal so a zero loss cannot divide by zero.
 *
 * The weights are constants for the gradient (computed from the detached losses): ∂L/∂θ = Σ_i w_i ∂L_i/∂θ. They are
 * detached with a zero-gradient `tf.customGrad` (see `stopGradient`), which keeps them on the device: no value is read
 * back per step. Were they not detached, Σ_i w_i L_i = S / Σ_j (1/L_j) would be a harmonic-mean objective with a
 * different gradient.
 */
export const lossRatio: LossWeightingDefinition = {
  name: 'loss-ratio',
  family: 'loss-weighting',
  paper: 'seed 003 §4.2.1 (loss-value based weights w_i ∝ 1/L_i)',
  cost: '1',
  optionsSchema: { scale: scaleOption },
  needs: () => 'losses',
  create(options, { tasks }) {
    const total = weightTotal(options, tasks.length);
    const last = new LastWeights(tasks.map(() => total / tasks.length));
    return {
      name: 'loss-ratio',
      needs: 'losses',
      combineLosses: (losses) =>
        tf.tidy(() => {
          const stacked = tf.stack(losses) as tf.Tensor1D;
          const inverse = tf.reciprocal(tf.maximum(stopGradient(stacked), 1e-12));
          const weights = tf.mul(tf.div(inverse, tf.sum(inverse)), total) as tf.Tensor1D;
          last.set(weights);
          return tf.sum(tf.mul(weights, stacked));
        }),
      currentWeights: () => last.read(),
      state: () => ({}),
      restore: () => undefined,
      dispose: () => last.dispose(),
    };
  },
};
