/**
 * DB-MTL, ExcessMTL, SDMGrad, MoDo (gradient combiners) and STCH (loss weighting): one or two steps on small fixed
 * gradients and losses against numbers worked out from each file's formula, state round trips, and the refusals.
 */
import { tf } from '../src/tf.js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TaskConfig } from '../src/config/types.js';
import { combineGradients, getGradientCombiner, schemaDefaults } from '../src/strategies/gradient/registry.js';
import type { GradientCombiner } from '../src/strategies/gradient/types.js';
import type { LossWeightingStrategy, StrategyContext } from '../src/strategies/types.js';
import { stch } from '../src/strategies/weighting/stch.js';
import { createRng } from '../src/util/rng.js';
import { parseConfigText } from '../src/config/load.js';
import { TWO_DIGIT_TASKS } from './helpers/configs.js';
import { configProblems, expectClose, usageError } from './helpers/expect.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const f32 = (rows: number[][]): Float32Array[] => rows.map((row) => Float32Array.from(row));

/** A combiner with the schema defaults and the given options. */
function combiner(method: string, options: Record<string, unknown> = {}, taskCount = 2): GradientCombiner {
  const definition = getGradientCombiner(method);
  return definition.create({ ...schemaDefaults(definition.optionsSchema), ...options }, 0, taskCount);
}

describe('db-mtl', () => {
  const steps = [
    {
      grads: [
        [1, 0],
        [0, 2],
      ],
      losses: [0.5, 2],
    },
    {
      grads: [
        [0, 1],
        [3, 0],
      ],
      losses: [1, 1],
    },
  ];

  it('balances the EMAs of the log-loss gradients to the largest norm (β = 0.9, σ = 0)', () => {
    const method = combiner('db-mtl');
    // Step 1: ∇log L = g/L = (2, 0), (0, 1); EMA from 0: ĝ = 0.1·that = (0.2, 0), (0, 0.1); α = (1, 2).
    const first = method.combine({ grads: f32(steps[0]!.grads), losses: steps[0]!.losses });
    expectClose(first.combined, [0.2, 0.2]);
    expect(first.weights).toBeUndefined();
    expectClose(first.taskScales ?? [], [2, 0.5]);
    // Step 2: ĝ = 0.9·ĝ + 0.1·(0, 1) = (0.18, 0.1) and 0.9·ĝ + 0.1·(3, 0) = (0.3, 0.09);
    // ‖ĝ‖ = (√0.0424, √0.0981), α = (√0.0981/√0.0424, 1) = (1.521078, 1).
    const second = method.combine({ grads: f32(steps[1]!.grads), losses: steps[1]!.losses });
    expectClose(second.combined, [0.573794, 0.242108]);
    expectClose(second.taskScales ?? [], [1, 1]);
  });

  it('decays the EMA factor as β / k^σ', () => {
    const method = combiner('db-mtl', { beta_sigma: 1 });
    method.combine({ grads: f32(steps[0]!.grads), losses: steps[0]!.losses });
    // Step 2, β₂ = 0.45: ĝ = (0.09, 0.55), (1.65, 0.045); α = (2.961725, 1).
    expectClose(
      method.combine({ grads: f32(steps[1]!.grads), losses: steps[1]!.losses }).combined,
      [1.916555, 1.673948],
    );
  });

  it('resumes exactly from its state; refuses a step without losses and a state of another size', () => {
    const a = combiner('db-mtl');
    a.combine({ grads: f32(steps[0]!.grads), losses: steps[0]!.losses });
    const b = combiner('db-mtl');
    b.restore(JSON.parse(JSON.stringify(a.state())));
    const next = { grads: f32(steps[1]!.grads), losses: steps[1]!.losses };
    expect(Array.from(b.combine(next).combined)).toEqual(Array.from(a.combine(next).combined));
    expect(usageError(() => combineGradients('db-mtl', steps[0]!.grads)).message).toMatch(/needs the task losses/);
    const c = combiner('db-mtl');
    c.restore({
      step: 1,
      ema: [
        [1, 2, 3],
        [4, 5, 6],
      ],
    });
    expect(usageError(() => c.combine(next)).message).toMatch(/does not match/);
  });
});

