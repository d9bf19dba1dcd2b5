/**
 * GradNorm (Chen et al. 2018): the weight update against a hand computation, Σ w = T, the floor, the gradient norms
 * the loss step measures at the model's last shared layer, the refusal where there is none, state, and a training run.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { tf } from '../src/tf.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainExperiment } from '../src/api/train.js';
import { parseConfigText } from '../src/config/load.js';
import type { ModelConfig, TaskConfig } from '../src/config/types.js';
import { UsageError } from '../src/errors.js';
import { getArchitecture } from '../src/model/registry.js';
import type { LossWeightingStrategy, Strategy } from '../src/strategies/types.js';
import { gradnorm } from '../src/strategies/weighting/gradnorm.js';
import { taskLoss } from '../src/train/losses.js';
import { trainingStep } from '../src/train/step.js';
import { createRng } from '../src/util/rng.js';
import { tempDir, writeFile } from './helpers.js';
import { TWO_DIGIT_TASKS } from './helpers/configs.js';
import { writeSyntheticCsv } from './helpers/csv.js';
import { configProblems, expectClose, tensorValues } from './helpers/expect.js';
import { dense, input } from './helpers/layers.js';

const regression = (name: string): TaskConfig => ({
  name,
  type: 'regression',
  targets: [name],
  loss: 'mse',
  metrics: ['mse'],
  weight: 1,
});
const twoTasks = [regression('a'), regression('b')];

function make(options: Record<string, unknown> = {}, tasks: readonly TaskConfig[] = twoTasks): LossWeightingStrategy {
  const strategy: Strategy = gradnorm.create(
    { name: 'gradnorm', alpha: 1.5, lr: 0.025, min_weight: 1e-4, ...options },
    { tasks, seed: 1 },
  );
  if (strategy.needs !== 'losses') throw new Error('gradnorm weights losses');
  return strategy;
}

/** The combined loss of the given loss values (the weights the model is trained with). */
function combined(strategy: LossWeightingStrategy, values: number[]): number {
  return tf.tidy(() => {
    const context = { tasks: twoTasks, epoch: 0, step: 0, rng: createRng(1) };
    return strategy
      .combineLosses(
        values.map((v) => tf.scalar(v)),
        context,
      )
      .dataSync()[0]!;
  });
}

function learn(strategy: LossWeightingStrategy, norms: number[], losses: number[]): void {
  tf.tidy(() => strategy.learnFromLastSharedLayerNorms?.(tf.tensor1d(norms), tf.tensor1d(losses)));
}

