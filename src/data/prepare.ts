import path from 'node:path';
import { UsageError } from '../errors.js';
import type { ResolvedConfig } from '../config/types.js';
import { getBuiltinDataset } from './builtin/index.js';
import { checkNumericFeature, unseenCategoryWarnings } from './cells.js';
import { columnOf } from './columns.js';
import { readCsv } from './csv.js';
import {
  applyRowBudgets,
  countLabels,
  labelledRows,
  labelMask,
  masksTargets,
  rowsWithALabel,
  type LabelCounts,
  type LabelMask,
} from './labels.js';
import type { GroupRows } from './multi-input.js';
import { dataReport, type DataReport } from './report.js';
import { checkSplitSizes } from './split-sizes.js';
import { outputSize } from '../tasks/registry.js';
import { checkDomainValues, maskTargetDomain } from '../adversarial/domains.js';
import {
  encodeRows,
  featureColumns,
  fitPreprocessing,
  usableRows,
  type EncodedRows,
  type Preprocessing,
} from './preprocess.js';
import { splitRows, type SplitName } from './split.js';
import type { DataTable } from './types.js';
import { hasImageLayers } from '../model/layers/plan.js';
import {
  constantFeatureWarnings,
  identifierWarnings,
  labelWarnings,
  rowBudgetWarnings,
  splitColumnWarnings,
} from './warnings.js';

export interface PreparedData {
  source: string;
  preprocessing: Preprocessing;
  splits: Record<SplitName, EncodedRows>;
  /** Output size per task, in task order. */
  outputSizes: number[];
  /** How each column was read and is used, the split sizes, and warnings to show before training. */
  report: DataReport;
  /** Per task and split, the rows with the task's label (all of the split's rows when nothing is masked). */
  labelCounts: LabelCounts;
  /**
   * Multi-input MTL (data/multi-input.ts): the data groups whose rows the splits hold, one after another; absent for
   * a single source.
   */
  groups?: GroupRows[];
}

/** The raw table a config points at: a built-in dataset (built from the seed) or a CSV file. */
export async function loadTable(config: ResolvedConfig, configDir: string): Promise<DataTable> {
  if (config.data.dataset !== undefined) {
    return getBuiltinDataset(config.data.dataset).load(config.data.options, config.seed);
  }
  const file = path.resolve(configDir, config.data.csv as string);
  return readCsv(file, path.relative(process.cwd(), file) || file);
}

/** A config's table with the rows it uses and their assignment to train/val/test. */
export interface SplitTable {
  table: DataTable;
  /** The feature columns, in input order. */
  features: string[];
  /** The usable rows (after the missing-value policy). */
  rows: Int32Array;
  split: Record<SplitName, Int32Array>;
  /** Under `data.missing_targets: mask`: which rows have each task's label, after the row budgets (data/labels.ts). */
  labels?: LabelMask;
  /** What the split's labels make worth saying before training (a row budget that keeps every label). */
  warnings: string[];
}

/** A built-in dataset's target columns for these options: never features by default (target leakage). */
function builtinTargetColumns(name: string, options: Record<string, unknown> | undefined): string[] {
  const dataset = getBuiltinDataset(name);
  return dataset.targetColumns?.(options ?? {}) ?? dataset.tasks.flatMap((t) => t.targets);
}

/**
 * Table → feature columns → usable rows → split, from the config alone (a built-in table and a fraction split are
 * drawn from its seed). Training and `mtl eval` both call it, so eval sees exactly the rows training held out.
 */
export async function splitTable(config: ResolvedConfig, configDir: string): Promise<SplitTable> {
  const table = await loadTable(config, configDir);
  // Before the domain column is read as the discriminator's target: a wrong column is named as data.domains's.
  if (config.data.domains) checkDomainValues(table, config.data.domains);
  const reserved =
    config.data.dataset !== undefined ? builtinTargetColumns(config.data.dataset, config.data.options) : [];
  const features = featureColumns(table, config.data, config.tasks, reserved);
  const declared = new Set(config.data.categorical);
  for (const name of features) {
    if (!declared.has(name)) checkNumericFeature(table, columnOf(table, name, 'data.features'));
  }
  const rows = usableRows(table, config.data, features, config.tasks);
  const split = splitRows(table, rows, config.data.split, config.seed);
  if (!masksTargets(config.data)) return { table, features, rows, split, warnings: [] };
  const mask = labelMask(table, config.tasks);
  const budgeted = applyRowBudgets(mask, config.tasks, split.train, config.seed);
  const labels = maskTargetDomain(table, config, budgeted, split.train);
  const kept = (part: Int32Array): Int32Array => rowsWithALabel(part, labels, config.tasks);
  const labelledSplit = { train: kept(split.train), val: kept(split.val), test: kept(split.test) };
  for (const task of config.tasks) {
    if (labelledRows(labelledSplit.train, labels, task.name).length > 0) continue;
    throw new UsageError(
      `${table.source}: no training row has a label for task "${task.name}" (column ` +
        `${task.targets.map((t) => `"${t}"`).join(', ')}); fill in labels, or remove the task.`,
    );
  }
  const warnings = rowBudgetWarnings(config.tasks, mask, split.train);
  return { table, features, rows, split: labelledSplit, labels, warnings };
}

