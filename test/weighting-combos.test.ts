import { tf } from '../src/tf.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../src/api/build.js';
import { parseConfigText } from '../src/config/load.js';
import type { ResolvedConfig, TaskConfig } from '../src/config/types.js';
import type { PreparedData } from '../src/data/prepare.js';
import { combineGradients, schemaDefaults } from '../src/strategies/gradient/registry.js';
import { strategyRegistry } from '../src/strategies/registry.js';
import type { GradientStrategy, Strategy, StrategyContext } from '../src/strategies/types.js';
import { dwaWeights } from '../src/strategies/weighting/dwa.js';
import { taskLoss } from '../src/train/losses.js';
import { trainingStep, type Batch } from '../src/train/step.js';
import { createRng } from '../src/util/rng.js';
import { eightRowStepData } from './helpers/step.js';
import { tempDir } from './helpers.js';
import { TWO_DIGIT_TASKS } from './helpers/configs.js';
import { configProblems, expectClose, usageError } from './helpers/expect.js';

const regression = (name: string): TaskConfig => ({
  name,
  type: 'regression',
  targets: [name],
  loss: 'mse',
  metrics: ['mse'],
  weight: 1,
});
const twoTasks = [regression('a'), regression('b')];
const context: StrategyContext = { tasks: twoTasks, epoch: 0, step: 0, rng: createRng(1) };

/** A strategy from the registry with the schema's defaults under the given options (as a config would give). */
function create(name: string, options: Record<string, unknown> = {}, tasks = twoTasks): Strategy {
  const definition = strategyRegistry.lookup(name);
  const defaults = schemaDefaults({ properties: definition.optionsSchema });
  return definition.create({ name, ...defaults, ...options }, { tasks, seed: 1, hasSharedRepresentation: true });
}

function gradientStrategy(strategy: Strategy): GradientStrategy & Required<Pick<GradientStrategy, 'lossScaling'>> {
  if (strategy.needs === 'losses' || !strategy.lossScaling) throw new Error(`${strategy.name} has no loss scaling`);
  return { ...strategy, lossScaling: strategy.lossScaling };
}

/** One step of the numerics: scales from the losses, the task gradients scaled, then the combiner. */
function numericStep(
  strategy: Strategy,
  losses: number[],
  grads: number[][],
  stepContext: StrategyContext = context,
): { scales: number[]; own: Record<string, number>; combined: number[] } {
  const s = gradientStrategy(strategy);
  const { scales, gradients } = s.lossScaling.scale(losses, stepContext);
  const own = Object.fromEntries(Object.entries(gradients).map(([name, g]) => [name, g.dataSync()[0]!]));
  tf.dispose(Object.values(gradients));
  const scaled = grads.map((g, i) => Float32Array.from(g, (v) => v * scales[i]!));
  const { combined } = s.combiner.combine({ grads: scaled, losses });
  return { scales, own, combined: Array.from(combined) };
}

