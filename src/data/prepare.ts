import path from 'node:path';
import type { ResolvedConfig } from '../config/types.js';
import { getBuiltinDataset } from './builtin/index.js';
import { readCsv } from './csv.js';
import { outputSize } from '../tasks/registry.js';
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

export interface PreparedData {
  source: string;
  preprocessing: Preprocessing;
  splits: Record<SplitName, EncodedRows>;
  /** Output size per task, in task order. */
  outputSizes: number[];
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
}

/**
 * Table → feature columns → usable rows → split, from the config alone (a built-in table and a fraction split are
 * drawn from its seed). Training and `mtl eval` both call it, so eval sees exactly the rows training held out.
 */
export async function splitTable(config: ResolvedConfig, configDir: string): Promise<SplitTable> {
  const table = await loadTable(config, configDir);
  const reserved =
    config.data.dataset !== undefined ? getBuiltinDataset(config.data.dataset).tasks.flatMap((t) => t.targets) : [];
  const features = featureColumns(table, config.data, config.tasks, reserved);
  const rows = usableRows(table, config.data, features, config.tasks);
  return { table, features, rows, split: splitRows(table, rows, config.data.split, config.seed) };
}

/** {@link splitTable} → preprocessing fitted on train → encoded rows per split. */
export async function prepareData(config: ResolvedConfig, configDir: string): Promise<PreparedData> {
  const { table, features, rows, split } = await splitTable(config, configDir);
  const preprocessing = fitPreprocessing(table, config.data, config.tasks, features, split.train, rows);
  return {
    source: table.source,
    preprocessing,
    splits: {
      train: encodeRows(table, preprocessing, split.train),
      val: encodeRows(table, preprocessing, split.val),
      test: encodeRows(table, preprocessing, split.test),
    },
    outputSizes: preprocessing.tasks.map(outputSize),
  };
}

/** Encodes another table (e.g. `mtl eval --data new.csv`) with a run's stored preprocessing; all rows are kept. */
export function encodeTable(table: DataTable, preprocessing: Preprocessing): EncodedRows {
  const rows = Int32Array.from({ length: table.rowCount }, (_, i) => i);
  return encodeRows(table, preprocessing, rows);
}
