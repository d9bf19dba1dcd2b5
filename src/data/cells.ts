/**
 * Cells that do not fit how the config uses their column. A column read as numbers (a numeric feature, a
 * regression target) must hold finite numbers or missing values; a typo such as `heavy`, `inf` or `1e400` there is
 * an error naming its line, never a reason to one-hot encode the whole column or to guess a value for it.
 */
import { UsageError } from '../errors.js';
import { LISTED_PROBLEMS } from './csv.js';
import type { Column } from './types.js';

/** Row and text of the cells of `column` that are neither finite numbers nor missing, in row order. */
export function nonNumericCells(column: Column): [row: number, text: string][] {
  if (column.kind === 'numeric') return [...(column.unparsed ?? [])];
  const cells: [number, string][] = [];
  column.values.forEach((text, row) => {
    if (text !== '' && !Number.isFinite(Number(text))) cells.push([row, text]);
  });
  return cells;
}

/** Lines of the file holding a row's cells: the header is line 1. */
export const lineOf = (row: number): number => row + 2;

/**
 * Throws when a numeric feature holds cells that are not numbers: the file, line, column and text of each (the
 * first few), and the three ways out.
 */
export function checkNumericFeature(source: string, column: Column): void {
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
      `${source}: line ${lineOf(first[0])}, column "${column.name}": "${first[1]}" is not a finite number, but the ` +
        "column's other values are numbers.",
      fixes,
    );
  }
  throw new UsageError(
    `${source}: column "${column.name}" holds numbers, but ${cells.length} of its cells are not finite numbers:`,
    [
      ...cells.slice(0, LISTED_PROBLEMS).map(([row, text]) => `line ${lineOf(row)}: "${text}"`),
      ...(cells.length > LISTED_PROBLEMS ? [`… and ${cells.length - LISTED_PROBLEMS} more`] : []),
      ...fixes,
    ],
  );
}
