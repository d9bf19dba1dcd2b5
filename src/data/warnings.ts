/**
 * Data that trains without an error but cannot teach the model what the config asks (shown as `warning: …` lines by
 * `mtl validate` and `mtl train`, through DataReport.warnings):
 *
 * - A text column taken as a feature by default (the config lists no `data.features`, and not it in
 *   `data.categorical`) that looks like an identifier: its values on the training rows are all distinct and fill more
 *   than half of them, and there are at least {@link IDENTIFIER_MIN_VALUES}. One-hot encoded, each of its categories
 *   is one training row's, so it says nothing about other rows, and `mtl eval --data` reads every value it has not
 *   seen as all zeros.
 * - A classification task (binary, multiclass) whose training rows hold a single label, or whose val/test rows hold a
 *   label no training row has: the model is never trained to predict such a label; a regression target column that
 *   holds one value on the training rows: the model only learns to predict that value.
 * - A feature column that holds one value on every training row (missing cells aside): its input is the same for
 *   every row the model learns from, so it tells the model nothing. Not said of a built-in dataset's columns, nor of
 *   an image trunk's input, where a constant pixel keeps its place in the image (data/prepare.ts).
 * - A task whose `max_train_rows` is not below its labelled training rows: the budget keeps every label.
 */
import type { DataConfig, TaskConfig } from '../config/types.js';
import { taskKindRegistry } from '../tasks/registry.js';
import { cellText, columnOf, isMissing } from './columns.js';
import { LISTED_PROBLEMS } from './csv.js';
import { labelledRows, type LabelMask } from './labels.js';
import type { Preprocessing } from './preprocess.js';
import { SPLITS, type SplitName } from './split.js';
import type { Column, DataTable } from './types.js';

/** Fewer values than this are never called an identifier: in a tiny table any text column may be all distinct. */
export const IDENTIFIER_MIN_VALUES = 10;

/**
 * The number of values of `column` on `rows` when they look like an identifier's (all distinct, more than half of the
 * rows have one, at least {@link IDENTIFIER_MIN_VALUES}); otherwise undefined.
 */
export function identifierValues(column: Column, rows: Int32Array): number | undefined {
  const seen = new Set<string>();
  for (const row of rows) {
    if (isMissing(column, row)) continue;
    const text = cellText(column, row);
    if (seen.has(text)) return undefined;
    seen.add(text);
  }
  return seen.size >= IDENTIFIER_MIN_VALUES && seen.size > rows.length / 2 ? seen.size : undefined;
}

/** The one value (as text) of `column` on `rows`, missing cells aside, or undefined when they differ or all miss. */
export function onlyValue(column: Column, rows: Int32Array): string | undefined {
  let only: string | undefined;
  for (const row of rows) {
    if (isMissing(column, row)) continue;
    const text = cellText(column, row);
    if (only === undefined) only = text;
    else if (text !== only) return undefined;
  }
  return only;
}

/**
 * A warning naming the feature columns that hold one value on every training row (at most
 * {@link LISTED_PROBLEMS} of them, with their values) and how to leave them out; none when every feature varies.
 */
export function constantFeatureWarnings(
  table: DataTable,
  preprocessing: Preprocessing,
  trainRows: Int32Array,
): string[] {
  const found: [name: string, value: string][] = [];
  for (const encoding of preprocessing.features) {
    const value = onlyValue(columnOf(table, encoding.column, 'data.features'), trainRows);
    if (value !== undefined) found.push([encoding.column, value]);
  }
  const [first] = found;
  if (first === undefined) return [];
  const features = preprocessing.features.map((f) => f.column);
  const one = found.length === 1;
  const fix =
    found.length < features.length
      ? `leave ${one ? 'it' : 'them'} out with ${featuresWithout(features, new Set(found.map(([name]) => name)))}`
      : 'no feature varies, so the model has nothing to learn from; check the data and the split';
  const listed = found.slice(0, LISTED_PROBLEMS).map(([name, value]) => `"${name}" ("${value}")`);
  const more = found.length > listed.length ? ` and ${found.length - listed.length} more` : '';
  const columns = one
    ? `column "${first[0]}" holds "${first[1]}"`
    : `columns ${listed.join(', ')}${more} hold one value each`;
  return [
    `${columns} on every training row (${trainRows.length}): as ${one ? 'a feature it gives' : 'features they give'} ` +
      `every row the same input, which tells the model nothing; ${fix}`,
  ];
}

/** `data.features: [a, b]` with the features other than `left`: how to train without them. */
export function featuresWithout(features: readonly string[], left: ReadonlySet<string>): string {
  return `data.features: [${features.filter((name) => !left.has(name)).join(', ')}]`;
}

