import { tf } from '../src/tf.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../src/api/build.js';
import { parseConfigText } from '../src/config/load.js';
import type { ResolvedConfig } from '../src/config/types.js';
import type { PreparedData } from '../src/data/prepare.js';
import { gradientCombiners, schemaDefaults } from '../src/strategies/gradient/registry.js';
import type { CombineInput } from '../src/strategies/gradient/types.js';
import { strategyRegistry } from '../src/strategies/registry.js';
import type { GradientStrategy, LossWeightingStrategy, StrategyDefinition } from '../src/strategies/types.js';
import { trainingStep, type Batch } from '../src/train/step.js';
import { createRng } from '../src/util/rng.js';
import { eightRowStepData } from './helpers/step.js';
import { tempDir } from './helpers.js';
import { TWO_DIGIT_TASKS } from './helpers/configs.js';
import { configProblems } from './helpers/expect.js';

const base = TWO_DIGIT_TASKS;

const problems = (text: string): string[] => configProblems(text);

/** The options a config would get: the schema defaults of the definition's options. */
function defaults(definition: StrategyDefinition): Record<string, unknown> {
  return { name: definition.name, ...schemaDefaults({ properties: definition.optionsSchema }) };
}

describe('what a strategy needs is known from its definition', () => {
  it(
    'loss weighting needs losses; a gradient method the target its grad_target names, on auto the target of its ' +
      'paper where the architecture has a shared representation, else the parameters',
    () => {
      for (const definition of strategyRegistry.values()) {
        const options = defaults(definition);
        if (definition.family === 'loss-weighting') {
          expect(definition.needs(options, { hasSharedRepresentation: true }), definition.name).toBe('losses');
          continue;
        }
        const needs = (target: string, hasSharedRepresentation: boolean): string =>
          definition.needs({ ...options, grad_target: target }, { hasSharedRepresentation });
        expect(needs('params', true), definition.name).toBe('parameter-gradients');
        expect(needs('representation', false), definition.name).toBe('representation-gradients');
        // The full IMTL runs its gradient half, IMTL-G, on IMTL-G's target.
        const combiner = definition.name === 'imtl' ? 'imtl-g' : definition.name;
        const { paper, other } = gradientCombiners.get(combiner)!.gradTarget;
        expect(needs('auto', true), definition.name).toBe(
          paper === 'representation' ? 'representation-gradients' : 'parameter-gradients',
        );
        // A method that refuses parameter gradients (GradDrop) stays on the representation; validation refuses it.
        const onlyRepresentation = paper === 'representation' && other === 'refused';
        expect(needs('auto', false), definition.name).toBe(
          onlyRepresentation ? 'representation-gradients' : 'parameter-gradients',
        );
      }
    },
  );

  it('the strategy a definition creates needs what the definition said', () => {
    const tasks = parseConfigText(base).config.tasks;
    for (const definition of strategyRegistry.values()) {
      for (const hasSharedRepresentation of [true, false]) {
        const options = defaults(definition);
        // Representation only, without one: refused at creation (test/graddrop-paper.test.ts).
        const needs = definition.needs(options, { hasSharedRepresentation });
        if (!hasSharedRepresentation && needs === 'representation-gradients') continue;
        const strategy = definition.create(options, { tasks, seed: 1, hasSharedRepresentation });
        expect(strategy.needs, definition.name).toBe(needs);
        strategy.dispose?.();
        for (const variable of strategy.variables?.() ?? []) variable.dispose();
      }
    }
  });
});

describe('validation asks the definition and never creates a strategy', () => {
  it('validating a config calls no strategy create (which may create TF variables)', () => {
    const created: string[] = [];
    const originals = new Map([...strategyRegistry.values()].map((definition) => [definition, definition.create]));
    for (const [definition, create] of originals) {
      definition.create = (options, context) => {
        created.push(definition.name);
        return create(options, context);
      };
    }
    try {
      for (const name of ['uncertainty', 'famo', 'accuracy', 'static', 'pcgrad', 'weighted-average', 'mtadam']) {
        // MTAdam refuses an Adam optimizer on top of its own Adam-normalised step.
        const training = name === 'mtadam' ? 'training: { optimizer: sgd }\n' : '';
        parseConfigText(`${base}${training}strategy: { name: ${name} }\n`);
        // Without a shared representation (soft sharing, which shares no parameters, refuses gradient methods).
        parseConfigText(`${base}${training}model: { architecture: cross-stitch }\nstrategy: { name: ${name} }\n`);
      }
    } finally {
      for (const [definition, create] of originals) definition.create = create;
    }
    expect(created).toEqual([]);
  });

  it('reports option problems the schema cannot see, at the option, with its line', () => {
    expect(problems(`${base}strategy:\n  name: accuracy\n  metric: mae\n`)).toEqual([
      'exp.yaml:11:11: strategy.metric: metric "mae" is lower-is-better; pick one where higher is better (accuracy, ' +
        'macro-f1, auc, r2).',
    ]);
    expect(problems(`${base}strategy:\n  name: accuracy\n  metric: r2\n`)[0]).toMatch(
      new RegExp(
        String.raw`^exp\.yaml:11:11: strategy\.metric: no task reports metric "r2", so every weight would ` +
          'stay equal; .*tasks report: accuracy, macro-f1, log-loss',
      ),
    );
    expect(problems(`${base}strategy:\n  name: static\n  weights: { left: 2, rigth: 1 }\n`)).toEqual([
      'exp.yaml:11:23: strategy.weights.rigth: no task is named "rigth"; did you mean "right"? Tasks: left, right.',
    ]);
    expect(problems(`${base}strategy:\n  name: weighted-average\n  weights: [1, 2, 3]\n`)).toEqual([
      'exp.yaml:11:12: strategy.weights: expected a list of 2 numbers (one per task) ≥ 0, or null, got [1,2,3]',
    ]);
    expect(problems(`${base}training: { optimizer: sgd }\nstrategy:\n  name: mtadam\n  ranks: [1]\n`)).toEqual([
      'exp.yaml:12:10: strategy.ranks: expected a list of 2 numbers (one per task) > 0, or null, got [1]',
    ]);
  });
});

