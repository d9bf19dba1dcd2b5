import { tf } from '../../tf.js';
import type { LossDefinition } from '../types.js';
import { meanOfErrors } from './elementwise.js';

/** Mean absolute error, L = mean_elements |t − y|, on the (standardised) training targets. */
export const mae: LossDefinition = {
  name: 'mae',
  description: 'mean absolute error: mean over elements of |t − y|',
  fits: ['regression'],
  tensor: (output, target) => tf.losses.absoluteDifference(target, output),
  host: (outputs, targets) => meanOfErrors(outputs, targets, (error) => error),
};
