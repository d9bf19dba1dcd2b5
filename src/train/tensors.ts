import * as tf from '@tensorflow/tfjs';
import type { EncodedRows, Preprocessing, TargetEncoding } from '../data/preprocess.js';
import { outputSize } from '../data/preprocess.js';

/** One split on the backend: inputs, and each task's targets in the form its loss reads. */
export interface SplitTensors {
  rows: number;
  x: tf.Tensor2D;
  targets: Record<string, tf.Tensor2D>;
}

function trainingTargets(encoding: TargetEncoding, values: Float32Array, rows: number): tf.Tensor2D {
  return tf.tidy(() => {
    switch (encoding.type) {
      case 'multiclass':
        return tf.oneHot(tf.tensor1d(Int32Array.from(values), 'int32'), encoding.classes.length).toFloat() as tf.Tensor2D;
      case 'binary':
        return tf.tensor2d(values, [rows, 1]);
      case 'multilabel':
        return tf.tensor2d(values, [rows, encoding.columns.length]);
      case 'regression': {
        // Heads learn standardised targets so tasks of different units train at comparable loss scales.
        const k = encoding.columns.length;
        return tf.div(tf.sub(tf.tensor2d(values, [rows, k]), tf.tensor1d(encoding.mean)), tf.tensor1d(encoding.std)) as tf.Tensor2D;
      }
    }
  });
}

export function toSplitTensors(encoded: EncodedRows, preprocessing: Preprocessing): SplitTensors {
  const targets: Record<string, tf.Tensor2D> = {};
  for (const encoding of preprocessing.tasks) {
    targets[encoding.name] = trainingTargets(encoding, encoded.targets[encoding.name] as Float32Array, encoded.rows);
  }
  return { rows: encoded.rows, x: tf.tensor2d(encoded.x, [encoded.rows, preprocessing.inputSize]), targets };
}

export function disposeSplit(split: SplitTensors): void {
  split.x.dispose();
  for (const t of Object.values(split.targets)) t.dispose();
}

export { outputSize };
