import { tf } from '../../tf.js';
import type { TaskKind } from '../types.js';
import { distinctLabels, encodeLabels, type ClassEncoding } from './labels.js';
import { softmaxOnHost } from './probabilities.js';
import { targetError } from './target-error.js';

/** One label of several per row: one output per class, a softmax over them, one-hot training targets. */
export const multiclass: TaskKind<ClassEncoding> = {
  name: 'multiclass',
  description: 'one label of several per row: an output per class, softmax probabilities',
  targetColumns: 'one',
  defaultLoss: 'cross-entropy',
  metricLayout: 'multiclass',
  encodingFields: { column: 'string', classes: 'strings' },
  defaultMetrics: ['accuracy', 'macro-f1', 'log-loss'],
  // The backend's softmax (one kernel, read with the outputs) is what the metrics have always read.
  backendTransforms: ['softmax'],

  fitTarget(input) {
    const { column, labels: classes } = distinctLabels(input);
    if (classes.length < 2) {
      throw targetError(
        input,
        ['targets', 0],
        (name) =>
          `column "${column.name}" has a single label; ` +
          `${name === undefined ? 'a classification task' : `classification task "${name}"`} needs at least 2.`,
      );
    }
    return { name: input.task.name, type: 'multiclass', column: column.name, classes };
  },
  outputSize: (encoding) => encoding.classes.length,
  encodeTargets: encodeLabels,
  trainingTargets: (encoding, targets) =>
    tf.oneHot(tf.tensor1d(Int32Array.from(targets), 'int32'), encoding.classes.length).toFloat() as tf.Tensor2D,
  predictions: (_encoding, outputs) => outputs.backend.softmax ?? softmaxOnHost(outputs),
};