describe('excess-mtl', () => {
  it('records the first excess-risk estimates, then raises weights multiplicatively by e_i / e_i⁰', () => {
    const method = combiner('excess-mtl', { robust_step_size: 1 });
    // Step 1: S = (1, 0), (0, 4); e = (1/√1, 4/√4) = (1, 2) recorded as e⁰; w stays (1, 1).
    const first = method.combine({
      grads: f32([
        [1, 0],
        [0, 2],
      ]),
    });
    expectClose(first.combined, [1, 2]);
    expectClose(first.weights ?? [], [1, 1]);
    // Step 2: S = (2, 0), (0, 5); e = (1/√2, 1/√5); r = e/e⁰ = (0.707107, 0.223607);
    // w ∝ (e^0.707107, e^0.223607) = (2.028115, 1.250566), summing to 2: (1.237148, 0.762852).
    const second = method.combine({
      grads: f32([
        [1, 0],
        [0, 1],
      ]),
    });
    expectClose(second.weights ?? [], [1.237148, 0.762852]);
    expectClose(second.taskScales ?? [], [1.237148, 0.762852]);
    expectClose(second.combined, [1.237148, 0.762852]);
  });

  it('resumes exactly from its state', () => {
    const a = combiner('excess-mtl');
    a.combine({
      grads: f32([
        [1, -2, 0.5],
        [0.3, 1, -1],
      ]),
    });
    a.combine({
      grads: f32([
        [0.2, 1, 1],
        [1, 0, 2],
      ]),
    });
    const b = combiner('excess-mtl');
    b.restore(JSON.parse(JSON.stringify(a.state())));
    const next = {
      grads: f32([
        [2, 0, -1],
        [0.5, 0.5, 0.5],
      ]),
    };
    expect(b.combine(next)).toEqual(a.combine(next));
  });
});

describe('sdmgrad', () => {
  // ζ (the update sample), ξ and ξ' (the two samples of the weights' problem).
  const zeta = [
    [1, 1],
    [-1, 2],
  ];
  const xi = [
    [1, 0],
    [0, 1],
  ];
  const xiPrime = [
    [2, 0],
    [1, 1],
  ];

  it('solves for w on ξ·ξ′ and combines ζ (independent samples; λ = 0.3, one iteration at lr 0.5)', () => {
    // A = [[2, 1], [0, 1]] / s², s = (√2 + 1)/2; b = row means of A; u = A w + λ b at w = (½, ½);
    // w = Π(w − 0.5 u) = (0.276955, 0.723045); weights (w + λ/2)/(1 + λ) = (0.328427, 0.671573).
    const result = combineGradients('sdmgrad', zeta, { niter: 1, lr: 0.5, extraSamples: [xi, xiPrime] });
    expectClose(result.weights ?? [], [0.328427, 0.671573]);
    expectClose(result.combined, [-0.343146, 1.671573]);
  });

  it('single-batch: one sample in every role; momentum from the second iteration', () => {
    const g = [
      [1, 0],
      [0, 2],
    ];
    // A = diag(1, 4)/2.25. One iteration at lr 5 overshoots to a vertex: w = (1, 0).
    expectClose(combineGradients('sdmgrad', g, { niter: 1, sampling: 'single-batch' }).combined, [0.884615, 0.230769]);
    // Two iterations at lr 0.5, the second with the buffer 0.5·u₁ + u₂: w = (0.921296, 0.078704).
    const two = combineGradients('sdmgrad', g, { niter: 2, lr: 0.5, sampling: 'single-batch' });
    expectClose(two.weights ?? [], [0.824074, 0.175926]);
  });

  it('warm-starts w across steps and resumes from its state', () => {
    const samples = { grads: f32(zeta), extraSamples: [f32(xi), f32(xiPrime)] };
    const a = combiner('sdmgrad');
    expect(a.independentSamples).toBe(3);
    a.combine(samples);
    const b = combiner('sdmgrad');
    b.restore(JSON.parse(JSON.stringify(a.state())));
    expect(b.combine(samples)).toEqual(a.combine(samples));
    expect(combiner('sdmgrad', { sampling: 'single-batch' }).independentSamples).toBe(1);
  });

  it('refuses a library call without the extra samples, naming the alternative', () => {
    expect(usageError(() => combineGradients('sdmgrad', zeta)).message).toMatch(
      /needs 2 extra sample\(s\) of 2 task gradients .*single-batch/,
    );
    expect(usageError(() => combineGradients('modo', zeta, { extraSamples: [xi, [[1, 2]]] })).message).toMatch(
      /extraSamples/,
    );
  });
});

