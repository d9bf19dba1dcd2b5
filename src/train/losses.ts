import * as tf from '@tensorflow/tfjs';
import type { LossName } from '../config/types.js';
import type { TaskType } from '../data/types.js';
import { sigmoidCrossEntropy, softmaxCrossEntropy } from './fused-losses.js';

/**
 * Per-task training losses, each the mean over the batch (and over outputs for multi-output tasks).
 * `target` is the training form of the targets: one-hot (multiclass), 0/1 (binary, multilabel), standardised
 * values (regression). The cross-entropies are one kernel each way on wasm and cpu (train/fused-losses.ts).
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

/** Turns raw model outputs into what metrics read: probabilities, or values in the targets' own units. */
export function toPredictions(
  type: TaskType,
  output: tf.Tensor2D,
  regressionScale?: { mean: number[]; std: number[] },
): tf.Tensor2D {
  return tf.tidy(() => {
    switch (type) {
      case 'multiclass':
        return tf.softmax(output);
      case 'binary':
      case 'multilabel':
        return tf.sigmoid(output);
      case 'regression': {
        if (!regressionScale) return output;
        return tf.add(tf.mul(output, tf.tensor1d(regressionScale.std)), tf.tensor1d(regressionScale.mean));
      }
    }
  });
}
