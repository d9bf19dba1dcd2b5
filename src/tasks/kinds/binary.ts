import { tf } from '../../tf.js';
import { DataFieldError } from '../../data/columns.js';
import type { TaskKind } from '../types.js';
import { distinctLabels, encodeLabels, type ClassEncoding } from './labels.js';
import { sigmoidOnHost } from './probabilities.js';
import { targetError } from './target-error.js';

/**
 * One of two labels per row: one output, the probability of the positive class (`positive`, else the larger label
 * in sort order), 0/1 training targets.
 */
export const binary: TaskKind<ClassEncoding> = {
  name: 'binary',
  description: 'one of two labels per row: one output, the probability of the positive label',
  targetColumns: 'one',
  defaultLoss: 'binary-cross-entropy',
  readsPositive: true,
  metricLayout: 'binary',
  encodingFields: { column: 'string', classes: 'strings' },
  defaultMetrics: ['accuracy', 'auc', 'macro-f1', 'log-loss'],

  fitTarget(input) {
    const { task } = input;
    const { column, labels } = distinctLabels(input);
    let classes = labels;
    if (classes.length !== 2) {
      // More labels: the type is to change; fewer: the column (another kind would not take it either).
      throw targetError(
        input,
        classes.length > 2 ? ['type'] : ['targets', 0],
        (name) =>
          `${name === undefined ? 'a binary task' : `binary task "${name}"`} needs exactly 2 distinct labels in ` +
          `column "${column.name}", found ${classes.length} (${classes.slice(0, 10).join(', ')}). ` +
          (classes.length > 2
            ? 'Use type multiclass for more.'
            : 'Both labels must occur in the rows used (rows with a missing target are left out).'),
      );
    }
    if (task.positive !== undefined) {
      if (!classes.includes(task.positive)) {
        throw new DataFieldError(
          { task: task.name, path: ['positive'] },
          `"${task.positive}" is not a label of "${column.name}" (labels: ${classes.join(', ')})`,
        );
      }
      classes = [classes.find((c) => c !== task.positive) as string, task.positive];
    }
    return { name: task.name, type: 'binary', column: column.name, classes };
  },
  outputSize: () => 1,
  encodeTargets: encodeLabels,
  trainingTargets: (_encoding, targets, rows) => tf.tensor2d(targets, [rows, 1]),
  predictions: (_encoding, outputs) => sigmoidOnHost(outputs.values),
};
