import { tf } from '../../tf.js';
import { lineOf } from '../../data/cells.js';
import { cellText, numericCells } from '../../data/columns.js';
import type { TaskKind } from '../types.js';
import { sigmoidOnHost } from './probabilities.js';
import { targetError } from './target-error.js';

/** The encoding of a multilabel task: one 0/1 column per label. */
export interface MultilabelEncoding {
  name: string;
  type: 'multilabel';
  columns: string[];
}

/** Any number of labels per row, one 0/1 target column each: an output per label, independent probabilities. */
export const multilabel: TaskKind<MultilabelEncoding> = {
  name: 'multilabel',
  description: 'any number of labels per row (a 0/1 column each): an output per label, independent probabilities',
  targetColumns: 'one-or-more',
  defaultLoss: 'binary-cross-entropy',
  metricLayout: 'multilabel',
  encodingFields: { columns: 'strings' },
  defaultMetrics: ['accuracy', 'macro-f1', 'auc', 'log-loss'],

  fitTarget(input) {
    const { task, columns, allRows, table } = input;
    for (const [i, column] of columns.entries()) {
      for (const row of allRows) {
        const v = column.kind === 'numeric' ? column.values[row] : Number.NaN;
        if (v !== 0 && v !== 1) {
          // The column is at fault, of several the one named (a column of counts or scores is no label).
          throw targetError(
            input,
            ['targets', i],
            (name) =>
              `multilabel target column "${column.name}"${name === undefined ? '' : ` of task "${name}"`} must ` +
              `hold 0 or 1; line ${lineOf(row, table)} has "${cellText(column, row)}".`,
          );
        }
      }
    }
    return { name: task.name, type: 'multilabel', columns: columns.map((c) => c.name) };
  },
  outputSize: (encoding) => encoding.columns.length,
  encodeTargets: (table, encoding, rows) =>
    numericCells(table, encoding.columns, rows, `tasks[${encoding.name}] target`),
  trainingTargets: (encoding, targets, rows) => tf.tensor2d(targets, [rows, encoding.columns.length]),
  predictions: (_encoding, outputs) => sigmoidOnHost(outputs.values),
};
