import * as tf from '@tensorflow/tfjs';
import type { TaskConfig } from '../config/types.js';
import type { EncodedRows, Preprocessing } from '../data/preprocess.js';
import { outputSize } from '../data/preprocess.js';
import { computeMetrics } from '../metrics/registry.js';
import { meanOver } from '../metrics/aggregate.js';
import type { MetricValues } from '../metrics/types.js';
import type { MultiTaskModel } from '../model/types.js';
import { hostLossAndPredictions } from './host-losses.js';
import type { SplitTensors } from './tensors.js';

export interface SplitEvaluation {
  metrics: MetricValues;
  /** Per task, the predictions as metrics read them (probabilities or values in original units). */
  predictions: Record<string, Float32Array>;
}

/**
 * Runs the model in inference mode over a split in batches, reads each task's raw outputs from the backend once, and
 * computes the task's loss, predictions and metrics from them on the host (train/host-losses.ts).
 */
export function evaluateSplit(
  model: MultiTaskModel,
  split: SplitTensors,
  encoded: EncodedRows,
  tasks: readonly TaskConfig[],
  preprocessing: Preprocessing,
  batchSize: number,
): SplitEvaluation {
  const metrics: MetricValues = {};
  const predictions: Record<string, Float32Array> = {};
  if (split.rows === 0) return { metrics, predictions };
  const parts: tf.Tensor2D[][] = tasks.map(() => []);
  const softmaxParts: tf.Tensor2D[][] = tasks.map(() => []);
  try {
    for (let start = 0; start < split.rows; start += batchSize) {
      const size = Math.min(batchSize, split.rows - start);
      // A split that fits in one batch (validation, usually) is used as it is rather than copied by a slice.
      const whole = size === split.rows;
      tf.tidy(() => {
        const x = whole ? split.x : tf.slice(split.x, [start, 0], [size, -1]);
        const { outputs } = model.forward(x, false);
        tasks.forEach((task, i) => {
          const output = outputs[task.name] as tf.Tensor2D;
          parts[i]?.push(tf.keep(output));
          if (task.loss === 'cross-entropy') softmaxParts[i]?.push(tf.keep(tf.softmax(output)));
        });
      });
    }
    tasks.forEach((task, i) => {
      const encoding = preprocessing.tasks[i];
      const target = split.targets[task.name];
      if (!encoding || !target) return;
      const outputs = readJoined(parts[i] as tf.Tensor2D[]);
      const probabilities = task.loss === 'cross-entropy' ? readJoined(softmaxParts[i] as tf.Tensor2D[]) : undefined;
      const regressionScale = encoding.type === 'regression' ? { mean: encoding.mean, std: encoding.std } : undefined;
      const evaluated = hostLossAndPredictions(task, outputs, target.dataSync() as Float32Array, split.rows, {
        ...(probabilities ? { probabilities } : {}),
        ...(regressionScale ? { regressionScale } : {}),
      });
      predictions[task.name] = evaluated.predictions;
      metrics[`${task.name}/loss`] = evaluated.loss;
      const values = computeMetrics(task.metrics, {
        type: task.type,
        rows: encoded.rows,
        outputSize: outputSize(encoding),
        predictions: evaluated.predictions,
        targets: encoded.targets[task.name] as Float32Array,
      });
      for (const [name, value] of Object.entries(values)) metrics[`${task.name}/${name}`] = value;
    });
  } finally {
    for (const t of [...parts.flat(), ...softmaxParts.flat()]) t.dispose();
  }
  Object.assign(metrics, aggregateOverTasks(metrics, tasks));
  return { metrics, predictions };
}

/** The batches' values joined in row order, read from the backend once. */
function readJoined(chunks: readonly tf.Tensor2D[]): Float32Array {
  if (chunks.length === 1) return (chunks[0] as tf.Tensor2D).dataSync() as Float32Array;
  const joined = tf.concat(chunks as tf.Tensor2D[], 0);
  const values = joined.dataSync() as Float32Array;
  joined.dispose();
  return values;
}

/** `mean/<metric>` over the tasks that report it, and `mean/loss` over all tasks. */
export function aggregateOverTasks(metrics: MetricValues, tasks: readonly TaskConfig[]): MetricValues {
  const names = new Set(['loss', ...tasks.flatMap((t) => t.metrics)]);
  const out: MetricValues = {};
  for (const name of names) {
    const values = tasks.map((t) => metrics[`${t.name}/${name}`]).filter((v): v is number => v !== undefined);
    if (values.length > 0) out[`mean/${name}`] = meanOver(values);
  }
  return out;
}