const weightsOf = (strategy: LossWeightingStrategy): number[] => (strategy.state() as { weights: number[] }).weights;
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('gradnorm weight update', () => {
  it('steps w by Adam on sign(w_i n_i − Ḡ r_i^α)·n_i and renormalises to Σ w = T (two steps by hand)', () => {
    const s = make();
    expect(s.learnFromLastSharedLayerNorms).toBeDefined();
    // Step 0: w = (1, 1), L = (1, 4): the model's loss is 1 + 4.
    expect(combined(s, [1, 4])).toBeCloseTo(5, 5);
    // n = (2, 1), L(0) = L, so r = (1, 1); G = (2, 1), Ḡ = 1.5, targets (1.5, 1.5); gradient sign(0.5, −0.5)·n =
    // (2, −1). Adam's first step is lr·sign: w = (0.975, 1.025), which already sums to 2.
    learn(s, [2, 1], [1, 4]);
    expectClose(weightsOf(s), [0.975, 1.025], 6);
    expectClose(s.currentWeights(), [1, 1]); // the weights step 0 trained with
    // Step 1 trains with the new weights.
    expect(combined(s, [0.5, 3.6])).toBeCloseTo(0.975 * 0.5 + 1.025 * 3.6, 5);
    expectClose(s.currentWeights(), [0.975, 1.025], 6);
    // n = (1, 1), L = (0.5, 3.6): L̃ = (0.5, 0.9), r = L̃/0.7; G = w, Ḡ = 1; targets r^1.5 = (0.6037, 1.4579), so
    // the gradient is (+1, −1). Adam: m = 0.9·0.1·(2, −1) + 0.1·(1, −1), v = 0.999·0.001·(4, 1) + 0.001·(1, 1).
    learn(s, [1, 1], [0.5, 3.6]);
    const m = [0.09 * 2 + 0.1, -0.09 - 0.1];
    const v = [0.000999 * 4 + 0.001, 0.000999 + 0.001];
    const step = m.map((mi, i) => mi / (1 - 0.9 ** 2) / (Math.sqrt(v[i]! / (1 - 0.999 ** 2)) + 1e-8));
    const stepped = [0.975 - 0.025 * step[0]!, 1.025 - 0.025 * step[1]!];
    const total = sum(stepped);
    expectClose(
      weightsOf(s),
      stepped.map((w) => (2 * w) / total),
      6,
    );
    expect(sum(weightsOf(s))).toBeCloseTo(2, 6);
    s.dispose?.();
  });

  it('with α = 0 aims at equal norms: the task with the larger weighted norm loses weight', () => {
    const s = make({ alpha: 0 });
    combined(s, [1, 1]);
    learn(s, [1, 3], [1, 1]);
    learn(s, [1, 3], [0.1, 1]); // slower task b would gain under α > 0; α = 0 looks at the norms only
    const [a, b] = weightsOf(s);
    expect(a).toBeGreaterThan(1);
    expect(b).toBeLessThan(1);
    s.dispose?.();
  });

  it('keeps Σ w = T with three tasks, and floors a weight the step would make negative', () => {
    const three = [regression('a'), regression('b'), regression('c')];
    const s = make({ lr: 0.3 }, three);
    const rng = createRng(5);
    for (let t = 0; t < 30; t++) {
      learn(s, [0.5 + rng.next(), 2 + rng.next(), 0.1], [1 / (t + 1), 1 + rng.next(), 2]);
      const w = weightsOf(s);
      expect(sum(w)).toBeCloseTo(3, 5);
      expect(w.every((x) => x > 0)).toBe(true);
    }
    const floored = make({ lr: 5, min_weight: 0.01 });
    learn(floored, [3, 1], [1, 1]); // w_a = 1 − 5 < 0 → 0.01, then (0.01, 6)·2/6.01
    expectClose(weightsOf(floored), [0.02 / 6.01, 12 / 6.01], 6);
    s.dispose?.();
    floored.dispose?.();
  });

  it('restores its state (weights, Adam moments, L(0)) and continues identically; refuses a mismatched state', () => {
    const a = make();
    learn(a, [2, 1], [1, 4]);
    learn(a, [1, 2], [0.8, 3]);
    const b = make();
    b.restore(JSON.parse(JSON.stringify(a.state())));
    expect(b.state()).toEqual(a.state());
    expect(b.currentWeights()).toEqual(weightsOf(a));
    learn(a, [1, 1], [0.5, 2]);
    learn(b, [1, 1], [0.5, 2]);
    expect(b.state()).toEqual(a.state());
    expect(() => b.restore({ weights: [1] })).toThrow(/does not match 2 tasks/);
    a.dispose?.();
    b.dispose?.();
  });
});