describe('modo', () => {
  const z1 = [
    [1, 0],
    [0, 1],
  ];
  const z2 = [
    [2, 0],
    [1, 1],
  ];
  const z3 = [
    [1, 1],
    [-1, 2],
  ];

  it('takes one projected step on λ with z₁, z₂ and combines z₃ with the new λ', () => {
    // G₁ᵀG₂λ at λ = (½, ½): (1.5, 0.5); λ − 0.1·(that + 0.1λ) = (0.345, 0.445) → Π = (0.45, 0.55);
    // d = 0.45·(1, 1) + 0.55·(−1, 2) = (−0.1, 1.55). Next step from λ = (0.45, 0.55): (0.4055, 0.5945).
    const method = combiner('modo', { gamma: 0.1, rho: 0.1 });
    const input = { grads: f32(z3), extraSamples: [f32(z1), f32(z2)] };
    const first = method.combine(input);
    expectClose(first.weights ?? [], [0.45, 0.55]);
    expectClose(first.combined, [-0.1, 1.55]);
    const restored = combiner('modo', { gamma: 0.1, rho: 0.1 });
    restored.restore(JSON.parse(JSON.stringify(method.state())));
    const second = restored.combine(input);
    expectClose(second.weights ?? [], [0.4055, 0.5945]);
    expect(second).toEqual(method.combine(input));
  });

  it('single-batch uses the one sample thrice', () => {
    // G = z₃ in all roles: GᵀG = [[2, 1], [1, 5]], GᵀGλ = (1.5, 3) at λ = (½, ½); λ − 0.1·(that + 0.1λ) =
    // (0.345, 0.195) → Π = (0.575, 0.425).
    const result = combineGradients('modo', z3, { gamma: 0.1, rho: 0.1, sampling: 'single-batch' });
    expectClose(result.weights ?? [], [0.575, 0.425]);
  });
});

describe('refusals in validation', () => {
  it('refuses representation gradients for the four combiners, with the reason', () => {
    for (const name of ['db-mtl', 'excess-mtl', 'sdmgrad', 'modo']) {
      const [problem] = configProblems(`${TWO_DIGIT_TASKS}strategy: { name: ${name}, grad_target: representation }\n`);
      expect(problem, name).toMatch(new RegExp(`strategy\\.grad_target: "${name}" cannot run on representation`));
      expect(problem, name).toMatch(/use grad_target: params/);
    }
  });
});