/** Warnings for text features taken by default that look like identifiers, each naming how to leave it out. */
export function identifierWarnings(
  table: DataTable,
  data: DataConfig,
  preprocessing: Preprocessing,
  trainRows: Int32Array,
): string[] {
  // A column the config names as a feature or category was chosen, not taken by default.
  if (data.features) return [];
  const declared = new Set(data.categorical);
  const found: [name: string, values: number][] = [];
  for (const encoding of preprocessing.features) {
    if (encoding.kind !== 'categorical' || declared.has(encoding.column)) continue;
    const column = columnOf(table, encoding.column, 'data.features');
    if (column.kind !== 'categorical') continue;
    const values = identifierValues(column, trainRows);
    if (values !== undefined) found.push([encoding.column, values]);
  }
  const left = new Set(found.map(([name]) => name));
  const features = preprocessing.features.map((f) => f.column);
  return found.map(
    ([name, values]) =>
      `column "${name}" looks like an identifier (its ${values} training values are all distinct): as a feature it ` +
      `adds ${values} one-hot inputs that no other row shares, and mtl eval --data encodes every value training ` +
      `did not see as all zeros; leave it out with ${featuresWithout(features, left)}`,
  );
}

/**
 * A feature column whose every value names a split (train, val, test, as a split column's must): the file brings its
 * own split, and without `data.split: { column }` it is one-hot encoded as a feature while the rows are split at
 * random, mixing the file's test rows into training.
 */
export function splitColumnWarnings(table: DataTable, data: DataConfig, features: readonly string[]): string[] {
  if ('column' in data.split) return [];
  const warnings: string[] = [];
  for (const name of features) {
    const column = columnOf(table, name, 'data.features');
    if (column.kind !== 'categorical' || column.values.length === 0) continue;
    const values = new Set(column.values);
    if (values.size < 2 || ![...values].every((value) => SPLITS.includes(value as SplitName))) continue;
    warnings.push(
      `column "${name}" holds only split names (${[...values].sort().join(', ')}), but the rows are split at random ` +
        `and it is used as a feature; to split by it, set data.split: { column: ${name} } (it then stops being a ` +
        'feature)',
    );
  }
  return warnings;
}

/** Warnings for classification tasks whose training rows hold one label, or miss a label of the val/test rows. */
export function labelWarnings(
  table: DataTable,
  tasks: readonly TaskConfig[],
  split: Record<SplitName, Int32Array>,
  labels: LabelMask | undefined,
): string[] {
  const warnings: string[] = [];
  for (const task of tasks) {
    const layout = taskKindRegistry.lookup(task.type).metricLayout;
    const rowsOf = (part: SplitName): Int32Array => labelledRows(split[part], labels, task.name);
    if (layout === 'regression') {
      warnings.push(...constantTargetWarnings(table, task, rowsOf('train')));
      continue;
    }
    if (layout !== 'binary' && layout !== 'multiclass') continue;
    const column = columnOf(table, task.targets[0]!, { task: task.name, path: ['targets', 0] });
    const labelsOf = (rows: Int32Array): string[] => [...new Set(Array.from(rows, (row) => cellText(column, row)))];
    const train = rowsOf('train');
    const trained = labelsOf(train);
    const [only] = trained;
    if (trained.length === 1 && only !== undefined) {
      warnings.push(
        `task "${task.name}": every training row (${train.length}) has label "${only}" of "${column.name}", so the ` +
          'model cannot learn to tell the labels apart; put rows of each label in the train split',
      );
    }
    const known = new Set(trained);
    for (const part of ['val', 'test'] as const) {
      const rows = rowsOf(part).filter((row) => !known.has(cellText(column, row)));
      if (rows.length === 0) continue;
      const unseen = labelsOf(rows);
      const listed = unseen.slice(0, LISTED_PROBLEMS).map((label) => `"${label}"`);
      const rowsHold = rows.length === 1 ? 'row holds' : 'rows hold';
      warnings.push(
        `task "${task.name}": ${rows.length} ${part} ${rowsHold} label${unseen.length === 1 ? '' : 's'} ` +
          `${listed.join(', ')}${unseen.length > listed.length ? ', …' : ''} ` +
          `of "${column.name}" that no training row has: the model is never trained to predict ` +
          `${unseen.length === 1 ? 'it' : 'them'}`,
      );
    }
  }
  return warnings;
}

/** A regression task's target columns that hold one value on its training rows: that value is all it can learn. */
function constantTargetWarnings(table: DataTable, task: TaskConfig, train: Int32Array): string[] {
  return task.targets.flatMap((name, i) => {
    const value = onlyValue(columnOf(table, name, { task: task.name, path: ['targets', i] }), train);
    if (value === undefined) return [];
    return [
      `task "${task.name}": every training row (${train.length}) has value ${value} of "${name}", so the model can ` +
        `only learn to predict ${value} whatever the input; put rows with other values in the train split, or ` +
        'remove the task',
    ];
  });
}

/**
 * Tasks whose `max_train_rows` keeps every label: `mask` is before the budgets, `trainRows` the training rows, so
 * the count is of the labels the budget chooses from.
 */
export function rowBudgetWarnings(tasks: readonly TaskConfig[], mask: LabelMask, trainRows: Int32Array): string[] {
  return tasks.flatMap((task) => {
    const budget = task.max_train_rows;
    if (budget === undefined) return [];
    const labelled = labelledRows(trainRows, mask, task.name).length;
    if (labelled > budget) return [];
    return [
      `task "${task.name}": max_train_rows is ${budget}, but the task has only ${labelled} labelled training ` +
        `row${labelled === 1 ? '' : 's'}, so every label is kept and the budget changes nothing; set it below ` +
        `${labelled}, or remove max_train_rows`,
    ];
  });
}
