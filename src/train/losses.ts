import * as tf from '@tensorflow/tfjs';
import type { LossName } from '../config/types.js';
import { sigmoidCrossEntropy, softmaxCrossEntropy } from '../ops/cross-entropy.js';

/**
 * Per-task training losses, each the mean over the batch (and over outputs for multi-output tasks).
 * `target` is the training form of the targets: one-hot (multiclass), 0/1 (binary, multilabel), standardised
 * values (regression). The cross-entropies are one kernel each way on wasm and cpu (ops/cross-entropy.ts).
 */
export function taskLoss(loss: LossName, output: tf.Tensor2D, target: tf.Tensor2D): tf.Scalar {
  switch (loss) {
    case 'cross-entropy':
      return softmaxCrossEntropy(target, output);
    case 'binary-cross-entropy':
      return sigmoidCrossEntropy(target, output);
    case 'mse':
      return tf.losses.meanSquaredError(target, output) as tf.Scalar;
    case 'mae':
      return tf.losses.absoluteDifference(target, output) as tf.Scalar;
    case 'huber':
      return tf.losses.huberLoss(target, output) as tf.Scalar;
  }
}
