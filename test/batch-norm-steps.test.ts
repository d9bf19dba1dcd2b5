import path from 'node:path';
import { tf } from '../src/tf.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../src/api/build.js';
import { initBackend } from '../src/backend/select.js';
import { parseConfigText } from '../src/config/load.js';
import { prepareData } from '../src/data/prepare.js';
import { getStrategy } from '../src/strategies/registry.js';
import { trainingStep } from '../src/train/step.js';
import { createRng } from '../src/util/rng.js';
import { tempDir } from './helpers.js';
import { writeSyntheticCsv } from './helpers/csv.js';

// Gradient strategies run the forward pass more than once per step on the same batch; batch-norm's moving statistics
// must still move once per step (momentum, not momentum^T).

const dir = tempDir();
beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
  writeSyntheticCsv(dir, 'bn.csv', {
    seed: 3,
    rows: 64,
    header: ['x0', 'x1', 'x2', 'x3', 'y1', 'y2'],
    digits: 4,
    row: (rng) => {
      const [a, b, c, d] = [rng.normal(), rng.normal(), rng.normal(), rng.normal()];
      return [a, b, c, d, a + b, c - d];
    },
  });
}, 60_000);

const configText = (strategy: string): string => `name: bn
seed: 4
backend: wasm
data: { csv: bn.csv }
tasks:
  - { name: a, type: regression, target: y1 }
  - { name: b, type: regression, target: y2 }
model:
  trunk: [{ type: dense, units: 6, activation: relu }, { type: batch-norm, momentum: 0.5 }]
training: { batch_size: 64 }
strategy: ${strategy}
`;

/** The trunk's moving statistics after running `steps` steps of `strategy` on one batch. */
async function movingStatistics(strategy: string, steps: number[]): Promise<number[][]> {
  const { config } = parseConfigText(configText(strategy), { file: path.join(dir, 'exp.yaml') });
  const data = await prepareData(config, dir);
  const model = buildModel(config, data.preprocessing);
  const definition = getStrategy(config.strategy.name).create(config.strategy, {
    tasks: config.tasks,
    seed: config.seed,
    hasSharedRepresentation: true,
  });
  const x = tf.tensor2d(data.splits.train.x, [data.splits.train.rows, data.preprocessing.inputSize]);
  const targets = Object.fromEntries(
    config.tasks.map((t) => [
      t.name,
      tf.tensor2d(data.splits.train.targets[t.name] as Float32Array, [data.splits.train.rows, 1]),
    ]),
  );
  const batch = { x, targets };
  const trainable = [...model.sharedVariables, ...config.tasks.flatMap((t) => model.taskVariables[t.name] ?? [])];
  for (const step of steps) {
    model.setStep(step);
    const result = trainingStep(model, definition, batch, config.tasks, trainable, {
      tasks: config.tasks,
      epoch: 0,
      step,
      rng: createRng(1),
    });
    tf.dispose([...Object.values(result.gradients), result.taskLosses]); // no update: only the statistics move
  }
  const stats = model.stateVariables.map((v) => Array.from(v.dataSync()));
  tf.dispose([x, ...Object.values(targets)]);
  model.dispose();
  return stats;
}

describe('batch-norm moving statistics under gradient strategies', () => {
  it('move once per step whatever the number of forward passes, and again at the next step', async () => {
    const once = await movingStatistics('{ name: equal }', [0]);
    expect(once.flat().some((v) => v !== 0 && v !== 1)).toBe(true); // they did move from 0 and 1
    expect(await movingStatistics('{ name: pcgrad, grad_target: params }', [0])).toEqual(once); // two forward passes
    expect(await movingStatistics('{ name: pcgrad, grad_target: representation }', [0])).toEqual(once); // trunk twice
    const twice = await movingStatistics('{ name: equal }', [0, 1]);
    expect(twice).not.toEqual(once);
    expect(await movingStatistics('{ name: pcgrad, grad_target: params }', [0, 1])).toEqual(twice);
  });
});
