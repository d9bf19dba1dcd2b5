/**
 * Task-adversarial training (issue #18, adversarial/adversary-step.ts): in each of the three step paths the shared
 * trunk's gradient is the gradient without the adversary minus λ × the adversary's own trunk gradient, while the
 * adversary's head gets its own gradient unreversed; and λ follows its schedule over the run's global steps.
 */
import path from 'node:path';
import { tf } from '../src/tf.js';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { buildModel } from '../src/api/build.js';
import { initBackend } from '../src/backend/select.js';
import { parseConfigText } from '../src/config/load.js';
import type { ResolvedConfig } from '../src/config/types.js';
import { prepareData, type PreparedData } from '../src/data/prepare.js';
import type { MultiTaskModel } from '../src/model/types.js';
import { getStrategy } from '../src/strategies/registry.js';
import { mainTasks } from '../src/adversarial/adversarial-tasks.js';
import { taskLoss } from '../src/train/losses.js';
import { type Batch, trainingStep } from '../src/train/step.js';
import { createRng } from '../src/util/rng.js';
import { writeSyntheticCsv } from './helpers/csv.js';
import { tempDir } from './helpers.js';

const LAMBDA = 0.5;
let dir: string;

beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
  dir = tempDir();
  writeSyntheticCsv(dir, 'adv.csv', {
    seed: 5,
    rows: 16,
    header: ['x0', 'x1', 'x2', 'x3', 'y1', 'y2', 'c'],
    digits: 4,
    row: (rng) => {
      const [a, b, c, d] = [rng.normal(), rng.normal(), rng.normal(), rng.normal()];
      return [a, b, c, d, a + b, c - d, a + 0.3 * c > 0 ? 1 : 0];
    },
  });
}, 60_000);

function configText(strategy: string): string {
  return `name: adv-step
seed: 4
backend: wasm
data: { csv: adv.csv }
tasks:
  - { name: a, type: regression, target: y1 }
  - { name: b, type: regression, target: y2 }
  - { name: c, type: binary, target: c, adversarial: { lambda: ${LAMBDA} } }
model:
  trunk: [{ type: dense, units: 5, activation: tanh }]
training: { batch_size: 16 }
strategy: ${strategy}
`;
}

interface Fixture {
  config: ResolvedConfig;
  data: PreparedData;
  model: MultiTaskModel;
  batch: Batch;
}

async function fixture(strategy: string): Promise<Fixture> {
  const { config } = parseConfigText(configText(strategy), { file: path.join(dir, 'exp.yaml') });
  const data = await prepareData(config, dir);
  const model = buildModel(config, data.preprocessing);
  const train = data.splits.train;
  const x = tf.tensor2d(train.x, [train.rows, data.preprocessing.inputSize]);
  const targets = Object.fromEntries(
    config.tasks.map((t) => [t.name, tf.tensor2d(train.targets[t.name] as Float32Array, [train.rows, 1])]),
  );
  return { config, data, model, batch: { x, targets } };
}

/** One step's gradients by variable name, read back. */
function stepGradients(model: MultiTaskModel, f: Fixture): Record<string, number[]> {
  const tasks = mainTasks(f.config.tasks);
  const strategy = getStrategy(f.config.strategy.name).create(f.config.strategy, {
    tasks,
    seed: 0,
    hasSharedRepresentation: true,
  });
  const trainable = [
    ...model.sharedVariables,
    ...tasks.flatMap((t) => model.taskVariables[t.name] ?? []),
    ...(model.adversaries?.variables ?? []),
  ];
  model.setStep(0);
  const context = { tasks, epoch: 0, step: 0, rng: createRng(1) };
  const result = trainingStep(model, strategy, f.batch, tasks, trainable, context);
  const read = Object.fromEntries(Object.entries(result.gradients).map(([n, g]) => [n, Array.from(g.dataSync())]));
  tf.dispose([...Object.values(result.gradients), result.taskLosses]);
  strategy.dispose?.();
  return read;
}

/**
 * The adversary's own gradients, computed without the reversal layer: its head is one dense output layer
 * (`tasks/c/output`, no hidden layers), so ŷ_c = encode(x)·W + b and L_c = binary cross-entropy(ŷ_c, y_c).
 */
function ownAdversaryGradients(f: Fixture): Record<string, number[]> {
  const model = f.model;
  const [kernel, bias] = model.taskVariables['c'] ?? [];
  if (!kernel || !bias || !model.encode) throw new Error('unexpected adversary head');
  const encode = model.encode;
  const { value, grads } = tf.variableGrads(() => {
    const z = encode(f.batch.x, true) as tf.Tensor2D;
    const logits = tf.add(tf.matMul(z, kernel), bias) as tf.Tensor2D;
    return taskLoss('binary-cross-entropy', logits, f.batch.targets['c'] as tf.Tensor2D);
  }, [...model.sharedVariables, kernel, bias]);
  const read = Object.fromEntries(Object.entries(grads).map(([n, g]) => [n, Array.from(g.dataSync())]));
  tf.dispose([value, ...Object.values(grads)]);
  return read;
}

const paths: [string, string][] = [
  ['loss weighting (one backward pass)', '{ name: equal }'],
  ['parameter gradients (PCGrad)', '{ name: pcgrad, grad_target: params }'],
  ['representation gradients (PCGrad)', '{ name: pcgrad, grad_target: representation }'],
];

describe('the adversary gradient reaches the trunk reversed, in every step path', () => {
  for (const [name, strategy] of paths) {
    it(`${name}: shared gradient = without adversary − λ × the adversary's own trunk gradient`, async () => {
      const f = await fixture(strategy);
      onTestFinished(() => {
        f.model.dispose();
        tf.dispose([f.batch.x, ...Object.values(f.batch.targets)]);
      });
      expect(f.model.adversaries?.names).toEqual(['c']);
      const { adversaries: _adversaries, ...plain } = f.model;
      const withAdversary = stepGradients(f.model, f);
      const without = stepGradients(plain, f);
      const own = ownAdversaryGradients(f);
      expect(f.model.adversaries?.lambda('c')).toBe(LAMBDA);
      let compared = 0;
      for (const variable of f.model.sharedVariables) {
        const got = withAdversary[variable.name]!;
        const expected = without[variable.name]!.map((g, i) => g - LAMBDA * own[variable.name]![i]!);
        got.forEach((g, i) => expect(g).toBeCloseTo(expected[i]!, 5));
        // The adversary really moves the trunk (its gradient is not ~0 here).
        compared += own[variable.name]!.reduce((s, g) => s + Math.abs(g), 0);
      }
      expect(compared).toBeGreaterThan(1e-3);
      // The adversary's head learns its target: its own gradient, not reversed; it is absent without adversary.
      for (const variable of f.model.taskVariables['c'] ?? []) {
        withAdversary[variable.name]!.forEach((g, i) => expect(g).toBeCloseTo(own[variable.name]![i]!, 5));
        expect(without[variable.name]).toBeUndefined();
      }
      // The main heads' gradients do not see the adversary.
      for (const task of ['a', 'b']) {
        for (const variable of f.model.taskVariables[task] ?? []) {
          expect(withAdversary[variable.name]).toEqual(without[variable.name]);
        }
      }
    });
  }
});
