import type { TaskConfig } from '../config/types.js';
import type { EncodedRows, Preprocessing } from '../data/preprocess.js';
import type { MultiTaskModel } from '../model/types.js';
import type { Strategy } from '../strategies/types.js';
import { evaluateSplit } from './evaluate.js';
import type { Batch } from './step.js';

/**
 * Tells a strategy that asks for them (`onBatchMetrics`: accuracy weighting with `source: batch`) the task metrics
 * of the batch about to be trained on: the model in inference mode (no dropout, batch-norm's moving statistics, as
 * validation measures) with the parameters the step starts from, the metrics computed as evaluation computes them
 * (train/evaluate.ts), from the batch's rows of the split (`rows`: their indices in `split`, the epoch's permutation).
 * Costs one forward pass and a read of the outputs per step, so only strategies with the hook pay it.
 */
export function reportBatchMetrics(
  strategy: Strategy,
  model: MultiTaskModel,
  batch: Batch,
  rows: Int32Array,
  split: EncodedRows,
  tasks: readonly TaskConfig[],
  preprocessing: Preprocessing,
  position: { epoch: number; step: number },
): void {
  if (!strategy.onBatchMetrics) return;
  const targets: Record<string, Float32Array> = {};
  for (const task of tasks) {
    const all = split.targets[task.name];
    if (!all) continue;
    const width = all.length / split.rows;
    const picked = new Float32Array(rows.length * width);
    rows.forEach((row, i) => picked.set(all.subarray(row * width, (row + 1) * width), i * width));
    targets[task.name] = picked;
  }
  // evaluateSplit reads the inputs from the batch tensors; the encoded rows give only the targets metrics read, and
  // which rows have each task's label (a task without a labelled row in the batch reports no metric).
  const labelled = split.labelled
    ? Object.fromEntries(
        Object.entries(split.labelled).map(([task, mask]) => [task, Uint8Array.from(rows, (r) => mask[r]!)]),
      )
    : undefined;
  const encoded: EncodedRows = {
    rows: rows.length,
    x: new Float32Array(0),
    targets,
    ...(labelled ? { labelled } : {}),
  };
  const splitTensors = { rows: rows.length, x: batch.x, targets: batch.targets };
  const { metrics } = evaluateSplit(model, splitTensors, encoded, tasks, preprocessing, rows.length);
  strategy.onBatchMetrics({ ...position, rows: rows.length, metrics });
}
