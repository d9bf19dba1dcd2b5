import { lineOf } from '../../data/cells.js';
import { cellText, columnOf, sortLabels } from '../../data/columns.js';
import type { Column, DataTable } from '../../data/types.js';
import { UsageError } from '../../errors.js';
import type { TargetFitInput } from '../types.js';

/** The encoding of a task whose one target column holds a label per row (multiclass, binary). */
export interface ClassEncoding {
  name: string;
  type: 'multiclass' | 'binary';
  column: string;
  /** The labels in output order: output unit k (or, for binary, probability 1) means classes[k]. */
  classes: string[];
}

/**
 * The task's target column and its distinct labels, sorted. The labels come from every usable row: a label seen
 * only in test must still have an output unit.
 */
export function distinctLabels(input: TargetFitInput): { column: Column; labels: string[] } {
  const column = input.columns[0]!;
  const labels = new Set<string>();
  for (const row of input.allRows) labels.add(cellText(column, row));
  return { column, labels: sortLabels(labels) };
}

/** Class indices of the given rows; a label not seen in training is a UsageError naming its line. */
export function encodeLabels(table: DataTable, encoding: ClassEncoding, rows: Int32Array): Float32Array {
  const column = columnOf(table, encoding.column, `tasks[${encoding.name}] target`);
  const index = new Map(encoding.classes.map((c, i) => [c, i]));
  return Float32Array.from(rows, (row) => {
    const k = index.get(cellText(column, row));
    if (k === undefined) {
      throw new UsageError(
        `${table.source}: line ${lineOf(row, table)}: label "${cellText(column, row)}" of "${encoding.column}" was ` +
          'not seen in ' +
          `training (known: ${encoding.classes.join(', ')}); the model has no output for it: leave such rows out or ` +
          `relabel them.`,
      );
    }
    return k;
  });
}
