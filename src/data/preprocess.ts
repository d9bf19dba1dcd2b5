import { UsageError } from '../errors.js';
import { decimal } from '../util/decimal.js';
import type { DataConfig, TaskConfig } from '../config/types.js';
import { kindOf, taskKindRegistry } from '../tasks/registry.js';
import type { TargetEncoding } from '../tasks/types.js';
import { cellText, columnOf, DataFieldError, isMissing, sortLabels } from './columns.js';
import { lineOf } from './cells.js';
import { LISTED_PROBLEMS } from './csv.js';
import { labelledRows, masksTargets, rowLabelColumns, type LabelMask } from './labels.js';
import type { Column, DataTable } from './types.js';

/**
 * Everything learned from the training rows that turns a table into model inputs and targets. It is stored with
 * the run (preprocessing.json) so `mtl eval --data other.csv` encodes new rows exactly as training did.
 */
export interface Preprocessing {
  features: FeatureEncoding[];
  /** Per task, in config order, what its kind fitted (tasks/kinds/: class lists, target scales). */
  tasks: TargetEncoding[];
  /** Width of the model input after one-hot encoding. */
  inputSize: number;
  missing: DataConfig['missing'];
  /**
   * Multi-input runs (tasks with their own data, data/multi-input.ts): each data group's own feature encoding, fitted
   * on its own training rows, in group order. Absent for a single source (its preprocessing.json reads as before).
   */
  groups?: GroupEncoding[];
  /**
   * Multi-input runs with `training.multi_input.adapters` whose groups encode different layouts
   * (model/input-adapters.ts): each row is its group's encoding zero-padded to the widest, then one indicator per
   * group (`inputSize` = that).
   */
  adapters?: InputAdapters;
}

export interface InputAdapters {
  /** The width every group is mapped to: the first data group's input width. */
  sharedWidth: number;
  /** Per data group, in group order: its input width, and its adapter's name (its first task) where its layout
   *  differs from the first group's (absent: read as is). */
  groups: Array<{ width: number; adapter?: string }>;
}

/** One data group's feature encoding in a multi-input run (its tasks' target encodings are in `tasks`). */
export interface GroupEncoding {
  /** Where the source is written: `data` or `tasks[i].data`. */
  field: string;
  /** The source as messages name it (`target.csv`, `dataset synthetic-correlated`). */
  source: string;
  /** The group's tasks, in config order. */
  tasks: string[];
  features: FeatureEncoding[];
  inputSize: number;
  missing: DataConfig['missing'];
}

export type FeatureEncoding =
  | { kind: 'numeric'; column: string; center: number; scale: number; fill: number }
  | { kind: 'categorical'; column: string; categories: string[]; fill: string };

/** Inputs and targets of a set of rows, ready for tensors. */
export interface EncodedRows {
  rows: number;
  /** rows × inputSize, row-major. */
  x: Float32Array;
  /**
   * Per task, the targets as metrics read them (its kind's `encodeTargets`): class index (multiclass), 0/1
   * (binary), 0/1 per label (multilabel), values in original units (regression, rows × K).
   */
  targets: Record<string, Float32Array>;
  /**
   * Per task with a row missing its label (data.missing_targets: mask): 1 where the row has it. A task not listed
   * has every row's label; the targets of an unlabelled row are 0, a placeholder nothing reads.
   */
  labelled?: Record<string, Uint8Array>;
}

/**
 * Resolves which columns are features: the config's list, or every column that is no target and no split column.
 * `reserved` names further columns never taken by default: a built-in dataset's other targets, so a config that
 * keeps one of its tasks does not learn it from the other task's labels.
 */
export function featureColumns(
  table: DataTable,
  data: DataConfig,
  tasks: readonly TaskConfig[],
  reserved: readonly string[] = [],
): string[] {
  if (data.features) {
    data.features.forEach((name, i) => columnOf(table, name, { data: ['features', i] }));
    return data.features;
  }
  const excluded = new Set([...tasks.flatMap((t) => t.targets), ...reserved]);
  if ('column' in data.split) excluded.add(data.split.column);
  return table.columns.map((c) => c.name).filter((name) => !excluded.has(name));
}

/**
 * Rows usable for training and evaluation: under the `drop` policy (and always for `data.required_columns`, and for
 * targets under `data.missing_targets: drop`) rows with a missing value are left out; under `error` the first missing
 * cells are reported with their line in the file. Under `missing_targets: mask` a row needs at least one task's label
 * (or a value in `data.row_label_columns`) instead of every target (data/labels.ts).
 */
