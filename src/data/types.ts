/**
 * The name of a registered task kind (tasks/registry.ts: multiclass, binary, regression, multilabel and any
 * registered from user code). The kind decides the output size, the target encoding, the losses and the metrics.
 */
export type TaskType = string;

/**
 * One column of a loaded table. Numeric columns hold numbers (NaN for a missing value); categorical columns hold
 * strings ('' for a missing value). Encoding into numbers happens later, in data/prepare.ts, from the config.
 *
 * A numeric column read from a CSV may hold a few cells that are not finite numbers (`heavy`, `inf`, `1e400`):
 * `unparsed` keeps their text by row (their `values` are NaN but they are not missing). Whether they are an error
 * depends on how the config uses the column (data/cells.ts): as a number they are, as a label or category not.
 */
export type Column =
  | { kind: 'numeric'; name: string; values: Float64Array; unparsed?: ReadonlyMap<number, string> }
  | { kind: 'categorical'; name: string; values: string[] };

/** A table as read from a CSV file or produced by a built-in dataset. */
export interface DataTable {
  /** Where it came from, for error messages ("datasets/x.csv", "built-in dataset multi-digits"). */
  source: string;
  rowCount: number;
  columns: Column[];
  /**
   * The line of the file where each row starts, for error messages: a quoted field may span lines, and empty lines
   * are skipped. Absent (built-in datasets): row r is line r + 2, below the header.
   */
  lines?: Int32Array;
}

/** What a built-in dataset suggests as the task for a target column (configs may override). */
export interface TaskDefault {
  name: string;
  type: TaskType;
  /** Target column(s): one for multiclass/binary/regression, one per label for multilabel. */
  targets: string[];
}

/** A built-in dataset addressed by name from a config (`data.dataset: multi-digits`). */
export interface BuiltinDataset {
  name: string;
  description: string;
  /** SPDX-style licence id and attribution, e.g. "CC-BY-4.0". */
  licence: string;
  citation: string;
  /** Folder under datasets/ holding its files and README, when it ships any. */
  folder?: string;
  /** Feature column names in the table it returns (all numeric unless listed in categoricalFeatures). */
  features: string[];
  categoricalFeatures?: string[];
  tasks: TaskDefault[];
  /**
   * Every target column of the table `load(options)` returns, where the options change them (synthetic-correlated's
   * `tasks`): none of them is a feature by default, also where the config trains fewer tasks than the table holds.
   * Absent: the targets of `tasks`.
   */
  targetColumns?(options: Record<string, unknown>): string[];
  /**
   * A column of the table holding 'train' | 'val' | 'test' per row, when the dataset must control its split (e.g.
   * composites built from the same source images must not straddle train and test). Configs use it by default.
   */
  splitColumn?: string;
  /**
   * JSON Schema (draft-07 subset, object) for `data.options` of this dataset; defaults are filled by ajv.
   * Use `additionalProperties: false` so misspelled options are reported.
   */
  optionsSchema: Record<string, unknown>;
  /** Builds the table. Must be deterministic in (options, seed): same inputs, same rows in the same order. */
  load(options: Record<string, unknown>, seed: number): Promise<DataTable>;
}