describe('gradient norms at the last shared layer', () => {
  it('the loss step hands the strategy ‖∇_W L_i‖ of the trunk’s last dense layer, on the same batch', () => {
    const config: ModelConfig = { architecture: 'hard-sharing', trunk: [dense(4), dense(3)], head: [] };
    const heads = [
      { name: 'a', type: 'regression' as const, outputSize: 1 },
      { name: 'b', type: 'regression' as const, outputSize: 1 },
    ];
    const model = getArchitecture('hard-sharing').build(config, { inputSize: 5, heads, rng: createRng(2) });
    expect(model.lastSharedLayer?.map((v) => v.name)).toEqual(['shared/1/kernel', 'shared/1/bias']);
    const x = input(6, 5);
    const targets = { a: input(6, 1, 4), b: tf.mul(input(6, 1, 5), 10) as tf.Tensor2D };
    const expected = twoTasks.map((task) => {
      const { value, grads } = tf.variableGrads(() => {
        const out = model.forward(x, true).outputs[task.name]!;
        return taskLoss('mse', out, targets[task.name as 'a' | 'b']);
      }, model.lastSharedLayer ?? []);
      const norm = Math.sqrt(sum(Object.values(grads).map((g) => sum(tensorValues(tf.square(g))))));
      value.dispose();
      return norm;
    });
    const seen: number[][] = [];
    const strategy = make();
    const spy: LossWeightingStrategy = {
      ...strategy,
      learnFromLastSharedLayerNorms(norms, losses) {
        seen.push(tensorValues(norms), tensorValues(losses));
        strategy.learnFromLastSharedLayerNorms?.(norms, losses);
      },
    };
    const trainable = [...model.sharedVariables, ...Object.values(model.taskVariables).flat()];
    const before = tf.memory().numTensors;
    const context = { tasks: twoTasks, epoch: 0, step: 0, rng: createRng(1) };
    const result = trainingStep(model, spy, { x, targets }, twoTasks, trainable, context);
    expectClose(seen[0]!, expected, 4);
    expectClose(seen[1]!, tensorValues(result.taskLosses), 6);
    expect(expected[1]).toBeGreaterThan(expected[0]!); // the larger-scale task has the larger norm …
    expect(weightsOf(strategy)[1]).toBeLessThan(1); // … so, at r = 1, its weight goes down
    for (const g of Object.values(result.gradients)) g.dispose();
    result.taskLosses.dispose();
    // The weights' state (w, m, v, L(0)) is created by the first step; nothing else stays.
    expect(tf.memory().numTensors).toBe(before + 2); // L(0) and the recorded weights
    strategy.dispose?.();
    model.dispose();
  });

  it('refuses, at validation, architectures and trunks without a last shared layer, naming why and what to use', () => {
    const soft = configProblems(
      `${TWO_DIGIT_TASKS}model: { architecture: soft-sharing }\nstrategy: { name: gradnorm }\n`,
    );
    expect(soft[0]).toContain(
      'model.architecture: strategy "gradnorm" measures the task gradient norms at the last shared layer of ' +
        'weights: architecture "soft-sharing" has no layer shared by every task; use one of the architectures ' +
        'that have one: hard-sharing, mmoe, cgc, ple, attention, dselect-k',
    );
    const crossStitch = configProblems(
      `${TWO_DIGIT_TASKS}model: { architecture: cross-stitch }\nstrategy: { name: gradnorm }\n`,
    );
    expect(crossStitch[0]).toMatch(/architecture "cross-stitch" has no layer shared by every task/);
    const noDense = configProblems(
      `${TWO_DIGIT_TASKS}model: { trunk: [{ type: batch-norm }] }\nstrategy: { name: gradnorm }\n`,
    );
    // The trunk is what to change (the architecture has such a layer where the trunk has one).
    expect(noDense[0]).toMatch(/^exp\.yaml:\d+:\d+: model\.trunk: strategy "gradnorm" measures /);
    expect(noDense[0]).toContain(
      ': model.trunk has no dense or conv2d layer, so hard-sharing has no shared layer of weights; add a dense ' +
        'layer to model.trunk',
    );
    for (const architecture of ['hard-sharing', 'mmoe', 'cgc', 'ple', 'attention', 'dselect-k']) {
      const model = `model: { architecture: ${architecture} }\n`;
      const text = `${TWO_DIGIT_TASKS}${model}strategy: { name: gradnorm, alpha: 0.5 }\n`;
      expect(parseConfigText(text).config.strategy, architecture).toMatchObject({ name: 'gradnorm', alpha: 0.5 });
    }
  });

  it('refuses, without validation, a model that has no last shared layer (a UsageError, not a TypeError)', () => {
    const config: ModelConfig = { architecture: 'soft-sharing', trunk: [dense(3)], head: [] };
    const heads = [
      { name: 'a', type: 'regression' as const, outputSize: 1 },
      { name: 'b', type: 'regression' as const, outputSize: 1 },
    ];
    const model = getArchitecture('soft-sharing').build(config, { inputSize: 5, heads, rng: createRng(2) });
    const strategy = make();
    const x = input(4, 5);
    const targets = { a: input(4, 1, 4), b: input(4, 1, 5) };
    const context = { tasks: twoTasks, epoch: 0, step: 0, rng: createRng(1) };
    const trainable = Object.values(model.taskVariables).flat();
    expect(() => trainingStep(model, strategy, { x, targets }, twoTasks, trainable, context)).toThrow(UsageError);
    expect(() => trainingStep(model, strategy, { x, targets }, twoTasks, trainable, context)).toThrow(
      /architecture "soft-sharing" has none/,
    );
    strategy.dispose?.();
    model.dispose();
  });
});

