import { tf } from '../tf.js';
import type { TaskConfig } from '../config/types.js';
import type { EncodedRows, Preprocessing } from '../data/preprocess.js';
import { computeMetrics } from '../metrics/registry.js';
import { meanOver } from '../metrics/aggregate.js';
import type { MetricValues } from '../metrics/types.js';
import type { MultiTaskModel } from '../model/types.js';
import { applyBackendTransform, backendTransformsFor, hostLossAndPredictions } from '../tasks/evaluation.js';
import { lossRegistry, outputSize, taskKindRegistry } from '../tasks/registry.js';
import type { BackendTransform, RawOutputs } from '../tasks/types.js';
import { runSteps, type Steps } from './event-loop.js';
import type { SplitTensors } from './tensors.js';

export interface SplitEvaluation {
  metrics: MetricValues;
  /** Per task, the predictions as metrics read them (probabilities or values in original units). */
  predictions: Record<string, Float32Array>;
}

/**
 * Runs the model in inference mode over a split in batches, reads each task's raw outputs from the backend once, and
 * computes the task's loss (its loss's host formula), predictions (its kind's transform) and metrics from them on the
 * host (tasks/evaluation.ts).
 */
export function evaluateSplit(...args: Parameters<typeof evaluateSplitSteps>): SplitEvaluation {
  return runSteps(evaluateSplitSteps(...args));
}

/** {@link evaluateSplit} in steps, one per batch's forward pass. */
export function* evaluateSplitSteps(
  model: MultiTaskModel,
  split: SplitTensors,
  encoded: EncodedRows,
  tasks: readonly TaskConfig[],
  preprocessing: Preprocessing,
  batchSize: number,
): Steps<SplitEvaluation> {
  const metrics: MetricValues = {};
  const predictions: Record<string, Float32Array> = {};
  if (split.rows === 0) return { metrics, predictions };
  const heads = tasks.map((task) => {
    const kind = taskKindRegistry.lookup(task.type);
    const loss = lossRegistry.lookup(task.loss);
    const chunks: tf.Tensor2D[] = [];
    // The transforms the kind and the loss read from the backend (the softmax, for multiclass), batch by batch.
    const transformed = new Map(
      backendTransformsFor(kind, loss).map((t): [BackendTransform, tf.Tensor2D[]] => [t, []]),
    );
    return { task, kind, loss, chunks, transformed };
  });
  try {
    for (let start = 0; start < split.rows; start += batchSize) {
      const size = Math.min(batchSize, split.rows - start);
      // A split that fits in one batch (validation, usually) is used as it is rather than copied by a slice.
      const whole = size === split.rows;
      tf.tidy(() => {
        const x = whole ? split.x : tf.slice(split.x, [start, 0], [size, -1]);
        const { outputs } = model.forward(x, false);
        for (const { task, chunks, transformed } of heads) {
          const output = outputs[task.name] as tf.Tensor2D;
          chunks.push(tf.keep(output));
          for (const [transform, parts] of transformed) parts.push(tf.keep(applyBackendTransform(transform, output)));
        }
      });
      yield;
    }
    heads.forEach(({ task, kind, loss, chunks, transformed }) => {
      // By name: `tasks` may be a part of the config's (the main tasks, or the adversaries).
      const encoding = preprocessing.tasks.find((e) => e.name === task.name);
      const target = split.targets[task.name];
      if (!encoding || !target) return;
      const outputValues = readJoined(chunks);
      const outputs: RawOutputs = {
        values: outputValues,
        rows: split.rows,
        width: outputValues.length / split.rows,
        backend: {},
      };
      for (const [transform, parts] of transformed) outputs.backend[transform] = readJoined(parts);
      const trainingTargets = target.dataSync() as Float32Array;
      const evaluated = hostLossAndPredictions(kind, loss, encoding, outputs, trainingTargets);
      predictions[task.name] = evaluated.predictions;
      // Rows without the task's label (data/labels.ts) count for neither its loss nor its metrics.
      const labelled = encoded.labelled?.[task.name];
      const own = labelled
        ? labelledPart(labelled, outputs, trainingTargets, encoded.targets[task.name] as Float32Array)
        : undefined;
      if (own?.outputs.rows === 0) return;
      const measured = own
        ? { ...hostLossAndPredictions(kind, loss, encoding, own.outputs, own.trainingTargets), targets: own.targets }
        : { ...evaluated, targets: encoded.targets[task.name] as Float32Array };
      metrics[`${task.name}/loss`] = measured.loss;
      const values = computeMetrics(task.metrics, {
        type: kind.metricLayout,
        rows: own?.outputs.rows ?? encoded.rows,
        outputSize: outputSize(encoding),
        predictions: measured.predictions,
        targets: measured.targets,
      });
      for (const [name, value] of Object.entries(values)) metrics[`${task.name}/${name}`] = value;
    });
  } finally {
    for (const { chunks, transformed } of heads)
      for (const t of [...chunks, ...[...transformed.values()].flat()]) t.dispose();
  }
  Object.assign(metrics, aggregateOverTasks(metrics, tasks));
  return { metrics, predictions };
}

/** The rows of a task's outputs and targets that have its label (`labelled[i] === 1`), in row order. */
function labelledPart(
  labelled: Uint8Array,
  outputs: RawOutputs,
  trainingTargets: Float32Array,
  targets: Float32Array,
): { outputs: RawOutputs; trainingTargets: Float32Array; targets: Float32Array } {
  const rows = labelled.reduce((n, v) => n + v, 0);
  const pick = (values: Float32Array): Float32Array => {
    const width = values.length / outputs.rows;
    const out = new Float32Array(rows * width);
    let k = 0;
    labelled.forEach((v, i) => {
      if (v !== 1) return;
      out.set(values.subarray(i * width, (i + 1) * width), k * width);
      k++;
    });
    return out;
  };
  const backend: RawOutputs['backend'] = {};
  for (const [transform, values] of transformsOf(outputs)) backend[transform] = pick(values);
  return {
    outputs: { values: pick(outputs.values), rows, width: outputs.width, backend },
    trainingTargets: pick(trainingTargets),
    targets: pick(targets),
  };
}

function transformsOf({ backend }: RawOutputs): [BackendTransform, Float32Array][] {
  const all: BackendTransform[] = ['softmax', 'sigmoid'];
  return all.flatMap((t): [BackendTransform, Float32Array][] => {
    const values = backend[t];
    return values ? [[t, values]] : [];
  });
}

/** The batches' values joined in row order, read from the backend once. */
function readJoined(chunks: readonly tf.Tensor2D[]): Float32Array {
  if (chunks.length === 1) return chunks[0]!.dataSync() as Float32Array;
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
