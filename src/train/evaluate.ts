import * as tf from '@tensorflow/tfjs';
import type { TaskConfig } from '../config/types.js';
import type { EncodedRows, Preprocessing } from '../data/preprocess.js';
import { outputSize } from '../data/preprocess.js';
import { computeMetrics, getMetric } from '../metrics/registry.js';
import { meanOver } from '../metrics/aggregate.js';
import type { MultiTaskModel } from '../model/types.js';
import { taskLoss, toPredictions } from './losses.js';
import type { SplitTensors } from './tensors.js';

/** Metric values keyed `<task>/<metric>`, `<task>/loss`, `mean/<metric>` and `mean/loss`. */
export type MetricValues = Record<string, number>;

/** Whether higher is better for a metric key (`left/accuracy` → true, `mean/loss` → false). */
export function higherIsBetter(key: string): boolean {
  const metric = key.slice(key.lastIndexOf('/') + 1);
  if (metric === 'loss') return false;
  return getMetric(metric).higherIsBetter;
}

export interface SplitEvaluation {
  metrics: MetricValues;
  /** Per task, the predictions as metrics read them (probabilities or values in original units). */
  predictions: Record<string, Float32Array>;
}

/**
 * Runs the model in inference mode over a split in batches and computes every task's loss and metrics. Reads each
 * task's predictions and batch losses from the backend once, at the end.
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
  const losses: tf.Scalar[][] = tasks.map(() => []);
  const sizes: number[] = [];
  try {
    for (let start = 0; start < split.rows; start += batchSize) {
      const size = Math.min(batchSize, split.rows - start);
      sizes.push(size);
      // A split that fits in one batch (validation, usually) is used as it is rather than copied by a slice.
      const whole = size === split.rows;
      tf.tidy(() => {
        const x = whole ? split.x : tf.slice(split.x, [start, 0], [size, -1]);
        const { outputs } = model.forward(x, false);
        tasks.forEach((task, i) => {
          const output = outputs[task.name] as tf.Tensor2D;
          const all = split.targets[task.name] as tf.Tensor2D;
          const target = whole ? all : tf.slice(all, [start, 0], [size, -1]);
          losses[i]?.push(tf.keep(taskLoss(task.loss, output, target)));
          const encoding = preprocessing.tasks[i];
          const scale = encoding?.type === 'regression' ? { mean: encoding.mean, std: encoding.std } : undefined;
          parts[i]?.push(tf.keep(toPredictions(task.type, output, scale)));
        });
      });
    }
    tasks.forEach((task, i) => {
      const chunks = parts[i] as tf.Tensor2D[];
      const joined = chunks.length === 1 ? (chunks[0] as tf.Tensor2D) : tf.concat(chunks, 0);
      const values = joined.dataSync() as Float32Array;
      if (joined !== chunks[0]) joined.dispose();
      predictions[task.name] = values;
      metrics[`${task.name}/loss`] = weightedLossSum(losses[i] as tf.Scalar[], sizes) / split.rows;
      const encoding = preprocessing.tasks[i];
      if (!encoding) return;
      const values2 = computeMetrics(task.metrics, {
        type: task.type,
        rows: encoded.rows,
        outputSize: outputSize(encoding),
        predictions: values,
        targets: encoded.targets[task.name] as Float32Array,
      });
      for (const [name, value] of Object.entries(values2)) metrics[`${task.name}/${name}`] = value;
    });
  } finally {
    for (const t of [...parts.flat(), ...losses.flat()]) t.dispose();
  }
  Object.assign(metrics, aggregateOverTasks(metrics, tasks));
  return { metrics, predictions };
}

/**
 * Σ_b size_b · loss_b in float32, as the backend computed it before (a float32 scalar 0, then `add(sum,
 * mul(loss_b, size_b))` per batch), bit for bit: `Math.fround` of a float64 product or sum of float32 values is the
 * correctly rounded float32 result. Two kernel calls and a scalar per batch and task fewer, and one read per batch.
 */
function weightedLossSum(losses: readonly tf.Scalar[], sizes: readonly number[]): number {
  let sum = 0;
  losses.forEach((loss, b) => {
    sum = Math.fround(sum + Math.fround((loss.dataSync()[0] as number) * (sizes[b] as number)));
  });
  return sum;
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
