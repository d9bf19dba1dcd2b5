import { UsageError } from '../errors.js';
import type { DataConfig, TaskConfig } from '../config/types.js';
import type { Column, DataTable, TaskType } from './types.js';
import { suggest } from '../util/suggest.js';

/**
 * Everything learned from the training rows that turns a table into model inputs and targets. It is stored with
 * the run (preprocessing.json) so `mtl eval --data other.csv` encodes new rows exactly as training did.
 */
export interface Preprocessing {
  features: FeatureEncoding[];
  tasks: TargetEncoding[];
  /** Width of the model input after one-hot encoding. */
  inputSize: number;
  missing: DataConfig['missing'];
}

export type FeatureEncoding =
  | { kind: 'numeric'; column: string; center: number; scale: number; fill: number }
  | { kind: 'categorical'; column: string; categories: string[]; fill: string };

export type TargetEncoding =
  | { name: string; type: 'multiclass' | 'binary'; column: string; classes: string[] }
  | { name: string; type: 'multilabel'; columns: string[] }
  | { name: string; type: 'regression'; columns: string[]; mean: number[]; std: number[] };

/** Inputs and targets of a set of rows, ready for tensors. */
export interface EncodedRows {
  rows: number;
  /** rows × inputSize, row-major. */
  x: Float32Array;
  /**
   * Per task, the targets as metrics read them: class index (multiclass), 0/1 (binary), 0/1 per label
   * (multilabel), values in original units (regression, rows × K).
   */
  targets: Record<string, Float32Array>;
}

export function outputSize(encoding: TargetEncoding): number {
  switch (encoding.type) {
    case 'multiclass':
      return encoding.classes.length;
    case 'binary':
      return 1;
    case 'multilabel':
    case 'regression':
      return encoding.columns.length;
  }
}

function columnOf(table: DataTable, name: string, field: string): Column {
  const column = table.columns.find((c) => c.name === name);
  if (!column) {
    const names = table.columns.map((c) => c.name);
    const hint = suggest(name, names);
    throw new UsageError(
      `${field}: column "${name}" is not in ${table.source}${hint ? `; did you mean "${hint}"?` : ''}`,
      [`columns there: ${names.slice(0, 40).join(', ')}${names.length > 40 ? `, … (${names.length} in all)` : ''}`],
    );
  }
  return column;
}

function isMissing(column: Column, row: number): boolean {
  return column.kind === 'numeric' ? Number.isNaN(column.values[row]) : column.values[row] === '';
}

function cellText(column: Column, row: number): string {
  return column.kind === 'numeric' ? String(column.values[row]) : (column.values[row] as string);
}

/** Sorts labels numerically when they all are numbers ("2" < "10"), else as text. */
function sortLabels(labels: Iterable<string>): string[] {
  const list = [...labels];
  const numeric = list.every((l) => l !== '' && Number.isFinite(Number(l)));
  return list.sort(numeric ? (a, b) => Number(a) - Number(b) : undefined);
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
    data.features.forEach((name, i) => columnOf(table, name, `data.features[${i}]`));
    return data.features;
  }
  const excluded = new Set([...tasks.flatMap((t) => t.targets), ...reserved]);
  if ('column' in data.split) excluded.add(data.split.column);
  return table.columns.map((c) => c.name).filter((name) => !excluded.has(name));
}

/**
 * Rows usable for training and evaluation: under the `drop` policy (and always for targets) rows with a missing
 * value are left out; under `error` the first missing cells are reported with their line in the file.
 */
export function usableRows(table: DataTable, data: DataConfig, features: readonly string[], tasks: readonly TaskConfig[]): Int32Array {
  const targetColumns = tasks.flatMap((t) => t.targets.map((name, i) => ({ column: columnOf(table, name, `tasks[${t.name}].targets[${i}]`) })));
  const featureCols = features.map((name) => columnOf(table, name, 'data.features'));
  const keep: number[] = [];
  const problems: string[] = [];
  for (let row = 0; row < table.rowCount; row++) {
    let ok = true;
    for (const { column } of targetColumns) {
      if (isMissing(column, row)) {
        ok = false;
        if (data.missing === 'error' && problems.length < 5) problems.push(`line ${row + 2}, column "${column.name}" (a target)`);
      }
    }
    if (data.missing !== 'impute') {
      for (const column of featureCols) {
        if (isMissing(column, row)) {
          ok = false;
          if (data.missing === 'error' && problems.length < 5) problems.push(`line ${row + 2}, column "${column.name}"`);
        }
      }
    }
    if (ok) keep.push(row);
  }
  if (data.missing === 'error' && problems.length > 0) {
    throw new UsageError(
      `${table.source} has missing values (data.missing is "error"):`,
      [...problems, 'set data.missing to "drop" (leave such rows out) or "impute" (fill features from the training rows)'],
    );
  }
  if (keep.length === 0) throw new UsageError(`${table.source}: no row is left after dropping rows with missing values.`);
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
): Preprocessing {
  const forcedCategorical = new Set(data.categorical);
  data.categorical.forEach((name, i) => columnOf(table, name, `data.categorical[${i}]`));
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
      const v = column.values[row] as number;
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
      data.normalize === 'standard' ? [mean, std > 1e-12 ? std : 1] : data.normalize === 'minmax' ? [min, max - min > 1e-12 ? max - min : 1] : [0, 1];
    return { kind: 'numeric', column: name, center: n > 0 ? center : 0, scale, fill: mean };
  });
  const inputSize = encodings.reduce((size, e) => size + (e.kind === 'numeric' ? 1 : e.categories.length), 0);
  return { features: encodings, tasks: tasks.map((task) => fitTarget(table, task, trainRows, allRows)), inputSize, missing: data.missing };
}

