/**
 * Evaluation of a split (validation during training, the final metrics, `mtl eval`): losses and predictions on the
 * host match the backend path it replaced (every batch sliced, tf.losses, tf.softmax) to float32 precision, and give
 * the same numbers for every evaluation batch size.
 */
import { tf } from '../src/tf.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../src/api/build.js';
import { initBackend } from '../src/backend/select.js';
import type { ResolvedConfig, TaskConfig } from '../src/config/types.js';
import type { PreparedData } from '../src/data/prepare.js';
import { computeMetrics } from '../src/metrics/registry.js';
import { aggregateOverTasks, evaluateSplit } from '../src/train/evaluate.js';
import { taskKindRegistry } from '../src/tasks/registry.js';
import { taskLoss } from '../src/train/losses.js';
import { disposeSplit, toSplitTensors, type SplitTensors } from '../src/train/tensors.js';
import { backendPredictions } from './helpers.js';
import { smallDigitsData } from './helpers/configs.js';

let config: ResolvedConfig;
let data: PreparedData;

beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
  ({ config, data } = await smallDigitsData());
});

/**
 * Validation on the backend, as it was before: every batch sliced, tf.losses and tf.softmax, the weighted loss summed
 * in float32.
 */
function evaluateBefore(
  split: SplitTensors,
  tasks: readonly TaskConfig[],
  batchSize: number,
  model: ReturnType<typeof buildModel>,
): Record<string, number> {
  const metrics: Record<string, number> = {};
  const parts: Record<string, tf.Tensor2D[]> = Object.fromEntries(tasks.map((t) => [t.name, []]));
  const lossSums = tasks.map(() => tf.scalar(0));
  for (let start = 0; start < split.rows; start += batchSize) {
    const size = Math.min(batchSize, split.rows - start);
    tf.tidy(() => {
      const x = tf.slice(split.x, [start, 0], [size, -1]);
      const { outputs } = model.forward(x, false);
      tasks.forEach((task, i) => {
        const output = outputs[task.name] as tf.Tensor2D;
        const target = tf.slice(split.targets[task.name] as tf.Tensor2D, [start, 0], [size, -1]);
        const old = lossSums[i]!;
        lossSums[i] = tf.keep(tf.add(old, tf.mul(taskLoss(task.loss, output, target), size)));
        old.dispose();
        parts[task.name]?.push(tf.keep(backendPredictions(taskKindRegistry.lookup(task.type).metricLayout, output)));
      });
    });
  }
  tasks.forEach((task, i) => {
    const chunks = parts[task.name] as tf.Tensor2D[];
    const joined = tf.concat(chunks, 0);
    const values = joined.dataSync() as Float32Array;
    joined.dispose();
    chunks.forEach((c) => c.dispose());
    metrics[`${task.name}/loss`] = lossSums[i]!.dataSync()[0]! / split.rows;
    lossSums[i]!.dispose();
    const values2 = computeMetrics(task.metrics, {
      type: taskKindRegistry.lookup(task.type).metricLayout,
      rows: data.splits.val.rows,
      outputSize: 10,
      predictions: values,
      targets: data.splits.val.targets[task.name] as Float32Array,
    });
    for (const [name, value] of Object.entries(values2)) metrics[`${task.name}/${name}`] = value;
  });
  return { ...metrics, ...aggregateOverTasks(metrics, tasks) };
}

describe('validation', () => {
  it(
    'matches the backend path (slices, tf.losses, tf.softmax) to float32 precision, and is the same for every ' +
      'batch size',
    () => {
      const model = buildModel(config, data.preprocessing);
      const val = toSplitTensors(data.splits.val, data.preprocessing);
      const before = tf.memory().numTensors;
      const whole = evaluateSplit(model, val, data.splits.val, config.tasks, data.preprocessing, val.rows).metrics;
      // One batch (the split is used without a slice), and several with a partial last one.
      for (const batchSize of [val.rows, 1024, 7, 32]) {
        const actual = evaluateSplit(model, val, data.splits.val, config.tasks, data.preprocessing, batchSize).metrics;
        const expected = evaluateBefore(val, config.tasks, batchSize, model);
        expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
        for (const key of Object.keys(expected)) {
          const tolerance = 2e-6 * Math.max(1, Math.abs(expected[key] as number));
          expect(
            Math.abs((actual[key] as number) - (expected[key] as number)),
            `${key} at batch size ${batchSize}`,
          ).toBeLessThan(tolerance);
          expect(Object.is(actual[key], whole[key]), `${key} at batch size ${batchSize} vs one batch`).toBe(true);
        }
      }
      expect(tf.memory().numTensors).toBe(before);
      disposeSplit(val);
      model.dispose();
    },
  );
});
