import { readFileSync } from 'node:fs';
import path from 'node:path';
import { tf } from '../src/tf.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainExperiment } from '../src/api/train.js';
import { parseConfigText } from '../src/config/load.js';
import type { TaskConfig } from '../src/config/types.js';
import { UsageError } from '../src/errors.js';
import { strategyRegistry } from '../src/strategies/registry.js';
import type {
  EpochSummary,
  LossWeightingStrategy,
  Strategy,
  StrategyContext,
  StrategyDefinition,
} from '../src/strategies/types.js';
import { accuracyWeighting, accuracyWeights } from '../src/strategies/weighting/accuracy.js';
import { dwa, dwaWeights } from '../src/strategies/weighting/dwa.js';
import { famo } from '../src/strategies/weighting/famo.js';
import { gls } from '../src/strategies/weighting/gls.js';
import { imtlL } from '../src/strategies/weighting/imtl-l.js';
import { lossRatio } from '../src/strategies/weighting/loss-ratio.js';
import { rlw, rlwWeights } from '../src/strategies/weighting/rlw.js';
import { uncertainty } from '../src/strategies/weighting/uncertainty.js';
import { createRng } from '../src/util/rng.js';
import { tempDir, writeFile } from './helpers.js';
import { writeSyntheticCsv } from './helpers/csv.js';

const LN2 = Math.LN2;

function task(
  name: string,
  type: TaskConfig['type'] = 'regression',
  metrics: string[] = ['mse', 'mae', 'r2'],
): TaskConfig {
  return {
    name,
    type,
    targets: [name],
    loss: type === 'regression' ? 'mse' : 'binary-cross-entropy',
    metrics,
    weight: 1,
  };
}
const twoTasks = [task('a'), task('b')];

/** The options the schema would fill in, plus the given ones. */
function defaults(definition: StrategyDefinition): Record<string, unknown> {
  return Object.fromEntries(Object.entries(definition.optionsSchema).map(([k, v]) => [k, v['default']]));
}

function make(
  definition: StrategyDefinition,
  options: Record<string, unknown> = {},
  tasks: readonly TaskConfig[] = twoTasks,
): Strategy {
  return definition.create({ name: definition.name, ...defaults(definition), ...options }, { tasks, seed: 1 });
}

function context(tasks: readonly TaskConfig[] = twoTasks, step = 0, seed = 9): StrategyContext {
  return { tasks, epoch: 0, step, rng: createRng(seed).fork('strategy') };
}

/** The strategy's loss combination; every strategy in this file weights losses. */
function combineLossesOf(strategy: Strategy): LossWeightingStrategy['combineLosses'] {
  if (strategy.needs !== 'losses') throw new Error(`${strategy.name} needs ${strategy.needs}, not losses`);
  return (losses, ctx) => strategy.combineLosses(losses, ctx);
}

/** The combined loss for given loss values and its gradient with respect to each L_i. */
function valueAndGrad(
  strategy: Strategy,
  values: number[],
  ctx: StrategyContext = context(),
): { value: number; grad: number[] } {
  const xs = values.map((v) => tf.scalar(v));
  const { value, grads } = tf.valueAndGrads((...ls: tf.Tensor[]) => combineLossesOf(strategy)(ls as tf.Scalar[], ctx))(
    xs,
  );
  const out = { value: value.dataSync()[0]!, grad: grads.map((g) => g.dataSync()[0]!) };
  value.dispose();
  grads.forEach((g) => g.dispose());
  xs.forEach((x) => x.dispose());
  return out;
}

/** Gradient of the combined loss with respect to the strategy's own variables. */
function variableGrad(strategy: Strategy, values: number[]): { value: number; grad: number[] } {
  const variables = strategy.variables?.() ?? [];
  const { value, grads } = tf.variableGrads(
    () =>
      combineLossesOf(strategy)(
        values.map((v) => tf.scalar(v)),
        context(),
      ),
    variables,
  );
  const out = { value: value.dataSync()[0]!, grad: variables.map((v) => grads[v.name]?.dataSync()[0] as number) };
  value.dispose();
  Object.values(grads).forEach((g) => g.dispose());
  return out;
}