/** {@link splitTable} → preprocessing fitted on train → split sizes checked → encoded rows per split. */
export async function prepareData(config: ResolvedConfig, configDir: string): Promise<PreparedData> {
  const { table, features, rows, split, labels, warnings: labelNotes } = await splitTable(config, configDir);
  // Fitted first: a target that does not fit its task is the more useful message when both are wrong.
  const preprocessing = fitPreprocessing(table, config.data, config.tasks, features, split.train, rows, labels);
  const sizes = { train: split.train.length, val: split.val.length, test: split.test.length };
  const warnings = [
    ...checkSplitSizes(table.source, config.data.split, sizes, { total: table.rowCount, usable: rows.length }),
    ...unseenCategoryWarnings(table, preprocessing, Int32Array.from([...split.val, ...split.test])),
    ...identifierWarnings(table, config.data, preprocessing, split.train),
    ...(constantFeaturesMatter(config) ? constantFeatureWarnings(table, preprocessing, split.train) : []),
    ...labelWarnings(table, config.tasks, split, labels),
    ...labelNotes,
    ...splitColumnWarnings(table, config.data, features),
  ];
  const labelCounts = countLabels(split, labels, config.tasks);
  return {
    source: table.source,
    preprocessing,
    splits: {
      train: encodeRows(table, preprocessing, split.train, labels),
      val: encodeRows(table, preprocessing, split.val, labels),
      test: encodeRows(table, preprocessing, split.test, labels),
    },
    labelCounts,
    outputSizes: preprocessing.tasks.map(outputSize),
    report: dataReport(table, config, preprocessing, { usable: rows.length, splits: sizes }, warnings, labelCounts),
  };
}

/**
 * Whether a feature that holds one value on the training rows is worth a warning. Not in a built-in dataset, whose
 * columns are its own (multi-digits' corner pixels are blank in every UCI digit), nor under an image trunk, which
 * reshapes the features into an image where a constant pixel still has its place.
 */
function constantFeaturesMatter(config: ResolvedConfig): boolean {
  return config.data.dataset === undefined && !hasImageLayers(config.model.trunk);
}

/**
 * Encodes another table (e.g. `mtl eval --data new.csv`) with a run's stored preprocessing, as training would: the
 * run's missing-value policy applies (an error, rows left out, or values imputed from the training rows), and a
 * category training never saw is encoded as all zeros, as in training's own val and test rows, with a warning per
 * column.
 */
export function encodeTable(
  table: DataTable,
  preprocessing: Preprocessing,
  config: ResolvedConfig,
): { encoded: EncodedRows; warnings: string[] } {
  const features = preprocessing.features.map((f) => f.column);
  // New rows need no value in data.required_columns (the columns that kept a baseline's rows those of its multi-task
  // run): the model does not read them.
  const { required_columns: _rowsOfTraining, ...data } = config.data;
  // The run's policy is fixed once it trained: the way out is in the file (or a new run).
  const rows = usableRows(
    table,
    { ...data, missing: preprocessing.missing },
    features,
    config.tasks,
    'fill the cells or remove their rows in the file; data.missing of a trained run cannot change (to drop or ' +
      'impute such rows, retrain with data.missing set to "drop" or "impute")',
  );
  // New data has no row budget: a task's metrics read every row with its label.
  const labels = masksTargets(config.data) ? labelMask(table, config.tasks) : undefined;
  return {
    encoded: encodeRows(table, preprocessing, rows, labels),
    warnings: unseenCategoryWarnings(table, preprocessing, rows, true),
  };
}
