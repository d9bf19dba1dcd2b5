/** Reading the cells of a loaded table: shared by the feature encodings and the task kinds' target encodings. */
import { pathToString } from '../config/errors.js';
import { UsageError } from '../errors.js';
import { decimal } from '../util/decimal.js';
import { suggest } from '../util/suggest.js';
import type { Column, DataTable } from './types.js';

/**
 * A config field that a data error blames, as the data pipeline sees the config: a path in the data source it reads
 * (`{ data: ['features', 0] }`: `data.features[0]`), or in a task, found by name (a data group holds only some of the
 * config's tasks): `{ task: 'y', path: ['targets', 0] }` is `tasks[y].targets[0]`. Where the config is known, the
 * error is named and located as the config writes the field (data/multi-input.ts, `prepareConfigData`).
 */
export type DataField =
  | { readonly data: readonly (string | number)[] }
  | { readonly task: string; readonly path: readonly (string | number)[] };

/** A field as the data pipeline names it, the config unknown: `data.features[0]`, `tasks[y].targets[0]`. */
function dataFieldText(field: DataField): string {
  if ('data' in field) return pathToString(['data', ...field.data]);
  return `tasks[${field.task}]${field.path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${key}`)).join('')}`;
}

/**
 * A data error that blames a config field: `field: problem`, with the field kept apart to be named and located.
 * `unlocated` is the message where the config is unknown, when it is not `field: problem` as the pipeline names the
 * field: a message older than the locating, kept as it was for library callers and `mtl eval --data`.
 */
export class DataFieldError extends UsageError {
  constructor(
    readonly field: DataField,
    readonly problem: string,
    details: string[] = [],
    unlocated = `${dataFieldText(field)}: ${problem}`,
  ) {
    super(unlocated, details);
  }
}

/**
 * The column called `name`, or a UsageError naming `field` (the config field that asked for it, or a flag) and a
 * close match.
 */
export function columnOf(table: DataTable, name: string, field: string | DataField): Column {
  const column = table.columns.find((c) => c.name === name);
  if (!column) {
    const names = table.columns.map((c) => c.name);
    const hint = suggest(name, names);
    const problem = `column "${name}" is not in ${table.source}${hint ? `; did you mean "${hint}"?` : ''}`;
    const details = [
      `columns there: ${names.slice(0, 40).join(', ')}${names.length > 40 ? `, … (${names.length} in all)` : ''}`,
    ];
    throw typeof field === 'string'
      ? new UsageError(`${field}: ${problem}`, details)
      : new DataFieldError(field, problem, details);
  }
  return column;
}

/** Whether a cell is empty or a missing-value marker; a cell that holds text in a numeric column is not missing. */
export function isMissing(column: Column, row: number): boolean {
  if (column.kind === 'categorical') return column.values[row] === '';
  return Number.isNaN(column.values[row]) && !column.unparsed?.has(row);
}

/** A cell as text: labels are compared as text whether the column was read as numbers or not. */
export function cellText(column: Column, row: number): string {
  if (column.kind === 'categorical') return column.values[row]!;
  return column.unparsed?.get(row) ?? String(column.values[row]);
}

/** Sorts labels numerically when they all are numbers ("2" < "10"), else as text. */
export function sortLabels(labels: Iterable<string>): string[] {
  const list = [...labels];
  const numeric = list.every((l) => Number.isFinite(decimal(l)));
  return list.sort(numeric ? (a, b) => decimal(a) - decimal(b) : undefined);
}

/** The named columns' values of the given rows, row-major (rows × columns); a text cell reads as NaN. */
export function numericCells(
  table: DataTable,
  names: readonly string[],
  rows: Int32Array,
  field: string | DataField,
): Float32Array {
  const columns = names.map((name) => columnOf(table, name, field));
  const out = new Float32Array(rows.length * columns.length);
  rows.forEach((row, i) => {
    columns.forEach((column, k) => {
      out[i * columns.length + k] = column.kind === 'numeric' ? column.values[row]! : Number.NaN;
    });
  });
  return out;
}