const summary = (epoch: number, trainLosses: number[], validation: Record<string, number> = {}): EpochSummary => ({
  epoch,
  trainLosses,
  validation,
});

function expectClose(actual: readonly number[], expected: readonly number[], digits = 5): void {
  expect(actual).toHaveLength(expected.length);
  expected.forEach((e, i) => expect(actual[i], `index ${i}`).toBeCloseTo(e, digits));
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('registry and schema', () => {
  const mine = ['loss-ratio', 'accuracy', 'uncertainty', 'dwa', 'rlw', 'gls', 'famo', 'imtl-l'];
  it('registers every loss-weighting method with documented, defaulted options', () => {
    for (const name of mine) {
      const definition = strategyRegistry.get(name);
      expect(definition, name).toBeDefined();
      expect(definition?.family).toBe('loss-weighting');
      for (const [option, schema] of Object.entries(definition?.optionsSchema ?? {})) {
        expect(schema['default'], `${name}.${option} default`).toBeDefined();
        expect(typeof schema['description'], `${name}.${option} description`).toBe('string');
      }
      const strategy = make(
        definition as StrategyDefinition,
        {},
        name === 'accuracy' ? [task('a', 'binary', ['accuracy']), task('b')] : twoTasks,
      );
      expect(strategy.needs).toBe('losses');
      strategy.dispose?.();
    }
  });

  it('accepts the options in a config and rejects unknown ones', () => {
    const config = (strategy: string) => `data: { csv: data.csv }
tasks:
  - { name: a, type: regression, target: y1 }
  - { name: b, type: regression, target: y2 }
strategy: ${strategy}`;
    const dir = tempDir();
    writeFile(dir, 'data.csv', 'x,y1,y2\n1,2,3\n2,3,4\n3,4,5\n4,5,6\n');
    const file = path.join(dir, 'config.yaml');
    const loaded = parseConfigText(config('{ name: dwa, temperature: 3 }'), { file });
    expect(loaded.config.strategy).toEqual({ name: 'dwa', temperature: 3 });
    expect(parseConfigText(config('{ name: famo }'), { file }).config.strategy).toEqual({
      name: 'famo',
      lr: 0.025,
      gamma: 0.01,
      delta: 'same-batch',
    });
    expect(() => parseConfigText(config('{ name: dwa, temprature: 3 }'), { file })).toThrow(UsageError);
    expect(() => parseConfigText(config('{ name: loss-ratio, scale: 2 }'), { file })).toThrow(UsageError);
  });
});

describe('loss-ratio', () => {
  it('weights L = (1, 3) as (0.75, 0.25) with scale one, × T with scale tasks; no gradient through weights', () => {
    const one = make(lossRatio, { scale: 'one' });
    const r1 = valueAndGrad(one, [1, 3]);
    expect(r1.value).toBeCloseTo(0.75 * 1 + 0.25 * 3, 5);
    // ∂/∂L_i of Σ w_i L_i with detached weights is w_i (a harmonic-mean gradient would be different).
    expectClose(r1.grad, [0.75, 0.25]);
    expectClose(one.currentWeights(), [0.75, 0.25]);
    expect(sum(one.currentWeights())).toBeCloseTo(1, 6);

    const tasks = make(lossRatio);
    const r2 = valueAndGrad(tasks, [1, 3]);
    expectClose(r2.grad, [1.5, 0.5]);
    expectClose(tasks.currentWeights(), [1.5, 0.5]);
    expect(r2.value).toBeCloseTo(3, 5);
    one.dispose?.();
    tasks.dispose?.();
  });

  it('is the seed formula w_A = L_B / (L_A + L_B) for two tasks and generalises to T tasks', () => {
    const s = make(lossRatio, { scale: 'one' });
    valueAndGrad(s, [0.2, 1.3]);
    expectClose(s.currentWeights(), [1.3 / 1.5, 0.2 / 1.5]);
    const three = make(lossRatio, {}, [task('a'), task('b'), task('c')]);
    valueAndGrad(three, [1, 2, 4], context([task('a'), task('b'), task('c')]));
    // 1/L = (1, .5, .25), normalised to 3: (12/7, 6/7, 3/7)
    expectClose(three.currentWeights(), [12 / 7, 6 / 7, 3 / 7]);
    s.dispose?.();
    three.dispose?.();
  });
});

describe('accuracy', () => {
  const cls = [task('a', 'binary', ['accuracy']), task('b', 'binary', ['accuracy'])];
  it('weights acc = (0.9, 0.6) as (0.4, 1.6) (sum T) or (0.2, 0.8) (sum 1), equal before the first validation', () => {
    expectClose(accuracyWeights([0.9, 0.6], 2), [0.4, 1.6]);
    expectClose(accuracyWeights([0.9, 0.6], 1), [0.2, 0.8]);
    const s = make(accuracyWeighting, {}, cls);
    expect(s.currentWeights()).toEqual([1, 1]);
    s.onEpochEnd?.(summary(0, [1, 1])); // no validation split: unchanged
    expect(s.currentWeights()).toEqual([1, 1]);
    s.onEpochEnd?.(summary(1, [1, 1], { 'a/accuracy': 0.9, 'b/accuracy': 0.6, 'a/loss': 0.3 }));
    expectClose(s.currentWeights(), [0.4, 1.6]);
    expect(valueAndGrad(s, [1, 2], context(cls)).value).toBeCloseTo(0.4 + 3.2, 5);
  });

  it('gives tasks without the metric weight 1, shares equally when all are perfect, rejects unusable metrics', () => {
    expectClose(accuracyWeights([0.9, undefined, 0.6], 3), [0.4, 1, 1.6]);
    expectClose(accuracyWeights([1, 1], 2), [1, 1]);
    expectClose(accuracyWeights([1.2, 0.5], 2), [0, 2]); // clamped to [0, 1]
    expect(() => make(accuracyWeighting, {}, twoTasks)).toThrow(UsageError); // no task reports accuracy
    expect(() => make(accuracyWeighting, { metric: 'mae' }, twoTasks)).toThrow(UsageError); // lower is better
    const mixed = make(accuracyWeighting, {}, [task('a', 'binary', ['accuracy']), task('b')]);
    mixed.onEpochEnd?.(summary(0, [1, 1], { 'a/accuracy': 0.75, 'b/mse': 0.2 }));
    expectClose(mixed.currentWeights(), [1, 1]); // |M| = 1: the only measured task keeps weight 1
  });

  it('round-trips its state', () => {
    const a = make(accuracyWeighting, {}, cls);
    a.onEpochEnd?.(summary(0, [1, 1], { 'a/accuracy': 0.7, 'b/accuracy': 0.8 }));
    const b = make(accuracyWeighting, {}, cls);
    b.restore(JSON.parse(JSON.stringify(a.state())));
    expect(b.currentWeights()).toEqual(a.currentWeights());
  });
});

describe('uncertainty', () => {
  it('computes Σ ½e^{−s}L + ½s and its gradient in s for s = (0, ln 2), L = (2, 1)', () => {
    const s = make(uncertainty);
    s.restore({ log_var: { a: 0, b: LN2 } });
    expect(s.variables?.().map((v) => v.name)).toEqual([
      'strategy/uncertainty/log_var_a',
      'strategy/uncertainty/log_var_b',
    ]);
    // ½(2·1 + 0) + ½(1·½ + ln 2) = ½(2.5 + ln 2)
    const r = variableGrad(s, [2, 1]);
    expect(r.value).toBeCloseTo(0.5 * (2.5 + LN2), 5);
    // ∂/∂s_i = ½(1 − e^{−s_i} L_i) = (½(1 − 2), ½(1 − ½))
    expectClose(r.grad, [-0.5, 0.25]);
    expectClose(valueAndGrad(s, [2, 1]).grad, [0.5, 0.25]);
    expectClose(s.currentWeights(), [0.5, 0.25]);
    // L = (1, 2) is the stationary point of these s (s_i = ln L_i): value ½(1 + 0) + ½(1 + ln 2), gradient 0.
    const stationary = variableGrad(s, [1, 2]);
    expect(stationary.value).toBeCloseTo(0.5 * (2 + LN2), 5);
    expectClose(stationary.grad, [0, 0]);
    s.dispose?.();
  });

  it('simplified form: Σ e^{−s}L + s', () => {
    const s = make(uncertainty, { form: 'simplified' });
    s.restore({ log_var: { a: 0, b: LN2 } });
    const r = variableGrad(s, [2, 1]);
    expect(r.value).toBeCloseTo(2.5 + LN2, 5);
    expectClose(r.grad, [-1, 0.5]);
    s.dispose?.();
  });

  it('round-trips its state through JSON, and a disposed strategy frees its variables', () => {
    const before = tf.memory().numTensors;
    const a = make(uncertainty, { init: -0.5 });
    expect(a.state()).toEqual({ log_var: { a: -0.5, b: -0.5 } });
    a.restore({ log_var: { a: 0.25, b: -1.5 } });
    const saved = JSON.parse(JSON.stringify(a.state()));
    a.dispose?.();
    expect(tf.memory().numTensors).toBe(before);
    const b = make(uncertainty);
    b.restore(saved);
    expect(b.state()).toEqual({ log_var: { a: 0.25, b: -1.5 } });
    expect(() => b.restore({ log_var: { a: 1 } })).toThrow(/does not match/);
    b.dispose?.();
  });
});

describe('imtl-l', () => {
  it('computes Σ e^{s}L − s and its gradient in s for s = (0, ln 2), L = (2, 1)', () => {
    const s = make(imtlL);
    s.restore({ scale: { a: 0, b: LN2 } });
    const r = variableGrad(s, [2, 1]);
    expect(r.value).toBeCloseTo(2 + 2 - LN2, 5);
    expectClose(r.grad, [1, 1]); // e^{s}L − 1
    expectClose(s.currentWeights(), [1, 2]);
    const saved = JSON.parse(JSON.stringify(s.state()));
    s.dispose?.();
    const t = make(imtlL);
    t.restore(saved);
    expectClose(t.currentWeights(), [1, 2]);
    t.dispose?.();
  });
});

describe('dwa', () => {
  it('keeps weight 1 for two epochs, then w_i = T·softmax(r/τ) with r_i = L_i(t−1)/L_i(t−2)', () => {
    // r = (0.5/1, 2/2) = (0.5, 1), τ = 2: w = 2·e^{0.25}/(e^{0.25} + e^{0.5}) = 2/(1 + e^{0.25}), …
    const expected = [2 / (1 + Math.exp(0.25)), 2 / (1 + Math.exp(-0.25))];
    expectClose(dwaWeights([1, 2], [0.5, 2], 2), expected);
    const s = make(dwa);
    expect(s.currentWeights()).toEqual([1, 1]);
    s.onEpochEnd?.(summary(0, [1, 2]));
    expect(s.currentWeights()).toEqual([1, 1]);
    s.onEpochEnd?.(summary(1, [0.5, 2]));
    expectClose(s.currentWeights(), expected);
    expect(sum(s.currentWeights())).toBeCloseTo(2, 6);
    expect(valueAndGrad(s, [1, 1]).value).toBeCloseTo(2, 5);
    // next epoch: r = (0.25/0.5, 1/2) = (0.5, 0.5) → equal
    s.onEpochEnd?.(summary(2, [0.25, 1]));
    expectClose(s.currentWeights(), [1, 1]);
    // a large temperature flattens the weights
    const flat = dwaWeights([1, 2], [0.5, 2], 1000);
    expect(Math.abs(flat[0]! - 1)).toBeLessThan(1e-3);
  });

  it('round-trips its state', () => {
    const a = make(dwa, { temperature: 1 });
    a.onEpochEnd?.(summary(0, [1, 2]));
    a.onEpochEnd?.(summary(1, [0.8, 1.0]));
    const b = make(dwa, { temperature: 1 });
    b.restore(JSON.parse(JSON.stringify(a.state())));
    expect(b.currentWeights()).toEqual(a.currentWeights());
    a.onEpochEnd?.(summary(2, [0.7, 0.3]));
    b.onEpochEnd?.(summary(2, [0.7, 0.3]));
    expect(b.currentWeights()).toEqual(a.currentWeights());
  });
});

describe('rlw', () => {
  it('draws softmax(N(0, I)) weights per step from the seeded generator: sum T (or 1), reproducible', () => {
    const run = (seed: number, options: Record<string, unknown> = {}): number[][] => {
      const s = make(rlw, options);
      const ctx = context(twoTasks, 0, seed);
      const out: number[][] = [];
      for (let step = 0; step < 5; step++) {
        const r = valueAndGrad(s, [1, 2], { ...ctx, step });
        const w = s.currentWeights();
        expect(sum(w)).toBeCloseTo(options['scale'] === 'one' ? 1 : 2, 6);
        expect(w.every((x) => x > 0)).toBe(true);
        expect(r.value).toBeCloseTo(w[0]! * 1 + w[1]! * 2, 5);
        expectClose(r.grad, w);
        out.push([...w]);
      }
      return out;
    };
    const first = run(4);
    expect(run(4)).toEqual(first);
    expect(run(5)).not.toEqual(first);
    expect(first[0]).not.toEqual(first[1]);
    run(4, { scale: 'one' });
    // the helper is softmax of T normal draws
    const rng = createRng(3);
    const z = [rng.normal(), rng.normal()];
    const e = z.map(Math.exp);
    expectClose(rlwWeights(createRng(3), 2, 1), [e[0]! / sum(e), e[1]! / sum(e)], 10);
  });
});

describe('gls', () => {
  it('is the geometric mean: L = (2, 8) → 4, with ∂/∂L_i = L/(T·L_i)', () => {
    const s = make(gls);
    const r = valueAndGrad(s, [2, 8]);
    expect(r.value).toBeCloseTo(4, 5);
    expectClose(r.grad, [1, 0.25]);
    expectClose(s.currentWeights(), [1, 0.25]);
    const three = make(gls, {}, [task('a'), task('b'), task('c')]);
    expect(valueAndGrad(three, [1, 8, 27], context([task('a'), task('b'), task('c')])).value).toBeCloseTo(6, 4);
    s.dispose?.();
    three.dispose?.();
  });
});

describe('famo', () => {
  it('weights z_i/(c·D_i) and updates the logits with Adam on Jᵀ(log L_prev − log L_curr) at the next step', () => {
    // The next-batch Δ; the default same-batch Δ is pinned in test/famo.test.ts.
    const s = make(famo, { delta: 'next-batch' });
    // step 0: ξ = 0, z = (½, ½), L = (1, 4): c = ½ + ⅛ = 0.625, loss = (½·ln 1 + ½·ln 4)/c, w = z/(c·L) = (0.8, 0.2)
    const r0 = valueAndGrad(s, [1, 4]);
    expect(r0.value).toBeCloseTo((0.5 * Math.log(4)) / 0.625, 5);
    expectClose(r0.grad, [0.8, 0.2]);
    expectClose(s.currentWeights(), [0.8, 0.2]);
    expect(s.state()).toMatchObject({ logits: [0, 0], updates: 0 });
    // step 1: L = (0.5, 3). Δ = (ln 2, ln 4/3), δ = z ⊙ (Δ − zᵀΔ) = (+d, −d); the first Adam step moves each
    // logit by lr·sign(δ): ξ = (−0.025, +0.025) — task a improved more, so its weight goes down.
    const r1 = valueAndGrad(s, [0.5, 3]);
    const state = s.state() as { logits: number[]; updates: number };
    expect(state.updates).toBe(1);
    expectClose(state.logits, [-0.025, 0.025], 6);
    const z = [1 / (1 + Math.exp(0.05)), 1 / (1 + Math.exp(-0.05))];
    const c = z[0]! / 0.5 + z[1]! / 3;
    const w = [z[0]! / (c * 0.5), z[1]! / (c * 3)];
    expectClose(r1.grad, w);
    expectClose(s.currentWeights(), w);
    expect(sum(s.currentWeights())).toBeCloseTo(1, 6);
    expect(r1.value).toBeCloseTo((z[0]! * Math.log(0.5) + z[1]! * Math.log(3)) / c, 5);
    s.dispose?.();
  });

  it('gives the model a finite gradient through a real tape, and round-trips its state', () => {
    const x = tf.tidy(() => tf.variable(tf.tensor1d([0.3, -0.2]), true, 'test/famo/x'));
    const lossesOf = (): tf.Scalar[] => [
      tf.add(tf.square(tf.sub(x.gather(0), 1)), 0.1),
      tf.add(tf.square(tf.add(x.gather(1), 2)), 0.2),
    ];
    const a = make(famo, { lr: 0.1, delta: 'next-batch' });
    const b = make(famo, { lr: 0.1, delta: 'next-batch' });
    for (let step = 0; step < 4; step++) {
      const { value, grads } = tf.variableGrads(() => combineLossesOf(a)(lossesOf(), context()), [x]);
      expect(Array.from(grads['test/famo/x']?.dataSync() ?? []).every(Number.isFinite)).toBe(true);
      tf.tidy(() => x.assign(tf.sub(x, tf.mul(grads['test/famo/x'] as tf.Tensor, 0.1))));
      value.dispose();
      Object.values(grads).forEach((g) => g.dispose());
    }
    b.restore(JSON.parse(JSON.stringify(a.state())));
    expect(b.state()).toEqual(a.state());
    const ra = valueAndGrad(a, [0.4, 0.9]);
    const rb = valueAndGrad(b, [0.4, 0.9]);
    expect(rb).toEqual(ra);
    expect(b.currentWeights()).toEqual(a.currentWeights());
    a.dispose?.();
    b.dispose?.();
    x.dispose();
  });
});

describe('memory', () => {
  it('keeps the live tensor count flat over 50 combineLosses calls (tidy and tape); dispose frees all', () => {
    const cls = [task('a', 'binary', ['accuracy', 'mse']), task('b')];
    const base = tf.memory().numTensors;
    for (const definition of [lossRatio, accuracyWeighting, uncertainty, dwa, rlw, gls, famo, imtlL]) {
      const strategy = make(definition, {}, cls);
      const x = tf.tidy(() => tf.variable(tf.tensor1d([0.5, -0.5]), true, `test/memory/${definition.name}`));
      const ctx = context(cls);
      const counts: number[] = [];
      for (let i = 0; i < 50; i++) {
        const losses = (): tf.Scalar[] => [tf.add(tf.square(x.gather(0)), 0.1), tf.add(tf.abs(x.gather(1)), 0.2)];
        const combine = combineLossesOf(strategy);
        if (i % 2 === 0) {
          tf.tidy(() => {
            combine(losses(), { ...ctx, step: i });
          });
        } else {
          const { value, grads } = tf.variableGrads(
            () => combine(losses(), { ...ctx, step: i }),
            [x, ...(strategy.variables?.() ?? [])],
          );
          value.dispose();
          Object.values(grads).forEach((g) => g.dispose());
        }
        if (i % 10 === 9)
          strategy.onEpochEnd?.(summary(i, [1 / (i + 1), 2 / (i + 2)], { 'a/accuracy': 0.5 + i / 200 }));
        strategy.currentWeights();
        counts.push(tf.memory().numTensors);
      }
      expect(counts[49], definition.name).toBe(counts[1]);
      strategy.dispose?.();
      x.dispose();
      expect(tf.memory().numTensors, `${definition.name} after dispose`).toBe(base);
    }
  });
});

describe('short trainings on a synthetic two-task regression table', () => {
  let dir = '';
  beforeAll(() => {
    dir = tempDir('mtl-weighting-');
    writeSyntheticCsv(dir, 'data.csv', {
      seed: 21,
      rows: 240,
      header: ['x1', 'x2', 'x3', 'x4', 'y1', 'y2'],
      row: (rng) => {
        const [a, b, c, d] = [rng.normal(), rng.normal(), rng.normal(), rng.normal()];
        return [a, b, c, d, 2 * a - b + 0.1 * rng.normal(), 10 * (c + 0.5 * d * a) + rng.normal()];
      },
    });
  });

  const methods: [string, string][] = [
    ['loss-ratio', '{ name: loss-ratio }'],
    ['accuracy', '{ name: accuracy, metric: r2 }'],
    ['uncertainty', '{ name: uncertainty }'],
    ['dwa', '{ name: dwa }'],
    ['rlw', '{ name: rlw }'],
    ['gls', '{ name: gls }'],
    ['famo', '{ name: famo }'],
    ['imtl-l', '{ name: imtl-l }'],
  ];
  it.each(methods)('%s trains without NaN and lowers the loss', async (name, strategy) => {
    const yaml = `name: w-${name}
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
training:
  lr: 0.01
  batch_size: 32
  epochs: 5
strategy: ${strategy}
`;
    const file = writeFile(dir, `${name}.yaml`, yaml);
    const counts: number[] = [];
    const result = await trainExperiment(parseConfigText(yaml, { file }), {
      runsDir: path.join(dir, 'runs'),
      listeners: [{ onEpochEnd: () => void counts.push(tf.memory().numTensors) }],
    });
    expect(result.status).toBe('completed');
    expect(counts[4]).toBe(counts[1]); // no tensor kept per step or epoch
    const rows = readFileSync(path.join(result.dir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { epoch: number; split: string; metrics: Record<string, number> });
    const train = rows.filter((r) => r.split === 'train');
    expect(train).toHaveLength(5);
    const mean = (r: { metrics: Record<string, number> }): number =>
      ((r.metrics['a/loss'] as number) + (r.metrics['b/loss'] as number)) / 2;
    for (const r of train) expect(Number.isFinite(mean(r))).toBe(true);
    expect(mean(train[4]!)).toBeLessThan(mean(train[0]!));
    const epochs = readFileSync(path.join(result.dir, 'epochs.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { taskWeights: Record<string, number> });
    for (const e of epochs) expect(Object.values(e.taskWeights).every(Number.isFinite)).toBe(true);
    if (name === 'dwa') {
      expect(epochs[0]?.taskWeights).toEqual({ a: 1, b: 1 });
      expect(epochs[3]?.taskWeights['a']).not.toBe(1);
    }
    for (const v of Object.values(result.test)) expect(Number.isNaN(v)).toBe(false);
    // Learned strategy state is saved with the checkpoint and has moved from its start.
    const stored = JSON.parse(readFileSync(path.join(result.dir, 'checkpoints', 'last', 'model.json'), 'utf8')) as {
      userDefinedMetadata: { strategyState: Record<string, unknown> };
    };
    const state = stored.userDefinedMetadata.strategyState;
    if (name === 'uncertainty')
      expect(Object.values(state['log_var'] as Record<string, number>).every((s) => s !== 0)).toBe(true);
    if (name === 'imtl-l')
      expect(Object.values(state['scale'] as Record<string, number>).every((s) => s !== 0)).toBe(true);
    if (name === 'famo') expect((state['logits'] as number[]).every((s) => s !== 0)).toBe(true);
  });
});
