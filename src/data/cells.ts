/**
 * Cells that do not fit how the config uses their column. A column read as numbers (a numeric feature, a
 * regression target) must hold finite numbers or missing values; a typo such as `heavy`, `inf` or `1e400` there is
 * an error naming its line, never a reason to one-hot encode the whole column or to guess a value for it.
 */
import { UsageError } from '../errors.js';
import { decimal } from '../util/decimal.js';
import { LISTED_PROBLEMS } from './csv.js';
import { cellText, columnOf, isMissing } from './columns.js';
import type { Preprocessing } from './preprocess.js';
import type { Column, DataTable } from './types.js';
import { featuresWithout, identifierValues } from './warnings.js';

/** Row and text of the cells of `column` that are neither finite numbers nor missing, in row order. */
export function nonNumericCells(column: Column): [row: number, text: string][] {
  if (column.kind === 'numeric') return [...(column.unparsed ?? [])];
  const cells: [number, string][] = [];
  column.values.forEach((text, row) => {
    if (text !== '' && !Number.isFinite(decimal(text))) cells.push([row, text]);
  });
  return cells;
}

/**
 * The line of the file where a row starts, from the table's own record of it (a quoted field may span lines);
 * without a table, or for a table without one, the line as if each row were one line below the header.
 */
export const lineOf = (row: number, table?: Pick<DataTable, 'lines'>): number => table?.lines?.[row] ?? row + 2;

/**
 * Throws when a numeric feature holds cells that are not numbers: the file, line, column and text of each (the
 * first few), and the three ways out.
 */
export function checkNumericFeature(table: Pick<DataTable, 'source' | 'lines'>, column: Column): void {
  const { source } = table;
  if (column.kind !== 'numeric') return;
  const cells = nonNumericCells(column);
  const [first] = cells;
  if (!first) return;
  const fixes = [
    `fix ${cells.length === 1 ? 'the cell' : 'these cells'}, or leave ${cells.length === 1 ? 'it' : 'them'} empty ` +
      '(or NA) to mark a missing value, which data.missing then handles',
    `or list "${column.name}" in data.categorical to one-hot encode the column as text`,
  ];
  if (cells.length === 1) {
    throw new UsageError(
      `${source}: line ${lineOf(first[0], table)}, column "${column.name}": "${first[1]}" is not a finite number, ` +
        "but the column's other values are numbers.",
      fixes,
    );
  }
  throw new UsageError(
    `${source}: column "${column.name}" holds numbers, but ${cells.length} of its cells are not finite numbers:`,
    [
      ...cells.slice(0, LISTED_PROBLEMS).map(([row, text]) => `line ${lineOf(row, table)}: "${text}"`),
      ...(cells.length > LISTED_PROBLEMS ? [`… and ${cells.length - LISTED_PROBLEMS} more`] : []),
      ...fixes,
    ],
  );
}

/**
 * Warnings for categories that occur in `rows` but in no training row, one per column: they are encoded as all zeros
 * (no evidence for any known category), which is worth knowing. `rows` are training's val and test rows, or with
 * `newFile` every row of a new file (`mtl eval --data`), named with the file; there training's own identifier
 * warning is not at hand, so a column with a different value on each row is said to be an identifier.
 */
export function unseenCategoryWarnings(
  table: DataTable,
  preprocessing: Preprocessing,
  rows: Int32Array,
  newFile = false,
): string[] {
  const warnings: string[] = [];
  const features = preprocessing.features.map((f) => f.column);
  for (const encoding of preprocessing.features) {
    if (encoding.kind !== 'categorical') continue;
    const column = columnOf(table, encoding.column, 'data.features');
    const known = new Set(encoding.categories);
    const unseen = new Map<string, number>();
    for (const row of rows) {
      if (isMissing(column, row)) continue;
      const text = cellText(column, row);
      if (!known.has(text)) unseen.set(text, (unseen.get(text) ?? 0) + 1);
    }
    if (unseen.size === 0) continue;
    const count = [...unseen.values()].reduce((a, b) => a + b, 0);
    const values = [...unseen.keys()].slice(0, LISTED_PROBLEMS).map((v) => `"${v}"`);
    const identifier = newFile ? identifierValues(column, rows) : undefined;
    warnings.push(
      `${newFile ? `${table.source}: ` : ''}column "${encoding.column}": ${count} ${newFile ? '' : 'val/test '}` +
        `row${count === 1 ? '' : 's'} hold${count === 1 ? 's' : ''} categories no training row has ` +
        `(${values.join(', ')}${unseen.size > values.length ? ', …' : ''}); they are encoded as all zeros` +
        (identifier === undefined
          ? ''
          : `; "${encoding.column}" holds a different value on each of the ${identifier} rows here: it is probably ` +
            'an identifier, which tells the model nothing about new rows; retrain without it, with ' +
            featuresWithout(features, new Set([encoding.column]))),
    );
  }
  return warnings;
}
