/**
 * What `mtl train` (on stderr, at the start) and `mtl validate` show of the data: how each column was read, what
 * the config uses it for, the split sizes and the warnings of data/split-sizes.ts.
 */
import type { ResolvedConfig } from '../config/types.js';
import type { LabelCounts } from './labels.js';
import type { Preprocessing } from './preprocess.js';
import type { SplitName } from './split.js';
import type { DataTable } from './types.js';

export interface ColumnReport {
  name: string;
  /** How its cells read: numbers (with at most a minority of bad cells, which are errors where they matter) or text. */
  type: 'numeric' | 'text';
  /** What the config does with it. */
  use: 'numeric feature' | 'categorical feature' | 'target' | 'split' | 'unused';
  /** A categorical feature: its one-hot width (the categories of the training rows). */
  categories?: number;
  /** A categorical feature: read as numbers but listed in data.categorical. */
  declared?: true;
  /** A target: the task that learns it. */
  task?: string;
  /** Tasks with their own data: the source an unused column is in (a column of that name may be a target elsewhere). */
  source?: string;
}

export interface DataReport {
  source: string;
  /** Rows in the table, and those left after the missing-value policy. */
  rows: number;
  usable: number;
  splits: Record<SplitName, number>;
  /** Width of the model input. */
  inputSize: number;
  columns: ColumnReport[];
  warnings: string[];
  /** Rows with each task's label per split, when some row of a split lacks a task's label (data/labels.ts). */
  labels?: LabelCounts;
}

/** Whether some task lacks its label on some row of a split (else every count is the split's size). */
export function someLabelsMissing(counts: LabelCounts, splits: Record<SplitName, number>): boolean {
  return Object.values(counts).some((c) => c.train < splits.train || c.val < splits.val || c.test < splits.test);
}

export function dataReport(
  table: DataTable,
  config: ResolvedConfig,
  preprocessing: Preprocessing,
  sizes: { usable: number; splits: Record<SplitName, number> },
  warnings: string[],
  labels?: LabelCounts,
): DataReport {
  const encodings = new Map(preprocessing.features.map((f) => [f.column, f]));
  const targetOf = new Map(config.tasks.flatMap((task) => task.targets.map((column) => [column, task.name])));
  const splitColumn = 'column' in config.data.split ? config.data.split.column : undefined;
  const declared = new Set(config.data.categorical);
  const columns = table.columns.map((column): ColumnReport => {
    const type = column.kind === 'numeric' ? 'numeric' : 'text';
    const encoding = encodings.get(column.name);
    const task = targetOf.get(column.name);
    if (encoding?.kind === 'categorical') {
      return {
        name: column.name,
        type,
        use: 'categorical feature',
        categories: encoding.categories.length,
        ...(type === 'numeric' && declared.has(column.name) ? { declared: true as const } : {}),
      };
    }
    if (encoding) return { name: column.name, type, use: 'numeric feature' };
    if (task !== undefined) return { name: column.name, type, use: 'target', task };
    return { name: column.name, type, use: column.name === splitColumn ? 'split' : 'unused' };
  });
  return {
    source: table.source,
    rows: table.rowCount,
    usable: sizes.usable,
    splits: sizes.splits,
    inputSize: preprocessing.inputSize,
    columns,
    warnings,
    ...(labels && someLabelsMissing(labels, sizes.splits) ? { labels } : {}),
  };
}
