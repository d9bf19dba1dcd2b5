import path from 'node:path';
import { tf } from '../tf.js';
import { runKernels } from '../backend/run-kernels.js';
import { initBackend } from '../backend/select.js';
import type { BackendChoice } from '../config/types.js';
import { readCsv } from '../data/csv.js';
import { cellText, columnOf } from '../data/columns.js';
import { unseenCategoryWarnings } from '../data/cells.js';
import { mergeGroupRows } from '../data/multi-input.js';
import { dataGroups } from '../data/data-groups.js';
import { encodeRows, usableRows, type Preprocessing } from '../data/preprocess.js';
import type { SplitName } from '../data/split.js';
import type { DataTable } from '../data/types.js';
import { UsageError } from '../errors.js';
import type { MultiTaskModel } from '../model/types.js';
import { loadCheckpointInto } from '../runs/checkpoint.js';
import { checkpointDir, type CheckpointName } from '../runs/layout.js';
import { buildModel } from './build.js';
import { chooseCheckpoint, readRun, type StoredRun } from './evaluate.js';
import { groupFiles, replayGroup, replayOwnData, runGroups } from './multi-input-data.js';

/**
 * Feature-based transfer (issue #17; seed 004 §3: "learned representations reused"; Yosinski et al. 2014): each row's
 * representation at one layer of a run's trained model, as a table any other tool (or another mtl config) can read.
 * Layers: `shared`, the trunk output z = encode(x) that every head reads (architectures with one shared
 * representation), and `tasks/<task>/output`, a task head's raw output (logits, or values in standardised units).
 * The rows are encoded with the run's own fitted preprocessing (as `mtl eval --data`: a category training never saw is
 * all zeros, with a warning), the model is in inference mode (dropout off, batch-norm moving statistics), and every
 * row in gives one row out, in the order of the input.
 */
export interface FeaturesOptions {
  runsDir?: string;
  /** Another CSV with the run's feature columns; without it, the run's own data (`split`). */
  dataFile?: string;
  /** As `--data` gives them: `FILE`, or `TASK=FILE` per data source of a multi-input run; replaces `dataFile`. */
  dataFiles?: string[];
  /** Of the run's own data: one split, or `all` usable rows (default), in table order. */
  split?: SplitName | 'all';
  checkpoint?: CheckpointName;
  /** `shared` (default) or `tasks/<task>/output`. */
  layer?: string;
  /** Columns of the input copied first into each output row (default none). */
  idColumns?: string[];
  /** Also copy the run's target columns (as text; empty where missing), so the output trains an mtl config. */
  withTargets?: boolean;
  backend?: BackendChoice;
}

export interface FeatureTable {
  run: string;
  checkpoint: CheckpointName;
  epoch: number;
  layer: string;
  /** Where the rows came from: the CSV or the split. */
  data: string;
  header: string[];
  rows: string[][];
  /** With `--data`: a category training never saw, per column (encoded as all zeros, as `mtl eval --data` does). */
  warnings: string[];
}

export const SHARED_LAYER = 'shared';

/** The layer names `--layer` takes for a model: `shared` where it has one representation, each head's output. */
export function featureLayers(model: MultiTaskModel): string[] {
  const heads = Object.keys(model.taskVariables).map((task) => `tasks/${task}/output`);
  return [...(model.encode ? [SHARED_LAYER] : []), ...heads];
}