describe('gradnorm training', () => {
  it('trains a two-task regression without NaN, both tasks learn, Σ w = 2, tensor count flat', async () => {
    const dir = tempDir('mtl-gradnorm-');
    writeSyntheticCsv(dir, 'data.csv', {
      seed: 21,
      rows: 240,
      header: ['x1', 'x2', 'x3', 'x4', 'y1', 'y2'],
      row: (rng) => {
        const [a, b, c, d] = [rng.normal(), rng.normal(), rng.normal(), rng.normal()];
        return [a, b, c, d, 2 * a - b + 0.1 * rng.normal(), 10 * (c + 0.5 * d * a) + rng.normal()];
      },
    });
    const yaml = `name: gradnorm
seed: 3
backend: cpu
data:
  csv: data.csv
tasks:
  - { name: a, type: regression, target: y1 }
  - { name: b, type: regression, target: y2 }
model:
  trunk:
    - { type: dense, units: 16, activation: relu }
    - { type: dense, units: 8, activation: relu }
training:
  lr: 0.01
  batch_size: 32
  epochs: 6
strategy: { name: gradnorm }
`;
    const file = writeFile(dir, 'gradnorm.yaml', yaml);
    const counts: number[] = [];
    const result = await trainExperiment(parseConfigText(yaml, { file }), {
      runsDir: path.join(dir, 'runs'),
      listeners: [{ onEpochEnd: () => void counts.push(tf.memory().numTensors) }],
    });
    expect(result.status).toBe('completed');
    expect(counts[5]).toBe(counts[1]);
    const lines = (name: string): string[] => readFileSync(path.join(result.dir, name), 'utf8').trim().split('\n');
    const train = lines('metrics.jsonl')
      .map((l) => JSON.parse(l) as { split: string; metrics: Record<string, number> })
      .filter((r) => r.split === 'train');
    for (const task of ['a', 'b']) {
      const losses = train.map((r) => r.metrics[`${task}/loss`]!);
      expect(losses.every(Number.isFinite), task).toBe(true);
      expect(losses.at(-1)!, task).toBeLessThan(losses[0]! * 0.8);
    }
    const epochs = lines('epochs.jsonl').map((l) => JSON.parse(l) as { taskWeights: Record<string, number> });
    for (const e of epochs) expect(sum(Object.values(e.taskWeights))).toBeCloseTo(2, 4);
    expect(epochs.at(-1)?.taskWeights['a']).not.toBe(1);
    const stored = JSON.parse(readFileSync(path.join(result.dir, 'checkpoints', 'last', 'model.json'), 'utf8')) as {
      userDefinedMetadata: { strategyState: { weights: number[]; updates: number } };
    };
    // One update per step: 168 training rows (the default 0.7 split of 240) in batches of 32, 6 per epoch.
    expect(stored.userDefinedMetadata.strategyState.updates).toBe(6 * 6);
    for (const v of Object.values(result.test)) expect(Number.isNaN(v)).toBe(false);
  });
});
