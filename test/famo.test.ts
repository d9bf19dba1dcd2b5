/**
 * FAMO's Δ = log L(θ_t) − log L(θ_{t+1}) on the same batch after the step (the paper's and the authors' code, the
 * default) and on the next batch (`delta: next-batch`): hand-computed ξ updates, the trainer's extra forward pass,
 * state across a resume, memory.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { tf } from '../src/tf.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainExperiment } from '../src/api/train.js';
import { parseConfigText } from '../src/config/load.js';
import type { ModelConfig, TaskConfig } from '../src/config/types.js';
import { getArchitecture } from '../src/model/registry.js';
import type { LossWeightingStrategy, Strategy } from '../src/strategies/types.js';
import { famo } from '../src/strategies/weighting/famo.js';
import { taskLoss } from '../src/train/losses.js';
import { afterOptimizerStep, trainingStep } from '../src/train/step.js';
import { createRng } from '../src/util/rng.js';
import { tempDir, writeFile } from './helpers.js';
import { writeSyntheticCsv } from './helpers/csv.js';
import { expectClose, tensorValues } from './helpers/expect.js';
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
const context = { tasks: twoTasks, epoch: 0, step: 0, rng: createRng(1) };

function make(options: Record<string, unknown> = {}): LossWeightingStrategy {
  const strategy: Strategy = famo.create(
    { name: 'famo', lr: 0.025, gamma: 0.01, delta: 'same-batch', ...options },
    { tasks: twoTasks, seed: 1 },
  );
  if (strategy.needs !== 'losses') throw new Error('famo weights losses');
  return strategy;
}

/** The weights ∂L/∂L_i the strategy gives these loss values (one step's combineLosses). */
function weightsFor(strategy: LossWeightingStrategy, values: number[]): number[] {
  const xs = values.map((v) => tf.scalar(v));
  const { value, grads } = tf.valueAndGrads((...ls: tf.Tensor[]) => strategy.combineLosses(ls as tf.Scalar[], context))(
    xs,
  );
  const out = grads.map((g) => g.dataSync()[0]!);
  value.dispose();
  grads.forEach((g) => g.dispose());
  xs.forEach((x) => x.dispose());
  return out;
}

function afterStep(strategy: LossWeightingStrategy, values: number[]): void {
  tf.tidy(() => strategy.learnFromLossesAfterStep?.(tf.tensor1d(values)));
}

const logitsOf = (s: LossWeightingStrategy): number[] => (s.state() as { logits: number[] }).logits;
const updatesOf = (s: LossWeightingStrategy): number => (s.state() as { updates: number }).updates;

