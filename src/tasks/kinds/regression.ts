import { tf } from '../../tf.js';
import { lineOf, nonNumericCells } from '../../data/cells.js';
import { columnOf, numericCells } from '../../data/columns.js';
import type { DataTable } from '../../data/types.js';
import { UsageError } from '../../errors.js';
import type { RawOutputs, TaskKind } from '../types.js';
import { targetError } from './target-error.js';

/** The encoding of a regression task: per target column, the mean and std of its training rows. */
export interface RegressionEncoding {
  name: string;
  type: 'regression';
  columns: string[];
  mean: number[];
  std: number[];
}

/**
 * Numeric targets, one output per column. Heads learn standardised targets, (y − mean) / std over the training
 * rows, so tasks of different units train at comparable loss scales; predictions and metrics are in original units.
 */
export const regression: TaskKind<RegressionEncoding> = {
  name: 'regression',
  description: 'numeric targets, an output per column: heads learn standardised values, metrics are in original units',
  targetColumns: 'one-or-more',
  defaultLoss: 'mse',
  metricLayout: 'regression',
  encodingFields: { columns: 'strings', mean: 'numbers', std: 'numbers' },
  defaultMetrics: ['mse', 'mae', 'r2'],

  fitTarget(input) {
    const { task, columns, trainRows, table } = input;
    const mean: number[] = [];
    const std: number[] = [];
    for (const [i, column] of columns.entries()) {
      // Quotes a cell that is really not a number, with its line: a text column's first value may be "12.5".
      const [culprit, ...others] = nonNumericCells(column);
      if (culprit || column.kind !== 'numeric') {
        const where = culprit ? `; line ${lineOf(culprit[0], table)} has "${culprit[1]}"` : '';
        const more = others.length > 0 ? ` (and ${others.length} more cells that are not numbers)` : '';
        // A single column that holds classes wants another type; of several, the column named is at fault.
        throw targetError(
          input,
          columns.length === 1 ? ['type'] : ['targets', i],
          (name) =>
            `regression target column "${column.name}"${name === undefined ? '' : ` of task "${name}"`} must hold ` +
            `finite numbers${where}${more}. Fix ${others.length > 0 ? 'them' : 'it'}, or use type multiclass if the ` +
            'column holds classes.',
        );
      }
      let sum = 0;
      let sumSq = 0;
      for (const row of trainRows) {
        const v = column.values[row]!;
        sum += v;
        sumSq += v * v;
      }
      const m = sum / trainRows.length;
      const s = Math.sqrt(Math.max(0, sumSq / trainRows.length - m * m));
      mean.push(m);
      // A constant column keeps std 1 so it maps to 0 instead of dividing by zero.
      std.push(s > 1e-12 ? s : 1);
    }
    return { name: task.name, type: 'regression', columns: columns.map((c) => c.name), mean, std };
  },
  outputSize: (encoding) => encoding.columns.length,
  encodeTargets(table, encoding, rows) {
    checkTargetCells(table, encoding, rows);
    return numericCells(table, encoding.columns, rows, `tasks[${encoding.name}] target`);
  },
  trainingTargets(encoding, targets, rows) {
    const k = encoding.columns.length;
    return tf.div(tf.sub(tf.tensor2d(targets, [rows, k]), tf.tensor1d(encoding.mean)), tf.tensor1d(encoding.std));
  },
  predictions: (encoding, outputs) => inOriginalUnits(outputs, encoding),
};

/**
 * A word among the rows' target cells is an error naming its line, as fitTarget's is in training: read as NaN it would
 * pass for a missing label, and `mtl eval --data` would report the task with no metric at all.
 */
function checkTargetCells(table: DataTable, encoding: RegressionEncoding, rows: Int32Array): void {
  const encoded = new Set(rows);
  for (const name of encoding.columns) {
    const cells = nonNumericCells(columnOf(table, name, `tasks[${encoding.name}] target`));
    const [first, ...others] = cells.filter(([row]) => encoded.has(row));
    if (!first) continue;
    const more = others.length > 0 ? ` (and ${others.length} more cells that are not numbers)` : '';
    throw new UsageError(
      `${table.source}: line ${lineOf(first[0], table)}, column "${name}": "${first[1]}" is not a finite number, ` +
        'but it is ' +
        `the target of regression task "${encoding.name}"${more}.`,
      ['fix the cell, or leave it empty (or NA) to mark a missing label'],
    );
  }
}

/** y·std + mean per column, each step rounded to float32 as the backend's mul and add round them. */
function inOriginalUnits(
  { values, width }: RawOutputs,
  scale: { mean: readonly number[]; std: readonly number[] },
): Float32Array {
  const out = new Float32Array(values.length);
  const std = Float32Array.from(scale.std);
  const mean = Float32Array.from(scale.mean);
  for (let i = 0; i < values.length; i++) {
    const c = i % width;
    out[i] = Math.fround(Math.fround(values[i]! * std[c]!) + mean[c]!);
  }
  return out;
}
