/**
 * One training step on one small batch, for tests that look at what a strategy's step hands the optimizer: a
 * two-task regression CSV (y1 = x0 + x1, y2 = x2 − x3), a hard-sharing dense trunk, the whole split as one batch.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { tf } from '../../src/tf.js';
import { buildModel } from '../../src/api/build.js';
import { initBackend } from '../../src/backend/select.js';
import { parseConfigText } from '../../src/config/load.js';
import type { ResolvedConfig } from '../../src/config/types.js';
import { type PreparedData, prepareData } from '../../src/data/prepare.js';
import type { MultiTaskModel } from '../../src/model/types.js';
import type { Strategy } from '../../src/strategies/types.js';
import { type Batch, trainingStep } from '../../src/train/step.js';
import { createRng } from '../../src/util/rng.js';
import { tempDir } from '../helpers.js';
import { writeSyntheticCsv } from './csv.js';

export interface OneBatch {
  config: ResolvedConfig;
  model: MultiTaskModel;
  batch: Batch;
  /** The gradients of one step of `strategy` (step 0), read into arrays by variable name; tensors disposed. */
  step(strategy: Strategy): Record<string, number[]>;
  dispose(): void;
}

/** The model, batch and step of `strategy` (YAML flow mapping) on the two-task CSV, on wasm. */
export async function oneBatch(strategy: string): Promise<OneBatch> {
  await initBackend('wasm', { fma: 'off' });
  const dir = tempDir();
  writeSyntheticCsv(dir, 'step.csv', {
    seed: 3,
    rows: 16,
    header: ['x0', 'x1', 'x2', 'x3', 'y1', 'y2'],
    digits: 4,
    row: (rng) => {
      const [a, b, c, d] = [rng.normal(), rng.normal(), rng.normal(), rng.normal()];
      return [a, b, c, d, a + b, c - d];
    },
  });
  const text = `name: step
seed: 4
backend: wasm
data: { csv: step.csv }
tasks:
  - { name: a, type: regression, target: y1 }
  - { name: b, type: regression, target: y2 }
model:
  trunk: [{ type: dense, units: 5, activation: tanh }]
training: { batch_size: 16 }
strategy: ${strategy}
`;
  const { config } = parseConfigText(text, { file: path.join(dir, 'exp.yaml') });
  const data = await prepareData(config, dir);
  const model = buildModel(config, data.preprocessing);
  const train = data.splits.train;
  const x = tf.tensor2d(train.x, [train.rows, data.preprocessing.inputSize]);
  const targets = Object.fromEntries(
    config.tasks.map((t) => [t.name, tf.tensor2d(train.targets[t.name] as Float32Array, [train.rows, 1])]),
  );
  const batch: Batch = { x, targets };
  const trainable = [...model.sharedVariables, ...config.tasks.flatMap((t) => model.taskVariables[t.name] ?? [])];
  return {
    config,
    model,
    batch,
    step(definition) {
      model.setStep(0);
      const context = { tasks: config.tasks, epoch: 0, step: 0, rng: createRng(1) };
      const result = trainingStep(model, definition, batch, config.tasks, trainable, context);
      const read = Object.fromEntries(
        Object.entries(result.gradients).map(([name, g]) => [name, Array.from(g.dataSync())]),
      );
      tf.dispose([...Object.values(result.gradients), result.taskLosses]);
      return read;
    },
    dispose() {
      tf.dispose([x, ...Object.values(targets)]);
      model.dispose();
    },
  };
}

/**
 * Two regression tasks (y1 = x0 − x1, y2 = x2) on 8 training rows (a split column), a dense trunk of 4 and heads of
 * 2, on wasm: the data of the step tests that compare a strategy's gradients with ones computed by hand.
 */
export async function eightRowStepData(dir: string): Promise<{ config: ResolvedConfig; data: PreparedData }> {
  await initBackend('wasm', { fma: 'off' });
  const rng = createRng(8);
  const rows = ['x0,x1,x2,y1,y2,part'];
  for (let r = 0; r < 8; r++) {
    const x = Array.from({ length: 3 }, () => rng.normal());
    rows.push(`${[...x, x[0]! - x[1]!, x[2]!].map((v) => v.toFixed(4)).join(',')},train`);
  }
  writeFileSync(path.join(dir, 'step.csv'), `${rows.join('\n')}\n`);
  const { config } = parseConfigText(
    `name: s
backend: wasm
data: { csv: step.csv, split: { column: part } }
tasks:
  - { name: a, type: regression, target: y1 }
  - { name: b, type: regression, target: y2 }
model:
  trunk: [{ type: dense, units: 4 }]
  head: [{ type: dense, units: 2 }]
`,
    { file: path.join(dir, 'exp.yaml') },
  );
  return { config, data: await prepareData(config, dir) };
}