/** FAMO's weights w_i = z_i / (c·D_i) for logits ξ and losses L (ε = 1e-8 is below float32 precision here). */
function famoWeights(xi: readonly number[], losses: readonly number[]): number[] {
  const e = xi.map(Math.exp);
  const z = e.map((v) => v / (e[0]! + e[1]!));
  const c = z[0]! / losses[0]! + z[1]! / losses[1]!;
  return z.map((zi, i) => zi / (c * losses[i]!));
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('famo Δ on the same batch (default)', () => {
  it('updates ξ from the losses after the step on the same batch, before the next step', () => {
    const s = make();
    expect(s.learnFromLossesAfterStep).toBeDefined();
    expectClose(weightsFor(s, [1, 4]), [0.8, 0.2]); // ξ = 0: z = ½, c = 0.625
    // Same batch after the step: L = (0.5, 3), Δ = (ln 2, ln 4/3), δ = z ⊙ (Δ − zᵀΔ) = (+d, −d): Adam's first step
    // moves ξ by lr·sign(δ) plus the decay term (γξ = 0 at ξ = 0): ξ = (−0.025, +0.025); task a improved more.
    afterStep(s, [0.5, 3]);
    expect(updatesOf(s)).toBe(1);
    expectClose(logitsOf(s), [-0.025, 0.025], 6);
    // The next batch (L = (0.7, 2)) is weighted with that ξ, and does not move ξ again by itself. With the next-batch
    // Δ = (ln 1/0.7, ln 2), task b would look the faster one and ξ would move the other way.
    const w = weightsFor(s, [0.7, 2]);
    expectClose(w, famoWeights([-0.025, 0.025], [0.7, 2]));
    expect(updatesOf(s)).toBe(1);
    s.dispose?.();
  });

  it('delta: next-batch has no after-step hook and updates ξ at the next step from the next batch', () => {
    const s = make({ delta: 'next-batch' });
    expect(s.learnFromLossesAfterStep).toBeUndefined();
    weightsFor(s, [1, 4]);
    expect(updatesOf(s)).toBe(0);
    // Δ = (ln 1/0.7, ln 2): δ_a < 0, so ξ = (+0.025, −0.025), used at once for this step's weights.
    const w = weightsFor(s, [0.7, 2]);
    expect(updatesOf(s)).toBe(1);
    expectClose(logitsOf(s), [0.025, -0.025], 6);
    expectClose(w, famoWeights([0.025, -0.025], [0.7, 2]));
    s.dispose?.();
  });

  it('the trainer hands over the losses of one more forward pass on the same batch at the new parameters', () => {
    const config: ModelConfig = { architecture: 'hard-sharing', trunk: [dense(4)], head: [] };
    const heads = [
      { name: 'a', type: 'regression' as const, outputSize: 1 },
      { name: 'b', type: 'regression' as const, outputSize: 1 },
    ];
    const model = getArchitecture('hard-sharing').build(config, { inputSize: 5, heads, rng: createRng(2) });
    const x = input(6, 5);
    const targets = { a: input(6, 1, 4), b: input(6, 1, 5) };
    const seen: number[][] = [];
    const strategy = make();
    const spy: LossWeightingStrategy = {
      ...strategy,
      learnFromLossesAfterStep(losses) {
        seen.push(tensorValues(losses));
        strategy.learnFromLossesAfterStep?.(losses);
      },
    };
    const trainable = [...model.sharedVariables, ...Object.values(model.taskVariables).flat()];
    const before = tf.memory().numTensors;
    const result = trainingStep(model, spy, { x, targets }, twoTasks, trainable, context);
    const lossesBefore = tensorValues(result.taskLosses);
    tf.tidy(() => {
      for (const v of trainable) v.assign(tf.sub(v, tf.mul(result.gradients[v.name]!, 0.1)));
    });
    afterOptimizerStep(model, spy, { x, targets }, twoTasks);
    const lossesAfter = twoTasks.map((task) =>
      tf.tidy(() => taskLoss('mse', model.forward(x, true).outputs[task.name]!, targets[task.name as 'a' | 'b'])),
    );
    expectClose(
      seen[0]!,
      lossesAfter.map((l) => l.dataSync()[0]!),
      6,
    );
    const expectedDelta = lossesBefore.map((l, i) => Math.log(l) - Math.log(seen[0]![i]!));
    const faster = expectedDelta[0]! > expectedDelta[1]! ? 0 : 1;
    expect(logitsOf(strategy)[faster]).toBeCloseTo(-0.025, 6); // the task that gained more loses weight
    lossesAfter.forEach((l) => l.dispose());
    for (const g of Object.values(result.gradients)) g.dispose();
    result.taskLosses.dispose();
    expect(tf.memory().numTensors).toBe(before + 1); // the recorded weights; log D was released after the update
    strategy.dispose?.();
    model.dispose();
  });

  it('round-trips its state between steps and continues identically after a restore; memory stays flat', () => {
    const a = make();
    const b = make();
    const counts: number[] = [];
    for (let t = 0; t < 12; t++) {
      weightsFor(a, [1 / (t + 1), 2 - t / 10]);
      afterStep(a, [0.9 / (t + 1), 1.95 - t / 10]);
      counts.push(tf.memory().numTensors);
    }
    expect(counts[11]).toBe(counts[1]);
    const state = JSON.parse(JSON.stringify(a.state())) as { prevLogD: unknown };
    expect(state.prevLogD).toBeNull(); // a same-batch step leaves nothing pending
    b.restore(state);
    expect(b.state()).toEqual(a.state());
    expect(weightsFor(b, [0.3, 0.8])).toEqual(weightsFor(a, [0.3, 0.8]));
    afterStep(a, [0.25, 0.7]);
    afterStep(b, [0.25, 0.7]);
    expect(b.state()).toEqual(a.state());
    a.dispose?.();
    b.dispose?.();
  });
});

describe('famo in training', () => {
  it('one step per epoch: same-batch updates ξ once per step, next-batch only from the second step', async () => {
    const dir = tempDir('mtl-famo-');
    writeSyntheticCsv(dir, 'data.csv', {
      seed: 4,
      rows: 60,
      header: ['x1', 'x2', 'y1', 'y2'],
      row: (rng) => {
        const [p, q] = [rng.normal(), rng.normal()];
        return [p, q, p - q + 0.1 * rng.normal(), 5 * p * q + rng.normal()];
      },
    });
    const states: Record<string, { logits: number[]; updates: number }> = {};
    for (const delta of ['same-batch', 'next-batch']) {
      const yaml = `name: famo-${delta}
seed: 3
backend: cpu
data:
  csv: data.csv
tasks:
  - { name: a, type: regression, target: y1 }
  - { name: b, type: regression, target: y2 }
model:
  trunk:
    - { type: dense, units: 8, activation: relu }
training:
  lr: 0.01
  batch_size: 64
  epochs: 3
strategy: { name: famo, delta: ${delta} }
`;
      const file = writeFile(dir, `${delta}.yaml`, yaml);
      const result = await trainExperiment(parseConfigText(yaml, { file }), { runsDir: path.join(dir, 'runs') });
      expect(result.status).toBe('completed');
      const model = readFileSync(path.join(result.dir, 'checkpoints', 'last', 'model.json'), 'utf8');
      const stored = JSON.parse(model) as {
        userDefinedMetadata: { strategyState: { logits: number[]; updates: number } };
      };
      states[delta] = stored.userDefinedMetadata.strategyState;
    }
    expect(states['same-batch']?.updates).toBe(3);
    expect(states['next-batch']?.updates).toBe(2);
    expect(states['same-batch']?.logits.every((v) => v !== 0 && Number.isFinite(v))).toBe(true);
  });
});
