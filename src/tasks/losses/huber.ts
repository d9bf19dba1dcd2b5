import { tf } from '../../tf.js';
import type { LossDefinition } from '../types.js';
import { meanOfErrors } from './elementwise.js';

/**
 * Huber loss with δ = 1 (`tf.losses.huberLoss`' default), with e = |t − y|:
 *
 *   L = mean_elements ½·min(e, δ)² + δ·(e − min(e, δ))
 *
 * quadratic near the target, linear beyond δ, so outliers pull less than under mse.
 */
export const huber: LossDefinition = {
  name: 'huber',
  description: 'Huber loss (δ = 1): mean over elements of ½·min(e, 1)² + (e − min(e, 1)), e = |t − y|',
  fits: ['regression'],
  tensor: (output, target) => tf.losses.huberLoss(target, output),
  host: (outputs, targets) =>
    meanOfErrors(outputs, targets, (error) => {
      const quadratic = Math.min(error, 1);
      return 0.5 * quadratic * quadratic + (error - quadratic);
    }),
};
