/**
 * Masked task losses (issue #17, data/labels.ts, train/losses.ts maskedTaskLoss): a row without a task's label
 * changes neither that task's loss nor any gradient; the fused loss kernels and the plain TF.js ops agree on masked
 * batches; a batch where a task has no labelled row gives every strategy a finite update, and the gradient methods
 * the update of the labelled tasks alone.
 */
import { tf } from '../src/tf.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/select.js';
import type { TaskConfig } from '../src/config/types.js';
import { gradientCombiners, schemaDefaults } from '../src/strategies/gradient/registry.js';
import { strategyRegistry } from '../src/strategies/registry.js';
import { maskedTaskLoss } from '../src/train/losses.js';
import { bits } from './helpers/expect.js';
import { oneBatch, type OneBatch } from './helpers/step.js';
import { values } from './helpers.js';

beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
}, 60_000);

const task = (name: string, type: string, loss: string): TaskConfig => ({
  name,
  type,
  targets: [name],
  loss,
  metrics: [],
  weight: 1,
});

/** A loss and its gradients w.r.t. a weight matrix W (x·W are the task's outputs), read back. */
function lossAndGradient(
  t: TaskConfig,
  x: tf.Tensor2D,
  target: tf.Tensor2D,
  w: tf.Variable,
  labelled?: Int32Array,
): { loss: number; grad: number[] } {
  const batch = labelled
    ? { targets: { [t.name]: target }, labelled: { [t.name]: labelled } }
    : { targets: { [t.name]: target } };
  const { value, grads } = tf.variableGrads(() => maskedTaskLoss(t, tf.matMul(x, w), batch), [w]);
  const out = { loss: value.dataSync()[0]!, grad: Array.from(grads[w.name]!.dataSync()) };
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

/** Rows of a row-major [rows, width] array. */
const rowsOf = (data: Float32Array, width: number, keep: readonly number[]): Float32Array =>
  Float32Array.from(keep.flatMap((r) => Array.from(data.subarray(r * width, (r + 1) * width))));

const oneHot = (classes: readonly number[], width: number): Float32Array =>
  Float32Array.from(classes.flatMap((c) => Array.from({ length: width }, (_, j) => (j === c ? 1 : 0))));

describe('a row without the task label changes neither its loss nor any gradient', () => {
  const labelled = Int32Array.from([0, 1, 2, 4, 5, 7]);
  const cases: [TaskConfig, (changed: boolean) => Float32Array, number][] = [
    // The fused softmax cross-entropy (ops/cross-entropy.ts), one-hot targets of 3 classes.
    [
      task('c', 'multiclass', 'cross-entropy'),
      (changed) => oneHot(changed ? [0, 1, 2, 0, 1, 2, 0, 1] : [0, 1, 2, 2, 1, 2, 1, 1], 3),
      3,
    ],
    // A plain TF.js loss (tf.losses.meanSquaredError) on 2 outputs.
    [
      task('r', 'regression', 'mse'),
      (changed) => (changed ? values(16, 9).map((v, i) => (i === 6 || i === 7 || i === 12 ? 40 : v)) : values(16, 9)),
      2,
    ],
  ];
  for (const [t, targetsOf, width] of cases) {
    it(`${t.loss}: the masked rows' features and placeholder targets do not matter, bit for bit`, () => {
      const w = tf.variable(tf.tensor2d(values(4 * width, 2), [4, width]));
      const xValues = values(8 * 4, 1);
      const changedX = xValues.map((v, i) => (Math.floor(i / 4) === 3 || Math.floor(i / 4) === 6 ? v * 7 + 1 : v));
      const run = (xs: Float32Array, changed: boolean) =>
        tf.tidy(() =>
          lossAndGradient(t, tf.tensor2d(xs, [8, 4]), tf.tensor2d(targetsOf(changed), [8, width]), w, labelled),
        );
      const before = run(xValues, false);
      const after = run(changedX, true);
      expect(bits([after.loss])).toEqual(bits([before.loss]));
      expect(bits(after.grad)).toEqual(bits(before.grad));
      // The same as the batch of the labelled rows alone: an unlabelled row added to a batch leaves the loss equal.
      const alone = tf.tidy(() =>
        lossAndGradient(
          t,
          tf.tensor2d(rowsOf(xValues, 4, [...labelled]), [6, 4]),
          tf.tensor2d(rowsOf(targetsOf(false), width, [...labelled]), [6, width]),
          w,
        ),
      );
      expect(bits([before.loss])).toEqual(bits([alone.loss]));
      expect(bits(before.grad)).toEqual(bits(alone.grad));
      w.dispose();
    });
  }

  it('a batch without a labelled row: the loss is 0 and every gradient 0', () => {
    const t = task('c', 'multiclass', 'cross-entropy');
    const w = tf.variable(tf.tensor2d(values(12, 2), [4, 3]));
    const out = tf.tidy(() =>
      lossAndGradient(
        t,
        tf.tensor2d(values(32, 1), [8, 4]),
        tf.tensor2d(oneHot([0, 1, 2, 0, 1, 2, 0, 1], 3), [8, 3]),
        w,
        new Int32Array(0),
      ),
    );
    expect(out.loss).toBe(0);
    expect(out.grad).toEqual(new Array(12).fill(0));
    w.dispose();
  });
});

describe('the fused kernels and the plain ops agree on masked batches', () => {
  afterAll(async () => {
    await tf.setBackend('wasm');
  });
  it('softmax, sigmoid cross-entropy: masked (fused; wasm, cpu) vs tf.losses on labelled rows, ≤ 1e-6', async () => {
    const labelled = Int32Array.from([1, 2, 5, 6]);
    const results: number[][] = [];
    for (const backend of ['wasm', 'cpu']) {
      await tf.setBackend(backend);
      for (const [t, target] of [
        [task('c', 'multiclass', 'cross-entropy'), oneHot([0, 2, 1, 1, 0, 2, 2, 0], 3)],
        [task('m', 'multilabel', 'binary-cross-entropy'), Float32Array.from(values(24, 5), (v) => (v > 0 ? 1 : 0))],
      ] as const) {
        const w = tf.variable(tf.tensor2d(values(12, 2), [4, 3]));
        const x = values(32, 1);
        const masked = tf.tidy(() =>
          lossAndGradient(t, tf.tensor2d(x, [8, 4]), tf.tensor2d(target, [8, 3]), w, labelled),
        );
        const plain = tf.tidy(() => {
          const xs = tf.tensor2d(rowsOf(x, 4, [...labelled]), [4, 4]);
          const ys = tf.tensor2d(rowsOf(target, 3, [...labelled]), [4, 3]);
          const f = () =>
            t.loss === 'cross-entropy'
              ? tf.losses.softmaxCrossEntropy(ys, tf.matMul(xs, w))
              : tf.losses.sigmoidCrossEntropy(ys, tf.matMul(xs, w));
          const { value, grads } = tf.variableGrads(f as () => tf.Scalar, [w]);
          return { loss: value.dataSync()[0]!, grad: Array.from(grads[w.name]!.dataSync()) };
        });
        expect(Math.abs(masked.loss - plain.loss)).toBeLessThanOrEqual(1e-6);
        masked.grad.forEach((g, i) => expect(Math.abs(g - plain.grad[i]!)).toBeLessThanOrEqual(1e-6));
        results.push([masked.loss, ...masked.grad]);
        w.dispose();
      }
    }
    expect(results).toHaveLength(4);
  });
});

describe('a batch where a task has no labelled row, per strategy', () => {
  let data: OneBatch;
  beforeAll(async () => {
    data = await oneBatch('{ name: equal }');
    // Task b has no labelled row in this batch; task a all of them (it is not listed).
    data.batch.labelled = { b: new Int32Array(0) };
  }, 60_000);
  afterAll(() => data.dispose());

  const create = (name: string, options: Record<string, unknown> = {}) => {
    const definition = strategyRegistry.lookup(name);
    const defaults = schemaDefaults({ properties: definition.optionsSchema });
    return definition.create({ name, ...defaults, ...options }, { tasks: data.config.tasks, seed: 1 });
  };
  const finite = (gradients: Record<string, number[]>): boolean =>
    Object.values(gradients).every((g) => g.every(Number.isFinite));

  it("equal, uncertainty, dwa: finite; task b's head gets a zero gradient; equal's update is task a's alone", () => {
    const equal = data.step(create('equal'));
    for (const name of ['uncertainty', 'dwa']) {
      const strategy = create(name);
      const gradients = data.step(strategy);
      expect(finite(gradients), name).toBe(true);
      for (const v of data.model.taskVariables['b'] ?? [])
        expect(
          gradients[v.name]!.every((g) => g === 0),
          name,
        ).toBe(true);
      for (const v of strategy.variables?.() ?? []) v.dispose();
      strategy.dispose?.();
    }
    for (const v of data.model.taskVariables['b'] ?? []) expect(equal[v.name]!.every((g) => g === 0)).toBe(true);
    // equal: Σ L_i with L_b held constant → the shared gradient is ∇L_a.
    const aOnly = tf.tidy(() => {
      const shared = data.model.sharedVariables;
      const { grads } = tf.variableGrads(() => {
        const { outputs } = data.model.forward(data.batch.x, true);
        return maskedTaskLoss(data.config.tasks[0]!, outputs['a']!, data.batch);
      }, shared);
      return Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, Array.from(g.dataSync())]));
    });
    for (const v of data.model.sharedVariables) expect(bits(equal[v.name]!)).toEqual(bits(aOnly[v.name]!));
  });

  for (const name of ['pcgrad', 'mgda', 'nash-mtl', 'cagrad', 'imtl-g']) {
    it(`${name}: finite, and the shared update is the method run on task a alone`, () => {
      const strategy = create(name, { grad_target: 'params' });
      const gradients = data.step(strategy);
      expect(finite(gradients)).toBe(true);
      // The method on the one labelled task: its combiner created for one task, on task a's gradient.
      const shared = data.model.sharedVariables;
      const ga = tf.tidy(() => {
        const { grads } = tf.variableGrads(() => {
          const { outputs } = data.model.forward(data.batch.x, true);
          return maskedTaskLoss(data.config.tasks[0]!, outputs['a']!, data.batch);
        }, shared);
        return Float32Array.from(shared.flatMap((v) => Array.from(grads[v.name]!.dataSync())));
      });
      const definition = gradientCombiners.get(name)!;
      const single = definition.create(schemaDefaults(definition.optionsSchema), 1, 1);
      const losses = [
        tf.tidy(
          () =>
            maskedTaskLoss(
              data.config.tasks[0]!,
              data.model.forward(data.batch.x, true).outputs['a']!,
              data.batch,
            ).dataSync()[0]!,
        ),
      ];
      const expected = single.combine({ grads: [ga], losses, segments: shared.map((v) => v.size) }).combined;
      const got = shared.flatMap((v) => gradients[v.name]!);
      got.forEach((g, i) => expect(g, `${name} coordinate ${i}`).toBeCloseTo(expected[i]!, 6));
      for (const v of data.model.taskVariables['b'] ?? []) expect(gradients[v.name]!.every((g) => g === 0)).toBe(true);
    });
  }

  it('full IMTL and weighted-average with weights_from: gls (loss scaling reads the held 1): finite', () => {
    for (const [name, options] of [
      ['imtl', { grad_target: 'params' }],
      ['weighted-average', { grad_target: 'params', weights_from: { name: 'gls' } }],
    ] as const) {
      const strategy = create(name, options);
      const gradients = data.step(strategy);
      expect(finite(gradients), name).toBe(true);
      for (const v of data.model.taskVariables['b'] ?? []) expect(gradients[v.name]!.every((g) => g === 0)).toBe(true);
      for (const v of strategy.variables?.() ?? []) v.dispose();
      strategy.dispose?.();
    }
  });
});
