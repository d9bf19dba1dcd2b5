import type * as tf from '@tensorflow/tfjs';
import type { LossName } from '../config/types.js';
import { lossRegistry } from '../tasks/registry.js';

/**
 * A task's training loss on a batch: the registered loss's tensor op (tasks/losses/), the mean over the batch (and
 * over outputs for multi-output tasks). `target` is the kind's training form of the targets: one-hot (multiclass),
 * 0/1 (binary, multilabel), standardised values (regression).
 */
export function taskLoss(loss: LossName, output: tf.Tensor2D, target: tf.Tensor2D): tf.Scalar {
  return lossRegistry.lookup(loss).tensor(output, target);
}