describe('trainingStep: the one dispatch on what a strategy needs', () => {
  const dir = tempDir();
  let config: ResolvedConfig;
  let data: PreparedData;
  beforeAll(async () => {
    ({ config, data } = await eightRowStepData(dir));
  }, 60_000);

  /** One step of `strategy` on the whole (8-row) training split; returns the gradient names and the losses. */
  function step(strategy: LossWeightingStrategy | GradientStrategy): {
    names: string[];
    trainable: string[];
    losses: number[];
    cosines: boolean;
  } {
    const model = buildModel(config, data.preprocessing);
    const train = data.splits.train;
    const batch: Batch = {
      x: tf.tensor2d(train.x, [train.rows, data.preprocessing.inputSize]),
      targets: Object.fromEntries(
        config.tasks.map((t) => [t.name, tf.tensor2d(train.targets[t.name] as Float32Array, [train.rows, 1])]),
      ),
    };
    const trainable = [...model.sharedVariables, ...config.tasks.flatMap((t) => model.taskVariables[t.name] ?? [])];
    const result = trainingStep(model, strategy, batch, config.tasks, trainable, {
      tasks: config.tasks,
      epoch: 0,
      step: 0,
      rng: createRng(1),
    });
    const out = {
      names: Object.keys(result.gradients).sort(),
      trainable: trainable.map((v) => v.name).sort(),
      losses: Array.from(result.taskLosses.dataSync()),
      cosines: result.cosines !== undefined,
    };
    tf.dispose([...Object.values(result.gradients), result.taskLosses, batch.x, ...Object.values(batch.targets)]);
    model.dispose();
    return out;
  }

  const common = { currentWeights: () => [1, 1], state: () => null, restore: () => undefined };

  function recordingCombiner(): {
    calls: CombineInput[];
    strategy: (needs: GradientStrategy['needs']) => GradientStrategy;
  } {
    const calls: CombineInput[] = [];
    return {
      calls,
      strategy: (needs) => ({
        name: 'recording',
        needs,
        combiner: {
          combine(input) {
            calls.push(input);
            return { combined: input.grads[0]! };
          },
          state: () => null,
          restore: () => undefined,
        },
        ...common,
      }),
    };
  }

  it('losses: the strategy combines the T loss tensors once, and every trainable variable gets a gradient', () => {
    const seen: number[] = [];
    const strategy: LossWeightingStrategy = {
      name: 'recording',
      needs: 'losses',
      combineLosses(losses) {
        seen.push(losses.length);
        return tf.addN(losses);
      },
      ...common,
    };
    const result = step(strategy);
    expect(seen).toEqual([2]);
    expect(result.names).toEqual(result.trainable);
    expect(result.names).toHaveLength(10); // shared kernel and bias; per task a hidden and an output layer
    expect(result.losses).toHaveLength(2);
    expect(result.cosines).toBe(false);
  });

  it('parameter gradients: the combiner gets T gradients of the shared parameters, with their tensor sizes', () => {
    const { calls, strategy } = recordingCombiner();
    const result = step(strategy('parameter-gradients'));
    expect(calls).toHaveLength(1);
    const input = calls[0]!;
    // shared/0: kernel 3×4 and bias 4 (model order: kernel, bias).
    expect(input.segments).toEqual([12, 4]);
    expect(input.grads.map((g) => g.length)).toEqual([16, 16]);
    expect(input.losses).toHaveLength(2);
    expect(result.names).toEqual(result.trainable);
    expect(result.names).toHaveLength(10); // shared kernel and bias; per task a hidden and an output layer
    expect(result.cosines).toBe(true);
  });

  it('representation gradients: the combiner gets T gradients of the 8×4 representation, no segments', () => {
    const { calls, strategy } = recordingCombiner();
    const result = step(strategy('representation-gradients'));
    expect(calls).toHaveLength(1);
    const input = calls[0]!;
    expect(input.segments).toBeUndefined();
    expect(input.grads.map((g) => g.length)).toEqual([32, 32]);
    expect(result.names).toEqual(result.trainable);
    expect(result.names).toHaveLength(10); // shared kernel and bias; per task a hidden and an output layer
    expect(result.cosines).toBe(true);
  });
});