describe('weighted-average with weights_from: g = Σ c_i g_i, c from any loss-weighting method', () => {
  it('static weights: c = the weights, not renormalised', () => {
    const strategy = create('weighted-average', { weights_from: { name: 'static', weights: { a: 2, b: 0.5 } } });
    const step = numericStep(
      strategy,
      [0.3, 0.7],
      [
        [1, 0],
        [-2, 2],
      ],
    );
    expect(step.scales).toEqual([2, 0.5]);
    expectClose(step.combined, [2 - 1, 1]); // 2·(1, 0) + 0.5·(−2, 2)
    expect(strategy.currentWeights()).toEqual([2, 0.5]);
  });

  it('dwa after two known epochs: its softmax weights (hand-computed)', () => {
    const strategy = create('weighted-average', { weights_from: { name: 'dwa', temperature: 2 } });
    const epoch = (trainLosses: number[], e: number) =>
      strategy.onEpochEnd?.({ epoch: e, trainLosses, validation: {} });
    epoch([1, 1], 0);
    epoch([0.5, 1], 1);
    // r = (0.5, 1), w_i = 2·e^{r_i/2} / (e^{0.25} + e^{0.5}).
    const total = Math.exp(0.25) + Math.exp(0.5);
    const expected = [(2 * Math.exp(0.25)) / total, (2 * Math.exp(0.5)) / total];
    expect(expected[0]).toBeCloseTo(0.87565, 4);
    const step = numericStep(
      strategy,
      [0.4, 0.9],
      [
        [1, 0],
        [0, 1],
      ],
    );
    expectClose(step.scales, expected, 6);
    expectClose(step.combined, expected, 6);
    expectClose(dwaWeights([1, 1], [0.5, 1], 2), expected, 12);
  });

  it('uncertainty: c = ½e^{−s}, and the log-variances get ½(1 − e^{−s}L) as when it runs alone', () => {
    const strategy = create('weighted-average', { weights_from: { name: 'uncertainty', init: Math.log(2) } });
    const step = numericStep(
      strategy,
      [0.5, 3],
      [
        [1, 0],
        [0, 1],
      ],
    );
    expectClose(step.scales, [0.25, 0.25], 6);
    // ½(1 − L/2): L = 0.5 → 0.375, L = 3 → −0.25.
    expectClose(Object.values(step.own), [0.375, -0.25], 6);
    expect(Object.keys(step.own)).toEqual(['strategy/uncertainty/log_var_a', 'strategy/uncertainty/log_var_b']);
    expect(strategy.variables?.().map((v) => v.name)).toEqual(Object.keys(step.own));
    strategy.dispose?.();
  });

  it('every loss-weighting method: c = ∂F/∂L_i of the method running alone, at the same losses', () => {
    const losses = [0.4, 1.5];
    // RLW draws its weights from the step's generator: both runs get the same draws.
    const fresh = (): StrategyContext => ({ ...context, rng: createRng(4) });
    for (const definition of strategyRegistry.values()) {
      // accuracy has no weights before a validation; gradnorm is refused (next test).
      if (definition.family !== 'loss-weighting' || definition.name === 'accuracy' || definition.usesLastSharedLayer) {
        continue;
      }
      const alone = create(definition.name);
      if (alone.needs !== 'losses') throw new Error(definition.name);
      const leaves = losses.map((l) => tf.scalar(l));
      const expected = tf.tidy(() =>
        tf
          .grads((...xs: tf.Tensor[]) => alone.combineLosses(xs as tf.Scalar[], fresh()))(leaves)
          .map((g) => g.dataSync()[0]!),
      );
      tf.dispose(leaves);
      alone.dispose?.();
      const combo = create('weighted-average', { weights_from: { name: definition.name } });
      expectClose(numericStep(combo, losses, [[1], [1]], fresh()).scales, expected, 6);
      combo.dispose?.();
    }
  });

  it('resume: the inner method state round-trips (dwa history, learned log-variances)', () => {
    const first = create('weighted-average', { weights_from: { name: 'dwa' } });
    first.onEpochEnd?.({ epoch: 0, trainLosses: [1, 2], validation: {} });
    first.onEpochEnd?.({ epoch: 1, trainLosses: [0.8, 1], validation: {} });
    numericStep(first, [1, 1], [[1], [1]]);
    const saved = JSON.parse(JSON.stringify(first.state()));
    const resumed = create('weighted-average', { weights_from: { name: 'dwa' } });
    resumed.restore(saved);
    expect(resumed.currentWeights()).toEqual(first.currentWeights());
    first.onEpochEnd?.({ epoch: 2, trainLosses: [0.5, 0.9], validation: {} });
    resumed.onEpochEnd?.({ epoch: 2, trainLosses: [0.5, 0.9], validation: {} });
    expect(numericStep(resumed, [1, 1], [[1], [1]]).scales).toEqual(numericStep(first, [1, 1], [[1], [1]]).scales);

    const learned = create('weighted-average', { weights_from: { name: 'uncertainty' } });
    const [logVarA] = learned.variables?.() ?? [];
    logVarA?.assign(tf.scalar(0.7));
    const state = JSON.parse(JSON.stringify(learned.state()));
    learned.dispose?.();
    const back = create('weighted-average', { weights_from: { name: 'uncertainty' } });
    back.restore(state);
    expect((back.variables?.() ?? [])[0]?.dataSync()[0]).toBeCloseTo(0.7, 6);
    back.dispose?.();
    expect(() => back.restore({ inner: {}, gradient: null, weights: [1] })).toThrow(/does not match 2 tasks/);
  });

  it('config mistakes name the path under strategy.weights_from, with a did-you-mean', () => {
    const at = (strategy: string) => configProblems(`${TWO_DIGIT_TASKS}strategy: ${strategy}\n`);
    expect(at('{ name: weighted-average, weights_from: { name: dwaa } }')[0]).toMatch(
      /strategy\.weights_from\.name: "dwaa" is not allowed; did you mean "dwa"\? Expected one of: equal, static/,
    );
    expect(at('{ name: weighted-average, weights_from: { name: dwa, temprature: 2 } }')[0]).toMatch(
      /strategy\.weights_from\.temprature: unknown field "temprature"; did you mean "temperature"\?/,
    );
    expect(at('{ name: weighted-average, weights_from: { name: dwa, temperature: -1 } }')[0]).toMatch(
      /strategy\.weights_from\.temperature: /,
    );
    expect(at('{ name: weighted-average, weights_from: { name: static, weights: { lefft: 2 } } }')[0]).toMatch(
      /strategy\.weights_from\.weights\.lefft: no task is named "lefft"; did you mean "left"\?/,
    );
    expect(at('{ name: weighted-average, weights_from: { name: pcgrad } }')[0]).toMatch(
      /strategy\.weights_from\.name: "pcgrad" is not allowed/,
    );
    expect(at('{ name: weighted-average, weights_from: { temperature: 2 } }')[0]).toMatch(
      /strategy\.weights_from: missing required field "name"/,
    );
    expect(at('{ name: weighted-average, weights: [1, 2], weights_from: { name: dwa } }')[0]).toMatch(
      /strategy\.weights: give either weights or weights_from, not both/,
    );
    // Defaults are filled in for the inner method, as for a top-level strategy.
    const loaded = parseConfigText(
      `${TWO_DIGIT_TASKS}strategy: { name: weighted-average, weights_from: { name: dwa } }\n`,
    );
    expect(loaded.config.strategy['weights_from']).toEqual({ name: 'dwa', temperature: 2 });
  });

  it('famo inside keeps its update after the step; gradnorm (norms from its own step) is refused', () => {
    const strategy = create('weighted-average', { weights_from: { name: 'famo' } });
    const grads = [
      [1, 0],
      [0, 1],
    ];
    const first = numericStep(strategy, [1, 1], grads);
    expect(first.scales[0]).toBeCloseTo(first.scales[1]!, 6);
    const after = tf.tensor1d([0.5, 1]);
    strategy.learnFromLossesAfterStep?.(after);
    after.dispose();
    // Task a improved (Δ_a = ln 2 > Δ_b = 0), so FAMO moves weight to task b.
    const second = numericStep(strategy, [1, 1], grads);
    expect(second.scales[1]!).toBeGreaterThan(second.scales[0]! * 1.0001);
    const problems = configProblems(
      `${TWO_DIGIT_TASKS}strategy: { name: weighted-average, weights_from: { name: gradnorm } }\n`,
    );
    expect(problems[0]).toMatch(
      /strategy\.weights_from\.name: "gradnorm" learns its weights .* use strategy: gradnorm/,
    );
  });

  it('created without validation, the same mistakes are UsageErrors on the same paths', () => {
    expect(usageError(() => create('weighted-average', { weights_from: { name: 'uncertanty' } })).message).toMatch(
      /^strategy\.weights_from\.name: .*did you mean "uncertainty"\?/,
    );
    expect(
      usageError(() => create('weighted-average', { weights_from: { name: 'static', weights: { c: 1 } } })).message,
    ).toMatch(/^strategy\.weights_from\.weights\.c: no task is named "c"/);
    expect(
      usageError(() => create('weighted-average', { weights_from: { name: 'dwa', temperature: 'hot' } })).message,
    ).toMatch(/^strategy\.weights_from\.temperature: expected a number, got "hot"/);
  });
});

