import { tf } from '../../tf.js';
import type { LossDefinition } from '../types.js';
import { meanOfErrors } from './elementwise.js';

/** Mean squared error, L = mean_elements (t − y)², on the (standardised) training targets. */
export const mse: LossDefinition = {
  name: 'mse',
  description: 'mean squared error: mean over elements of (t − y)²',
  fits: ['regression'],
  tensor: (output, target) => tf.losses.meanSquaredError(target, output),
  host: (outputs, targets) => meanOfErrors(outputs, targets, (error) => error * error),
};
