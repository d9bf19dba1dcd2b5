/**
 * The feature discriminator (issue #18; adversarial/discriminator.ts, feature-adversary.ts): its losses for known
 * logits, and the alternating steps — a discriminator step leaves every model variable bit-identical, a model step
 * (in each of the three step paths) leaves every discriminator variable bit-identical and adds w × ∂L_G to the shared
 * gradients only.
 */
import path from 'node:path';
import { tf } from '../src/tf.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { correctCount, discriminatorLoss, generatorLoss } from '../src/adversarial/discriminator.js';
import { flatFeatures } from '../src/adversarial/feature-adversary.js';
import { trainerAdversaries, type TrainerAdversaries } from '../src/adversarial/training.js';
import { buildModel } from '../src/api/build.js';
import { initBackend } from '../src/backend/select.js';
import { parseConfigText } from '../src/config/load.js';
import type { ResolvedConfig } from '../src/config/types.js';
import { type PreparedData, prepareData } from '../src/data/prepare.js';
import type { MultiTaskModel } from '../src/model/types.js';
import { getStrategy } from '../src/strategies/registry.js';
import { type Batch, trainingStep } from '../src/train/step.js';
import { createRng } from '../src/util/rng.js';
import { tempDir } from './helpers.js';
import { writeSyntheticCsv } from './helpers/csv.js';
import { bits, expectClose } from './helpers/expect.js';

const scalar = (t: tf.Scalar): number => {
  const value = t.dataSync()[0]!;
  t.dispose();
  return value;
};

describe('the GAN losses for known logits', () => {
  beforeAll(async () => {
    await initBackend('wasm', { fma: 'off' });
  }, 60_000);

  it('L_D = mean softplus(−l_real) + mean softplus(l_fake); L_G = mean softplus(−l_fake)', () => {
    // l = 0 on both sides: D = 1/2, L_D = 2 ln 2, L_G = ln 2.
    const zero = tf.tensor1d([0, 0]);
    expectClose([scalar(discriminatorLoss(zero, zero))], [2 * Math.LN2], 6);
    expectClose([scalar(generatorLoss(zero))], [Math.LN2], 6);
    // real [2, 0], fake [−1, 3]: ln(1 + e^−2) = 0.126928, ln 2 = 0.693147; ln(1 + e^−1) = 0.313262,
    // ln(1 + e^3) = 3.048587. L_D = (0.126928 + 0.693147)/2 + (0.313262 + 3.048587)/2 = 2.090962.
    // L_G = (ln(1 + e^1) + ln(1 + e^−3))/2 = (1.313262 + 0.048587)/2 = 0.680924.
    const real = tf.tensor1d([2, 0]);
    const fake = tf.tensor1d([-1, 3]);
    expectClose([scalar(discriminatorLoss(real, fake))], [2.090962], 5);
    expectClose([scalar(generatorLoss(fake))], [0.680924], 5);
    tf.dispose([zero, real, fake]);
  });

  it('counts real rows with l > 0 and fake rows with l < 0 as right (l = 0 is wrong on both sides)', () => {
    expect(correctCount([2, 0, -1], [-1, 3, 0])).toBe(2);
    expect(correctCount([1, 1], [-1, -1])).toBe(4);
  });
});

/** A two-task regression CSV and a hard-sharing model with a feature discriminator, the whole split as one batch. */
interface Setup {
  config: ResolvedConfig;
  data: PreparedData;
  model: MultiTaskModel;
  adversaries: TrainerAdversaries;
  batch: Batch;
  dispose(): void;
}

async function setup(strategy: string, adversary = '{ type: discriminator, weight: 0.5, hidden: [4], steps: 2 }') {
  const dir = tempDir();
  writeSyntheticCsv(dir, 'step.csv', {
    seed: 3,
    rows: 24,
    header: ['x0', 'x1', 'x2', 'y1', 'y2'],
    digits: 4,
    row: (rng) => {
      const [a, b, c] = [rng.normal(), rng.normal(), rng.normal()];
      return [a, b, c, a + b, b - c];
    },
  });
  const text = `name: step
seed: 4
backend: wasm
data: { csv: step.csv }
tasks:
  - { name: a, type: regression, target: y1 }
  - { name: b, type: regression, target: y2 }
model: { trunk: [{ type: dense, units: 5, activation: tanh }] }
training: { batch_size: 32 }
strategy: ${strategy}
adversary: ${adversary}
`;
  const { config } = parseConfigText(text, { file: path.join(dir, 'exp.yaml') });
  const data = await prepareData(config, dir);
  const model = buildModel(config, data.preprocessing);
  const adversaries = trainerAdversaries(config, model, data, undefined)!;
  const train = data.splits.train;
  const x = tf.tensor2d(train.x, [train.rows, data.preprocessing.inputSize]);
  const targets = Object.fromEntries(
    config.tasks.map((t) => [t.name, tf.tensor2d(train.targets[t.name]!, [train.rows, 1])]),
  );
  const setup: Setup = {
    config,
    data,
    model,
    adversaries,
    batch: { x, targets },
    dispose() {
      adversaries.dispose();
      model.dispose();
      tf.dispose([x, ...Object.values(targets)]);
    },
  };
  return setup;
}