describe("imtl: the paper's IMTL, learned loss scales and IMTL-G on the scaled losses' gradients", () => {
  it('one step by hand: s = (0, ln 2), L = (0.5, 0.25), g1 = (1, 0), g2 = (−1, 1)', () => {
    const strategy = create('imtl');
    strategy.restore({
      inner: { scale: { a: 0, b: Math.LN2 } },
      gradient: { combiner: null, weights: [1, 1] },
      weights: null,
    });
    const step = numericStep(
      strategy,
      [0.5, 0.25],
      [
        [1, 0],
        [-1, 1],
      ],
    );
    // Scaled gradients g̃ = (1, 0), (−2, 2); IMTL-G: α ∝ (C⁻¹1)_i / ‖g̃_i‖ with C⁻¹1 ∝ (1, 1), ‖g̃‖ = (1, 2√2),
    // α = (2√2, 1) / (2√2 + 1); g = α1·(1, 0) + α2·(−2, 2) = (2√2 − 2, 2) / (2√2 + 1).
    const r = 2 * Math.SQRT2;
    expectClose(step.scales, [1, 2], 6);
    expectClose(step.combined, [(r - 2) / (r + 1), 2 / (r + 1)], 6);
    // Equal projections onto the unit scaled gradients: (1, 0) and (−1, 1)/√2.
    expect(step.combined[0]).toBeCloseTo((step.combined[1]! - step.combined[0]!) / Math.SQRT2, 6);
    // ∂(e^{s}L − s)/∂s = e^{s}·L − 1 = (−0.5, −0.5).
    expect(step.own).toEqual({ 'strategy/imtl/scale_a': -0.5, 'strategy/imtl/scale_b': expect.closeTo(-0.5, 6) });
    // The weights logged are those of the raw gradients: α_i·e^{s_i}.
    expectClose(strategy.currentWeights(), [r / (r + 1), 2 / (r + 1)], 6);
    strategy.dispose?.();
  });

  it('imtl-g is the gradient half alone (no scales, no variables); imtl-l the loss half alone', () => {
    const half = create('imtl-g');
    expect(half.needs !== 'losses' && half.lossScaling).toBeFalsy();
    expect(half.variables).toBeUndefined();
    expect(
      combineGradients('imtl-g', [
        [1, 0],
        [-2, 2],
      ]).combined[1],
    ).toBeCloseTo(2 / (2 * Math.SQRT2 + 1), 6);
    expect(usageError(() => combineGradients('imtl', [[1], [1]])).message).toMatch(/Unknown gradient method "imtl"/);
  });
});

