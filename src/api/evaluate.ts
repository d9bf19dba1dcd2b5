import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { initBackend } from '../backend/select.js';
import type { BackendChoice, ResolvedConfig } from '../config/types.js';
import { readCsv } from '../data/csv.js';
import { encodeTable, loadTable } from '../data/prepare.js';
import { encodeRows, usableRows, type EncodedRows, type Preprocessing } from '../data/preprocess.js';
import { splitRows, type SplitName } from '../data/split.js';
import { UsageError } from '../errors.js';
import { loadCheckpointInto } from '../model/checkpoint.js';
import { writeJsonAtomic } from '../runs/atomic.js';
import { readJson, resolveRun, resolveRunsDir, type RunStatus } from '../runs/store.js';
import type { RunMeta } from '../runs/meta.js';
import { evaluateSplit, higherIsBetter, type MetricValues } from '../train/evaluate.js';
import { disposeSplit, toSplitTensors } from '../train/tensors.js';
import { buildModel } from './build.js';

export interface EvaluateOptions {
  runsDir?: string;
  split?: SplitName;
  /** Another CSV with the same columns, encoded with the run's preprocessing; replaces `split`. */
  dataFile?: string;
  checkpoint?: 'best' | 'last';
  backend?: BackendChoice;
}

export interface EvaluationResult {
  run: string;
  runDir: string;
  checkpoint: 'best' | 'last';
  epoch: number;
  /** `val`/`test`/`train`, or the CSV path given. */
  data: string;
  rows: number;
  metrics: MetricValues;
  directions: Record<string, boolean>;
  backend: string;
  /** Where the result was stored inside the run. */
  file: string;
}

/** Reads the pieces of a run needed to rebuild its model and data. */
export function readRun(reference: string, runsDir?: string): { id: string; dir: string; config: ResolvedConfig; meta: RunMeta; preprocessing: Preprocessing } {
  const { id, dir } = resolveRun(reference, resolveRunsDir(runsDir));
  return {
    id,
    dir,
    config: readJson<ResolvedConfig>(path.join(dir, 'config.resolved.json')),
    meta: readJson<RunMeta>(path.join(dir, 'meta.json')),
    preprocessing: readJson<Preprocessing>(path.join(dir, 'preprocessing.json')),
  };
}

/**
 * Evaluates a run's checkpoint on one of its splits or on a new CSV, and stores the result under `evals/` in the
 * run without touching anything training wrote.
 */
export async function evaluateRun(reference: string, options: EvaluateOptions = {}): Promise<EvaluationResult> {
  const run = readRun(reference, options.runsDir);
  const which = options.checkpoint ?? 'best';
  let checkpointDir = path.join(run.dir, 'checkpoints', which);
  let used: 'best' | 'last' = which;
  if (!existsSync(path.join(checkpointDir, 'model.json'))) {
    if (which === 'best' && existsSync(path.join(run.dir, 'checkpoints', 'last', 'model.json'))) {
      checkpointDir = path.join(run.dir, 'checkpoints', 'last');
      used = 'last';
    } else {
      const status: RunStatus = run.meta.status;
      throw new UsageError(`Run ${run.id} has no "${which}" checkpoint (status: ${status}).`);
    }
  }
  const backend = await initBackend(options.backend ?? run.config.backend);
  const configDir = run.meta.configFile ? path.dirname(run.meta.configFile) : run.meta.cwd;
  let encoded: EncodedRows;
  let dataLabel: string;
  if (options.dataFile) {
    const table = await readCsv(path.resolve(options.dataFile), options.dataFile);
    encoded = encodeTable(table, run.preprocessing);
    dataLabel = options.dataFile;
  } else {
    const split = options.split ?? 'test';
    // Rebuild the split exactly as training did: same table (from the seed), same rows, same assignment.
    const table = await loadTable(run.config, configDir);
    const features = run.preprocessing.features.map((f) => f.column);
    const rows = usableRows(table, run.config.data, features, run.config.tasks);
    encoded = encodeRows(table, run.preprocessing, splitRows(table, rows, run.config.data.split, run.config.seed)[split]);
    dataLabel = split;
  }
  if (encoded.rows === 0) throw new UsageError(`Run ${run.id}: the ${dataLabel} data has no rows to evaluate.`);
  const model = buildModel(run.config, run.preprocessing);
  let metrics: MetricValues;
  let epoch: number;
  try {
    epoch = loadCheckpointInto(checkpointDir, model).epoch;
    const tensors = toSplitTensors(encoded, run.preprocessing);
    try {
      metrics = evaluateSplit(model, tensors, encoded, run.config.tasks, run.preprocessing, run.config.training.eval_batch_size).metrics;
    } finally {
      disposeSplit(tensors);
    }
  } finally {
    model.dispose();
  }
  const evalsDir = path.join(run.dir, 'evals');
  mkdirSync(evalsDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const label = options.dataFile ? path.basename(options.dataFile).replace(/[^A-Za-z0-9._-]/g, '_') : dataLabel;
  const file = path.join(evalsDir, `${stamp}-${used}-${label}.json`);
  const result: EvaluationResult = {
    run: run.id,
    runDir: run.dir,
    checkpoint: used,
    epoch,
    data: dataLabel,
    rows: encoded.rows,
    metrics,
    directions: Object.fromEntries(Object.keys(metrics).map((k) => [k, higherIsBetter(k)])),
    backend: backend.name,
    file,
  };
  writeJsonAtomic(file, result);
  return result;
}