const modelVariables = (model: MultiTaskModel): tf.Variable[] => [
  ...model.sharedVariables,
  ...Object.values(model.taskVariables).flat(),
  ...model.stateVariables,
];
const read = (variables: readonly tf.Variable[]) =>
  Object.fromEntries(variables.map((v) => [v.name, bits(v.dataSync())]));

describe('alternating steps', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup('{ name: equal }');
  }, 60_000);
  afterAll(() => s.dispose());

  it('a discriminator step moves the discriminator and leaves every model variable bit-identical', () => {
    const discriminator = s.adversaries.checkpointVariables().filter((v) => !/\/[mv]$/.test(v.name));
    const modelBefore = read(modelVariables(s.model));
    const discriminatorBefore = read(discriminator);
    s.model.setStep(0);
    s.adversaries.beforeStep(s.batch, 0);
    expect(read(modelVariables(s.model))).toEqual(modelBefore);
    expect(read(discriminator)).not.toEqual(discriminatorBefore);
    // Two steps (k = 2) of Adam: the update count says so.
    expect(s.adversaries.state()?.updates).toBe(2);
  });
});

describe('a model step with the generator term', () => {
  const strategies: Array<[string, string]> = [
    ['loss weighting (equal)', '{ name: equal }'],
    ['parameter gradients (pcgrad)', '{ name: pcgrad, grad_target: params }'],
    ['representation gradients (pcgrad)', '{ name: pcgrad, grad_target: representation }'],
  ];
  for (const [label, strategy] of strategies) {
    it(`${label}: no discriminator gradient; the heads' gradients are unchanged; shared gets + w·∂L_G`, async () => {
      const s = await setup(strategy);
      const definition = getStrategy(s.config.strategy.name).create(s.config.strategy, {
        tasks: s.config.tasks,
        seed: s.config.seed,
        hasSharedRepresentation: true,
      });
      const trainable = [...s.model.sharedVariables, ...s.config.tasks.flatMap((t) => s.model.taskVariables[t.name]!)];
      const context = { tasks: s.config.tasks, epoch: 0, step: 0, rng: createRng(1) };
      s.model.setStep(0);
      s.batch.progress = 0;
      const discriminator = s.adversaries.checkpointVariables();
      const before = read(discriminator);
      const withTerm = trainingStep(s.adversaries.stepModel, definition, s.batch, s.config.tasks, trainable, context);
      const without = trainingStep(s.model, definition, s.batch, s.config.tasks, trainable, context);
      expect(read(discriminator)).toEqual(before);
      for (const v of discriminator) expect(withTerm.gradients[v.name]).toBeUndefined();
      // ∂(w · L_G)/∂shared, directly: w = 0.5.
      const { value, grads } = tf.variableGrads(() => {
        const features = flatFeatures(s.model, s.batch.x, true);
        const adversary = s.adversaries.checkpointVariables();
        const [k0, b0, k1, b1] = adversary;
        const hidden = tf.relu(tf.add(tf.matMul(features, k0!), b0!));
        const l = tf.reshape(tf.add(tf.matMul(hidden, k1!), b1!), [-1]);
        return tf.mul<tf.Scalar>(tf.mean(tf.softplus(tf.neg(l))), 0.5);
      }, s.model.sharedVariables);
      value.dispose();
      for (const v of s.model.sharedVariables) {
        const difference = tf.sub(withTerm.gradients[v.name]!, without.gradients[v.name]!);
        expectClose(difference.dataSync(), grads[v.name]!.dataSync(), 5);
        difference.dispose();
      }
      for (const v of Object.values(s.model.taskVariables).flat())
        expect(bits(withTerm.gradients[v.name]!.dataSync())).toEqual(bits(without.gradients[v.name]!.dataSync()));
      tf.dispose([
        ...Object.values(withTerm.gradients),
        ...Object.values(without.gradients),
        ...Object.values(grads),
        withTerm.taskLosses,
        without.taskLosses,
      ]);
      s.dispose();
    }, 60_000);
  }
});