describe('stch', () => {
  const task = (name: string): TaskConfig => ({
    name,
    type: 'regression',
    targets: [name],
    loss: 'mse',
    metrics: ['mse'],
    weight: 1,
  });
  const tasks = [task('a'), task('b')];
  const make = (options: Record<string, unknown>): LossWeightingStrategy => {
    const strategy = stch.create({ name: 'stch', mu: 1, warmup_epochs: 4, ...options }, { tasks, seed: 1 });
    if (strategy.needs !== 'losses') throw new Error('stch weights losses');
    return strategy;
  };
  const at = (epoch: number): StrategyContext => ({ tasks, epoch, step: 0, rng: createRng(1) });
  function valueAndGrad(strategy: LossWeightingStrategy, values: number[], epoch: number) {
    const xs = values.map((v) => tf.scalar(v));
    const { value, grads } = tf.valueAndGrads((...ls: tf.Tensor[]) =>
      strategy.combineLosses(ls as tf.Scalar[], at(epoch)),
    )(xs);
    const out = { value: value.dataSync()[0]!, grad: grads.map((g) => g.dataSync()[0]!) };
    tf.dispose([value, ...grads, ...xs]);
    return out;
  }

  it('trains on Σ log L_i during the warm-up, records the nadir in epoch W, then smooth Tchebycheff', () => {
    const s = make({ warmup_epochs: 1 });
    const warm = valueAndGrad(s, [1, 4], 0);
    expect(warm.value).toBeCloseTo(Math.log(4), 5);
    expectClose(warm.grad, [1, 0.25]);
    expect(s.state()).toEqual({ sum: null, count: 0, nadir: null });
    // Epoch W = 1 records the nadir n = mean of (1, 4) and (3, 2) = (2, 3).
    valueAndGrad(s, [1, 4], 1);
    valueAndGrad(s, [3, 2], 1);
    expect(s.state()).toEqual({ sum: [4, 6], count: 2, nadir: null });
    // Epoch 2, L = (1, 6): log(L/n) = (−ln 2, ln 2); softmax = (0.2, 0.8); value 2·log(1 + e^{−2 ln 2}) with the
    // largest term taken out = 2·ln 1.25; ∂/∂L_i = 2·softmax_i / L_i = (0.4, 0.266667).
    const tch = valueAndGrad(s, [1, 6], 2);
    expect(tch.value).toBeCloseTo(2 * Math.log(1.25), 5);
    expectClose(tch.grad, [0.4, 0.266667]);
    expectClose(s.currentWeights(), [0.4, 0.266667]);
    expect(s.state()).toMatchObject({ nadir: [2, 3] });
    s.dispose?.();
  });

  it('μ sharpens the weights towards the worst task; the state round-trips', () => {
    const s = make({ mu: 0.5, warmup_epochs: 0 });
    valueAndGrad(s, [2, 3], 0);
    // softmax((−ln 2, ln 2)/0.5) = (1/17, 16/17); ∂/∂L_i = 2·that / L_i.
    expectClose(valueAndGrad(s, [1, 6], 1).grad, [2 / 17, 32 / 17 / 6]);
    const t = make({ mu: 0.5, warmup_epochs: 0 });
    t.restore(JSON.parse(JSON.stringify(s.state())));
    expect(valueAndGrad(t, [0.5, 2], 3)).toEqual(valueAndGrad(s, [0.5, 2], 3));
    s.dispose?.();
    t.dispose?.();
  });

  it('a run too short to leave the warm-up gets a note (it trained silently as log-loss weighting)', () => {
    const config = (epochs: number, warmup = ''): string =>
      `${TWO_DIGIT_TASKS}training: { epochs: ${epochs} }\nstrategy: { name: stch${warmup} }\n`;
    // W = 4: epochs 1–4 warm up, epoch 5 records the nadir, STCH from epoch 6.
    expect(parseConfigText(config(5)).notes).toEqual([
      expect.stringMatching(
        /strategy\.warmup_epochs: with training\.epochs 5 every epoch is warm-up .* it starts at epoch 6\. /,
      ),
    ]);
    expect(parseConfigText(config(6)).notes).toBeUndefined();
    expect(parseConfigText(config(2, ', warmup_epochs: 0')).notes).toBeUndefined();
  });

  it('holds no tensors beyond its state: none leak per step', () => {
    const s = make({ warmup_epochs: 0 });
    valueAndGrad(s, [2, 3], 0);
    valueAndGrad(s, [2, 3], 1);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) valueAndGrad(s, [1, 2], 1);
    expect(tf.memory().numTensors).toBe(before);
    s.dispose?.();
  });
});