export async function extractFeatures(reference: string, options: FeaturesOptions = {}): Promise<FeatureTable> {
  const run = readRun(reference, options.runsDir);
  const checkpoint = chooseCheckpoint(run, options.checkpoint ?? 'best', options.checkpoint !== undefined);
  await initBackend(options.backend ?? run.config.backend, runKernels(run.id, run.meta.backend));
  const files = options.dataFiles ?? (options.dataFile === undefined ? [] : [options.dataFile]);
  const fromFiles = files.length > 0;
  const { parts, data } = fromFiles ? await filesRows(run, files) : await ownParts(run, options);
  const count = parts.reduce((s, part) => s + part.rows.length, 0);
  if (count === 0) throw new UsageError(`Run ${run.id}: the ${data} data has no rows to write features for.`);
  // A target also given as an id column is written once, as an id column: a repeated header is a CSV mtl refuses.
  const idNames = new Set(options.idColumns ?? []);
  const groups = dataGroups(run.config);
  const read = new Set(parts.map((part) => part.group));
  // The targets of the tasks whose data is read (a multi-input run's sources left out have no rows here), once each.
  const readTasks = run.config.tasks.filter((task) =>
    groups.some((group, g) => read.has(g) && group.tasks.includes(task)),
  );
  const targetNames = options.withTargets
    ? [...new Set(readTasks.flatMap((task) => task.targets))].filter((name) => !idNames.has(name))
    : [];
  const groupTargets = groups.map((group) => new Set(group.tasks.flatMap((task) => task.targets)));
  const columns = parts.map(({ table, group }) => ({
    ids: (options.idColumns ?? []).map((name) => columnOf(table, name, '--id-columns')),
    // A multi-input run's source holds only its own tasks' targets: the others' cells stay empty on its rows, also
    // where the source has a column of that name (it is not that task's label).
    targets: targetNames.map((name) =>
      groupTargets[group]?.has(name) ? columnOf(table, name, '--with-targets (a target of the run)') : undefined,
    ),
  }));
  const inputSize = run.preprocessing.inputSize;
  const encoded = parts.map((part) => encodeRows(part.table, { ...part.preprocessing, tasks: [] }, part.rows));
  // The run's own rows were read by training, which warned of their categories then.
  const warnings = fromFiles
    ? parts.flatMap((part) => unseenCategoryWarnings(part.table, part.preprocessing, part.rows, true))
    : [];
  // Each group's rows in the run's input layout (a multi-input run with adapters pads them and marks their group).
  const byGroup = (run.preprocessing.groups ?? [undefined]).map((_, g) => {
    const at = parts.findIndex((part) => part.group === g);
    return encoded[at] ?? { rows: 0, x: new Float32Array(0), targets: {} };
  });
  const x = mergeGroupRows(
    byGroup.map(() => []),
    byGroup,
    run.preprocessing,
  ).x;
  const model = buildModel(run.config, run.preprocessing);
  try {
    const layer = options.layer ?? SHARED_LAYER;
    const layers = featureLayers(model);
    if (!layers.includes(layer)) {
      throw new UsageError(`--layer "${layer}": run ${run.id} (${run.config.model.architecture}) has no such layer.`, [
        `layers: ${layers.join(', ')}`,
        ...(model.encode ? [] : ['this architecture has no single shared representation; use a head output']),
      ]);
    }
    const epoch = loadCheckpointInto(checkpointDir(run.dir, checkpoint), model).epoch;
    const features = layerOutput(model, layer, x, count, inputSize, {
      batchSize: run.config.training.eval_batch_size,
    });
    const header = [...(columns[0]?.ids ?? []).map((c) => c.name), ...features.names, ...targetNames];
    const out: string[][] = [];
    parts.forEach((part, p) => {
      const { ids, targets } = columns[p]!;
      for (const row of part.rows) {
        const i = out.length;
        out.push([
          ...ids.map((c) => cellText(c, row)),
          ...Array.from(features.values.subarray(i * features.width, (i + 1) * features.width), String),
          ...targets.map((c) => (c ? cellText(c, row) : '')),
        ]);
      }
    });
    return { run: run.id, checkpoint, epoch, layer, data, header, rows: out, warnings };
  } finally {
    model.dispose();
  }
}

/** Rows of one table with the feature encoding they are read with (a multi-input run: their data group's). */
interface FeatureRows {
  /** Its data group (0 for a run with one source). */
  group: number;
  table: DataTable;
  rows: Int32Array;
  preprocessing: Preprocessing;
}

/**
 * `--data` files: one CSV for a run with one data source; for a multi-input run one per source (`TASK=FILE`), each
 * read with its group's encoding, rows in the order of the groups (the sources left out write no rows).
 */
async function filesRows(run: StoredRun, entries: string[]): Promise<{ parts: FeatureRows[]; data: string }> {
  const groups = runGroups(run);
  if (!groups) {
    if (entries.length > 1) throw new UsageError(`--data is given ${entries.length} times; run ${run.id} reads one.`);
    const { table, rows, data } = await fileRows(run, entries[0]!);
    return { parts: [{ group: 0, table, rows, preprocessing: run.preprocessing }], data };
  }
  const files = groupFiles(run, groups, entries);
  const parts: FeatureRows[] = [];
  for (const [g, group] of groups.entries()) {
    const file = files[g];
    if (file === undefined) continue;
    const groupRun = { ...run, config: group.config, preprocessing: group.preprocessing };
    const { table, rows } = await fileRows(groupRun, file);
    parts.push({ group: g, table, rows, preprocessing: group.preprocessing });
  }
  return { parts, data: files.filter((f) => f !== undefined).join(', ') };
}

