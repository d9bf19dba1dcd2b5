/**
 * Rows with missing labels (issue #17; LibMTL #11, #63). Under `data.missing_targets: mask` a row is kept when at
 * least one task has its label, and a task's label of a row is present when every one of its target columns has a
 * value (empty, `NA`, `nan`, `null`, `none` or `?`: data/csv.ts). The rules:
 *
 * - Masking: in training, task t's loss on a batch is the mean over the batch's rows labelled for t,
 *   L_t = (1/|B_t|) Σ_{r ∈ B_t} ℓ_t(r); a batch with B_t = ∅ gives L_t = 0 with a zero gradient (train/losses.ts).
 *   Metrics and the evaluation loss of t read the rows labelled for t only.
 * - Row budgets (`tasks[].max_train_rows: N`): of the training rows labelled for t, those that come first in a
 *   permutation drawn from `fork('labels:<task name>')` of the run's seed keep the label, the rest are masked for t.
 *   The order depends on the seed, the task's name and the training rows only, so no other task changes it.
 * - After the split (and the budgets), a row no task of the config labels is left out of its split: it has nothing
 *   to learn or measure. A single-task baseline therefore keeps the rows of its task, with its multi-task run's
 *   split (`data.row_label_columns` keeps the same usable rows before the split).
 */
import type { DataConfig, TaskConfig } from '../config/types.js';
import { createRng } from '../util/rng.js';
import { columnOf, isMissing } from './columns.js';
import type { SplitName } from './split.js';
import type { DataTable } from './types.js';

/** Per task, over the table's rows: 1 where the row has the task's label (after any row budget), else 0. */
export type LabelMask = Record<string, Uint8Array>;

/** Per task and split, the number of rows with the task's label: what the summary and the train output report. */
export type LabelCounts = Record<string, Record<SplitName, number>>;

/** Whether a config masks missing labels (an older resolved config without the field dropped them). */
export function masksTargets(data: DataConfig): boolean {
  return data.missing_targets === 'mask';
}

/** Which rows have each task's label in the table (every target column of the task has a value). */
export function labelMask(table: DataTable, tasks: readonly TaskConfig[]): LabelMask {
  const mask: LabelMask = {};
  for (const task of tasks) {
    const columns = task.targets.map((name, i) => columnOf(table, name, { task: task.name, path: ['targets', i] }));
    const labelled = new Uint8Array(table.rowCount);
    for (let row = 0; row < table.rowCount; row++) {
      labelled[row] = columns.every((column) => !isMissing(column, row)) ? 1 : 0;
    }
    mask[task.name] = labelled;
  }
  return mask;
}

/**
 * Applies each task's `max_train_rows`: of the training rows labelled for it, the first N in its seeded order keep
 * the label. Returns a new mask; the tasks without a budget share their arrays with `mask`.
 */
export function applyRowBudgets(
  mask: LabelMask,
  tasks: readonly TaskConfig[],
  trainRows: Int32Array,
  seed: number,
): LabelMask {
  const out: LabelMask = { ...mask };
  for (const task of tasks) {
    const budget = task.max_train_rows;
    const labelled = mask[task.name];
    if (budget === undefined || !labelled) continue;
    const candidates = trainRows.filter((row) => labelled[row] === 1);
    if (candidates.length <= budget) continue;
    const order = createRng(seed).fork(`labels:${task.name}`).permutation(candidates.length);
    const kept = new Uint8Array(labelled);
    for (let k = budget; k < order.length; k++) kept[candidates[order[k]!]!] = 0;
    out[task.name] = kept;
  }
  return out;
}

/** The rows that at least one of the tasks labels. */
export function rowsWithALabel(rows: Int32Array, mask: LabelMask, tasks: readonly TaskConfig[]): Int32Array {
  const masks = tasks.map((task) => mask[task.name]).filter((m): m is Uint8Array => m !== undefined);
  return rows.filter((row) => masks.some((m) => m[row] === 1));
}

/** Rows of `rows` that have the task's label (all of them without a mask). */
export function labelledRows(rows: Int32Array, mask: LabelMask | undefined, task: string): Int32Array {
  const labelled = mask?.[task];
  return labelled ? rows.filter((row) => labelled[row] === 1) : rows;
}

/** Label counts per task and split (every row of a split counts when nothing is masked). */
export function countLabels(
  split: Record<SplitName, Int32Array>,
  mask: LabelMask | undefined,
  tasks: readonly TaskConfig[],
): LabelCounts {
  const counts: LabelCounts = {};
  for (const task of tasks) {
    counts[task.name] = {
      train: labelledRows(split.train, mask, task.name).length,
      val: labelledRows(split.val, mask, task.name).length,
      test: labelledRows(split.test, mask, task.name).length,
    };
  }
  return counts;
}

/** The columns whose value keeps a row under `mask`: every task's targets and `data.row_label_columns`. */
export function rowLabelColumns(table: DataTable, data: DataConfig, tasks: readonly TaskConfig[]) {
  return [
    ...tasks.map((task) => ({
      task: task.name,
      columns: task.targets.map((name, i) => columnOf(table, name, { task: task.name, path: ['targets', i] })),
    })),
    ...(data.row_label_columns ?? []).map((name, i) => ({
      task: undefined,
      columns: [columnOf(table, name, { data: ['row_label_columns', i] })],
    })),
  ];
}