describe('trainingStep with loss scaling', () => {
  const dir = tempDir();
  let config: ResolvedConfig;
  let data: PreparedData;
  beforeAll(async () => {
    ({ config, data } = await eightRowStepData(dir));
  }, 60_000);

  function batchOf(): Batch {
    const train = data.splits.train;
    return {
      x: tf.tensor2d(train.x, [train.rows, data.preprocessing.inputSize]),
      targets: Object.fromEntries(
        config.tasks.map((t) => [t.name, tf.tensor2d(train.targets[t.name] as Float32Array, [train.rows, 1])]),
      ),
    };
  }

  /** One trainingStep of `strategy` on a fresh model (same initial weights each time): gradients by name, losses. */
  function step(strategy: Strategy): { gradients: Record<string, number[]>; losses: number[] } {
    const model = buildModel(config, data.preprocessing);
    const batch = batchOf();
    const trainable = [
      ...model.sharedVariables,
      ...config.tasks.flatMap((t) => model.taskVariables[t.name] ?? []),
      ...(strategy.variables?.() ?? []),
    ];
    const result = trainingStep(model, strategy, batch, config.tasks, trainable, { ...context, tasks: config.tasks });
    const gradients = Object.fromEntries(
      Object.entries(result.gradients).map(([k, g]) => [k, Array.from(g.dataSync())]),
    );
    const losses = Array.from(result.taskLosses.dataSync());
    tf.dispose([...Object.values(result.gradients), result.taskLosses, batch.x, ...Object.values(batch.targets)]);
    model.dispose();
    return { gradients, losses };
  }

  /** Each task's raw gradients (all variables it reaches) on a fresh model, by a plain tape. */
  function taskGradients(): Record<string, number[]>[] {
    const model = buildModel(config, data.preprocessing);
    const batch = batchOf();
    const out = config.tasks.map((task) => {
      const variables = [...model.sharedVariables, ...(model.taskVariables[task.name] ?? [])];
      const { value, grads } = tf.variableGrads(() => {
        const { outputs } = model.forward(batch.x, true);
        return taskLoss(task.loss, outputs[task.name] as tf.Tensor2D, batch.targets[task.name] as tf.Tensor2D);
      }, variables);
      value.dispose();
      const values = Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, Array.from(g.dataSync())]));
      tf.dispose(Object.values(grads));
      return values;
    });
    tf.dispose([batch.x, ...Object.values(batch.targets)]);
    model.dispose();
    return out;
  }

  const expectAllClose = (got: Record<string, number[]>, want: Record<string, number[]>): void => {
    expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
    for (const [name, values] of Object.entries(want)) expectClose(got[name]!, values, 5);
  };

  for (const target of ['params', 'representation']) {
    it(`weighted-average from uncertainty on ${target}: the update uncertainty makes as loss weighting`, () => {
      const alone = create('uncertainty', { init: 0.4 });
      const expected = step(alone);
      alone.dispose?.();
      const combo = create('weighted-average', {
        grad_target: target,
        weights_from: { name: 'uncertainty', init: 0.4 },
      });
      const got = step(combo);
      combo.dispose?.();
      expectAllClose(got.gradients, expected.gradients);
    });
  }

  it('imtl on params: heads get e^{s_i}∇L_i, the trunk IMTL-G of the scaled gradients, s_i gets e^{s_i}L_i − 1', () => {
    const raw = taskGradients();
    const strategy = create('imtl', { grad_target: 'params' });
    strategy.restore({ inner: { scale: { a: 0.5, b: -0.25 } }, gradient: { combiner: null }, weights: null });
    const got = step(strategy);
    strategy.dispose?.();
    const scales = [Math.exp(0.5), Math.exp(-0.25)];
    const model = buildModel(config, data.preprocessing);
    const shared = model.sharedVariables.map((v) => v.name);
    const heads = config.tasks.map((t) => (model.taskVariables[t.name] ?? []).map((v) => v.name));
    model.dispose();
    const flat = raw.map((g, i) => shared.flatMap((name) => g[name]!.map((v) => v * scales[i]!)));
    const { combined } = combineGradients('imtl-g', flat);
    const want: Record<string, number[]> = {};
    let offset = 0;
    for (const name of shared) {
      want[name] = combined.slice(offset, offset + raw[0]![name]!.length);
      offset += raw[0]![name]!.length;
    }
    heads.forEach((names, i) => {
      for (const name of names) want[name] = raw[i]![name]!.map((v) => v * scales[i]!);
    });
    want['strategy/imtl/scale_a'] = [scales[0]! * got.losses[0]! - 1];
    want['strategy/imtl/scale_b'] = [scales[1]! * got.losses[1]! - 1];
    expectAllClose(got.gradients, want);
  });
});