/** The run's own rows (a split or all); a multi-input run's groups one after another, each with its own encoding. */
async function ownParts(run: StoredRun, options: FeaturesOptions): Promise<{ parts: FeatureRows[]; data: string }> {
  const groups = runGroups(run);
  if (!groups) {
    const { table, rows, data } = await ownRows(run, options);
    return { parts: [{ group: 0, table, rows, preprocessing: run.preprocessing }], data };
  }
  const split = options.split ?? 'all';
  const parts: FeatureRows[] = [];
  for (const [g, group] of groups.entries()) {
    const replayed = await replayGroup(run, group, 'pass the rows with --data TASK=FILE instead');
    const chosen = split === 'all' ? replayed.rows : replayed.split[split];
    const rows = Int32Array.from(chosen).sort();
    parts.push({ group: g, table: replayed.table, rows, preprocessing: group.preprocessing });
  }
  return { parts, data: split };
}

/** Every row of another CSV; a missing feature cell is imputed under `missing: impute`, else an error naming it. */
async function fileRows(run: StoredRun, file: string): Promise<{ table: DataTable; rows: Int32Array; data: string }> {
  const table = await readCsv(path.resolve(file), file);
  const features = run.preprocessing.features.map((f) => f.column);
  // Every row in gives a row out: `drop` would leave rows out, so a row missing a feature is an error there too.
  const missing = run.preprocessing.missing === 'impute' ? 'impute' : 'error';
  // The rows of training (required columns, label pinning) do not apply: no task's label is read here, so the targets
  // keep no row out (`drop` with no tasks: only the features decide).
  const { required_columns: _rowsOfTraining, row_label_columns: _labelledRows, ...data } = run.config.data;
  // A missing column is its own error (named here), so the one below is only ever about missing cells.
  for (const name of features) columnOf(table, name, `a feature of run ${run.id}`);
  try {
    const rows = usableRows(table, { ...data, missing, missing_targets: 'drop' }, features, []);
    return { table, rows, data: file };
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    throw new UsageError(
      `${file}: a row misses a feature value, and every row in gives a row out (run ${run.id} has data.missing ` +
        `"${run.preprocessing.missing}", not impute):`,
      [...error.details.filter((line) => !line.startsWith('set data.missing')), 'fill the cells, or remove the rows'],
    );
  }
}

/** The run's own table, rebuilt as training read it: the usable rows of one split (or all), in table order. */
async function ownRows(
  run: StoredRun,
  options: FeaturesOptions,
): Promise<{ table: DataTable; rows: Int32Array; data: string }> {
  const replayed = await replayOwnData(run, 'pass the rows with --data instead');
  const split = options.split ?? 'all';
  const chosen = split === 'all' ? replayed.rows : replayed.split[split];
  return { table: replayed.table, rows: Int32Array.from(chosen).sort(), data: split };
}

/** The layer's output for every row, in batches: rows × width float32, and its column names f0…f{width−1}. */
function layerOutput(
  model: MultiTaskModel,
  layer: string,
  x: Float32Array,
  rows: number,
  inputSize: number,
  options: { batchSize: number },
): { values: Float32Array; width: number; names: string[] } {
  const parts: Float32Array[] = [];
  let width = 0;
  for (let start = 0; start < rows; start += options.batchSize) {
    const size = Math.min(options.batchSize, rows - start);
    const part = tf.tidy(() => {
      const batch = tf.tensor2d(x.subarray(start * inputSize, (start + size) * inputSize), [size, inputSize]);
      const output =
        layer === SHARED_LAYER ? model.encode?.(batch, false) : model.forward(batch, false).outputs[task(layer)];
      if (!output) throw new Error(`layer ${layer} gave no output`);
      return tf.reshape(output, [size, -1]);
    });
    width = part.shape[1] ?? 0;
    parts.push(part.dataSync() as Float32Array);
    part.dispose();
  }
  const values = new Float32Array(rows * width);
  let offset = 0;
  for (const part of parts) {
    values.set(part, offset);
    offset += part.length;
  }
  return { values, width, names: Array.from({ length: width }, (_, k) => `f${k}`) };
}

function task(layer: string): string {
  return layer.slice('tasks/'.length, -'/output'.length);
}