function fitTarget(table: DataTable, task: TaskConfig, trainRows: Int32Array, allRows: Int32Array): TargetEncoding {
  const field = `tasks[${task.name}]`;
  const columns = task.targets.map((name) => columnOf(table, name, `${field}.targets`));
  const type: TaskType = task.type;
  if (type === 'multiclass' || type === 'binary') {
    const column = columns[0] as Column;
    // Classes come from every usable row: a label seen only in test must still have an output unit.
    const labels = new Set<string>();
    for (const row of allRows) labels.add(cellText(column, row));
    let classes = sortLabels(labels);
    if (type === 'binary') {
      if (classes.length !== 2) {
        throw new UsageError(
          `${field}: a binary task needs exactly 2 distinct labels in column "${column.name}", found ${classes.length} (${classes.slice(0, 10).join(', ')}). ${classes.length > 2 ? 'Use type multiclass for more.' : 'Both labels must occur in the rows used (rows with a missing target are left out).'}`,
        );
      }
      if (task.positive !== undefined) {
        if (!classes.includes(task.positive)) {
          throw new UsageError(`${field}.positive: "${task.positive}" is not a label of "${column.name}" (labels: ${classes.join(', ')})`);
        }
        classes = [classes.find((c) => c !== task.positive) as string, task.positive];
      }
    } else if (classes.length < 2) {
      throw new UsageError(`${field}: column "${column.name}" has a single label; a classification task needs at least 2.`);
    }
    return { name: task.name, type, column: column.name, classes };
  }
  if (type === 'multilabel') {
    for (const column of columns) {
      for (const row of allRows) {
        const v = column.kind === 'numeric' ? column.values[row] : Number.NaN;
        if (v !== 0 && v !== 1) {
          throw new UsageError(`${field}: multilabel target column "${column.name}" must hold 0 or 1; line ${row + 2} has "${cellText(column, row)}".`);
        }
      }
    }
    return { name: task.name, type, columns: columns.map((c) => c.name) };
  }
  const mean: number[] = [];
  const std: number[] = [];
  for (const column of columns) {
    if (column.kind !== 'numeric') {
      throw new UsageError(`${field}: regression target column "${column.name}" must be numeric (it holds text such as "${column.values.find((v) => v !== '')}").`);
    }
    let sum = 0;
    let sumSq = 0;
    for (const row of trainRows) {
      const v = column.values[row] as number;
      sum += v;
      sumSq += v * v;
    }
    const m = sum / trainRows.length;
    const s = Math.sqrt(Math.max(0, sumSq / trainRows.length - m * m));
    mean.push(m);
    std.push(s > 1e-12 ? s : 1);
  }
  return { name: task.name, type, columns: columns.map((c) => c.name), mean, std };
}

/** Encodes the given rows with a fitted preprocessing (also for new data at evaluation time). */
export function encodeRows(table: DataTable, prep: Preprocessing, rows: Int32Array): EncodedRows {
  const x = new Float32Array(rows.length * prep.inputSize);
  let offset = 0;
  for (const encoding of prep.features) {
    const column = columnOf(table, encoding.column, 'feature');
    if (encoding.kind === 'numeric') {
      if (column.kind !== 'numeric') {
        throw new UsageError(`${table.source}: feature "${encoding.column}" was numeric in training but holds text here.`);
      }
      rows.forEach((row, i) => {
        const raw = column.values[row] as number;
        const value = Number.isNaN(raw) ? encoding.fill : raw;
        x[i * prep.inputSize + offset] = (value - encoding.center) / encoding.scale;
      });
      offset += 1;
    } else {
      const index = new Map(encoding.categories.map((c, i) => [c, i]));
      rows.forEach((row, i) => {
        const text = isMissing(column, row) ? encoding.fill : cellText(column, row);
        // A category never seen in training gets all zeros: no evidence for any known category.
        const k = index.get(text);
        if (k !== undefined) x[i * prep.inputSize + offset + k] = 1;
      });
      offset += encoding.categories.length;
    }
  }
  const targets: Record<string, Float32Array> = {};
  for (const task of prep.tasks) targets[task.name] = encodeTargets(table, task, rows);
  return { rows: rows.length, x, targets };
}

function encodeTargets(table: DataTable, task: TargetEncoding, rows: Int32Array): Float32Array {
  if ('classes' in task) {
    const column = columnOf(table, task.column, `tasks[${task.name}] target`);
    const index = new Map(task.classes.map((c, i) => [c, i]));
    return Float32Array.from(rows, (row) => {
      const k = index.get(cellText(column, row));
      if (k === undefined) {
        throw new UsageError(
          `${table.source}: line ${row + 2}: label "${cellText(column, row)}" of "${task.column}" was not seen in training (known: ${task.classes.join(', ')}); the model has no output for it: leave such rows out or relabel them.`,
        );
      }
      return k;
    });
  }
  const columns = task.columns.map((name) => columnOf(table, name, `tasks[${task.name}] target`));
  const out = new Float32Array(rows.length * columns.length);
  rows.forEach((row, i) => {
    columns.forEach((column, k) => {
      out[i * columns.length + k] = column.kind === 'numeric' ? (column.values[row] as number) : Number.NaN;
    });
  });
  return out;
}