export function usableRows(
  table: DataTable,
  data: DataConfig,
  features: readonly string[],
  tasks: readonly TaskConfig[],
  missingHint = 'set data.missing to "drop" (leave such rows out) or "impute" (fill features from the training rows)',
): Int32Array {
  const masking = masksTargets(data);
  // Under `mask` a target keeps no row out by itself: a row needs one label (labelSets) instead.
  const labelSets = masking ? rowLabelColumns(table, data, tasks).map((entry) => entry.columns) : [];
  const targetColumns = [
    ...(masking ? [] : tasks).flatMap((t) =>
      t.targets.map((name, i) => ({
        column: columnOf(table, name, { task: t.name, path: ['targets', i] }),
        role: 'a target',
      })),
    ),
    ...(data.required_columns ?? []).map((name, i) => ({
      column: columnOf(table, name, { data: ['required_columns', i] }),
      role: 'in data.required_columns',
    })),
  ];
  const featureCols = features.map((name) => columnOf(table, name, 'data.features'));
  const keep: number[] = [];
  const problems: string[] = [];
  // Under `error`, every missing cell by column: the message lists the first few and counts the rest.
  const missingByColumn = new Map<string, number>();
  const missingCell = (row: number, name: string, role?: string): void => {
    if (data.missing !== 'error') return;
    missingByColumn.set(name, (missingByColumn.get(name) ?? 0) + 1);
    if (problems.length < LISTED_PROBLEMS)
      problems.push(`line ${lineOf(row, table)}, column "${name}"${role ? ` (${role})` : ''}`);
  };
  for (let row = 0; row < table.rowCount; row++) {
    let ok = true;
    for (const { column, role } of targetColumns) {
      if (isMissing(column, row)) {
        ok = false;
        missingCell(row, column.name, role);
      }
    }
    if (data.missing !== 'impute') {
      for (const column of featureCols) {
        if (isMissing(column, row)) {
          ok = false;
          missingCell(row, column.name);
        }
      }
    }
    if (ok && masking) ok = labelSets.some((columns) => columns.every((column) => !isMissing(column, row)));
    if (ok) keep.push(row);
  }
  if (data.missing === 'error' && problems.length > 0) {
    const total = [...missingByColumn.values()].reduce((a, n) => a + n, 0);
    const byColumn = [...missingByColumn].map(([name, n]) => `"${name}" ${n}`).join(', ');
    throw new UsageError(
      `${table.source} has ${total} missing value${total === 1 ? '' : 's'} (data.missing is "error"):`,
      [
        ...problems,
        ...(total > problems.length ? [`… and ${total - problems.length} more (by column: ${byColumn})`] : []),
        missingHint,
      ],
    );
  }
  if (keep.length === 0) {
    throw new UsageError(
      `${table.source}: no row is left after dropping rows with missing values` +
        `${masking ? ' (a row needs its features and at least one task label)' : ''}.`,
    );
  }
  return Int32Array.from(keep);
}

/** Learns the encodings from the training rows only, so validation and test statistics never leak into training. */
export function fitPreprocessing(
  table: DataTable,
  data: DataConfig,
  tasks: readonly TaskConfig[],
  features: readonly string[],
  trainRows: Int32Array,
  allRows: Int32Array,
  labels?: LabelMask,
): Preprocessing {
  const forcedCategorical = new Set(data.categorical);
  data.categorical.forEach((name, i) => {
    columnOf(table, name, { data: ['categorical', i] });
    // Read for features only: listed for a target or a column left out, it would change nothing, silently.
    if (features.includes(name)) return;
    const task = tasks.find((t) => t.targets.includes(name));
    const what = task ? `the target of task "${task.name}"` : 'not a feature (data.features leaves it out)';
    throw new DataFieldError(
      { data: ['categorical', i] },
      `"${name}" is ${what}; data.categorical makes features categorical, so it would change nothing. Remove it ` +
        'from data.categorical.',
    );
  });
  const encodings: FeatureEncoding[] = features.map((name) => {
    const column = columnOf(table, name, 'data.features');
    if (column.kind === 'categorical' || forcedCategorical.has(name)) {
      const counts = new Map<string, number>();
      for (const row of trainRows) {
        if (isMissing(column, row)) continue;
        const text = cellText(column, row);
        counts.set(text, (counts.get(text) ?? 0) + 1);
      }
      const categories = sortLabels(counts.keys());
      let fill = categories[0] ?? '';
      for (const [label, count] of counts) if (count > (counts.get(fill) ?? 0)) fill = label;
      return { kind: 'categorical', column: name, categories, fill };
    }
    let sum = 0;
    let sumSq = 0;
    let min = Infinity;
    let max = -Infinity;
    let n = 0;
    for (const row of trainRows) {
      const v = column.values[row]!;
      if (Number.isNaN(v)) continue;
      sum += v;
      sumSq += v * v;
      min = Math.min(min, v);
      max = Math.max(max, v);
      n++;
    }
    const mean = n > 0 ? sum / n : 0;
    const std = n > 0 ? Math.sqrt(Math.max(0, sumSq / n - mean * mean)) : 1;
    // A constant column keeps scale 1 so it maps to 0 instead of dividing by zero.
    const [center, scale] =
      data.normalize === 'standard'
        ? [mean, std > 1e-12 ? std : 1]
        : data.normalize === 'minmax'
          ? [min, max - min > 1e-12 ? max - min : 1]
          : [0, 1];
    return { kind: 'numeric', column: name, center: n > 0 ? center : 0, scale, fill: mean };
  });
  const inputSize = encodings.reduce((size, e) => size + (e.kind === 'numeric' ? 1 : e.categories.length), 0);
  return {
    features: encodings,
    // A task's target encoding learns from the rows with its label only (an empty cell is no class).
    tasks: tasks.map((task) =>
      fitTarget(table, task, labelledRows(trainRows, labels, task.name), labelledRows(allRows, labels, task.name)),
    ),
    inputSize,
    missing: data.missing,
  };
}

function fitTarget(table: DataTable, task: TaskConfig, trainRows: Int32Array, allRows: Int32Array): TargetEncoding {
  const field = `tasks[${task.name}]`;
  const columns = task.targets.map((name, i) => columnOf(table, name, { task: task.name, path: ['targets', i] }));
  return taskKindRegistry.lookup(task.type).fitTarget({ task, field, columns, trainRows, allRows, table });
}

/**
 * Encodes the given rows with a fitted preprocessing (also for new data at evaluation time). A category the training
 * rows never had is all zeros: no evidence for any known category (data/cells.ts warns of it).
 */
export function encodeRows(table: DataTable, prep: Preprocessing, rows: Int32Array, labels?: LabelMask): EncodedRows {
  const x = new Float32Array(rows.length * prep.inputSize);
  let offset = 0;
  for (const encoding of prep.features) {
    const column = columnOf(table, encoding.column, 'feature');
    if (encoding.kind === 'numeric') {
      rows.forEach((row, i) => {
        const value = isMissing(column, row) ? encoding.fill : numericValue(table, column, row);
        x[i * prep.inputSize + offset] = (value - encoding.center) / encoding.scale;
      });
      offset += 1;
    } else {
      const index = new Map(encoding.categories.map((c, i) => [c, i]));
      rows.forEach((row, i) => {
        const text = isMissing(column, row) ? encoding.fill : cellText(column, row);
        const k = index.get(text);
        if (k !== undefined) x[i * prep.inputSize + offset + k] = 1;
      });
      offset += encoding.categories.length;
    }
  }
  const targets: Record<string, Float32Array> = {};
  const labelled: Record<string, Uint8Array> = {};
  for (const encoding of prep.tasks) {
    const mask = labels?.[encoding.name];
    const present = mask ? Uint8Array.from(rows, (row) => mask[row]!) : undefined;
    if (!present || present.every((v) => v === 1)) {
      targets[encoding.name] = kindOf(encoding).encodeTargets(table, encoding, rows);
      continue;
    }
    labelled[encoding.name] = present;
    targets[encoding.name] = maskedTargets(table, encoding, rows, present);
  }
  return Object.keys(labelled).length > 0
    ? { rows: rows.length, x, targets, labelled }
    : { rows: rows.length, x, targets };
}

/**
 * A task's targets where some rows have no label: the labelled rows encoded by the task's kind, 0 (a placeholder
 * no loss or metric reads) in every target slot of the others.
 */
function maskedTargets(
  table: DataTable,
  encoding: TargetEncoding,
  rows: Int32Array,
  present: Uint8Array,
): Float32Array {
  const kind = kindOf(encoding);
  const own = rows.filter((_, i) => present[i] === 1);
  const encoded = kind.encodeTargets(table, encoding, own);
  // One value per row for a one-column kind, one per output otherwise (TaskKind.targetColumns).
  const width =
    own.length > 0 ? encoded.length / own.length : kind.targetColumns === 'one' ? 1 : kind.outputSize(encoding);
  const out = new Float32Array(rows.length * width);
  let k = 0;
  present.forEach((isLabelled, i) => {
    if (isLabelled !== 1) return;
    out.set(encoded.subarray(k * width, (k + 1) * width), i * width);
    k++;
  });
  return out;
}

/** A non-missing cell of a feature that was numeric in training; text there is an error naming line and column. */
function numericValue(table: DataTable, column: Column, row: number): number {
  const value = column.kind === 'numeric' ? column.values[row]! : decimal(column.values[row]!);
  if (Number.isFinite(value)) return value;
  throw new UsageError(
    `${table.source}: line ${lineOf(row, table)}, column "${column.name}": "${cellText(column, row)}" is not a ` +
      'finite number, but the feature was numeric in training. Fix the cell, or leave it empty to mark a missing ' +
      'value.',
  );
}
