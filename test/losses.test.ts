/**
 * The losses (src/tasks/losses/) and the host side of evaluation (src/tasks/evaluation.ts): each loss's host formula
 * against hand-computed values, extreme outputs, and the tensor op that training differentiates; the kinds'
 * predictions against the backend's softmax/sigmoid/rescale; which losses fit which kind.
 */
import { tf } from '../src/tf.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/select.js';
import type { LossName } from '../src/config/types.js';
import { UsageError } from '../src/errors.js';
import type { PredictionLayout } from '../src/metrics/types.js';
import { hostLossAndPredictions } from '../src/tasks/evaluation.js';
import { allowedLosses, lossRegistry, taskKindRegistry } from '../src/tasks/registry.js';
import type { ClassEncoding } from '../src/tasks/kinds/labels.js';
import type { MultilabelEncoding } from '../src/tasks/kinds/multilabel.js';
import type { RegressionEncoding } from '../src/tasks/kinds/regression.js';
import type { RawOutputs } from '../src/tasks/types.js';
import { taskLoss } from '../src/train/losses.js';
import { createRng } from '../src/util/rng.js';
import { backendPredictions } from './helpers.js';

beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
});

const f32 = (values: number[]): Float32Array => Float32Array.from(values);

/** An encoding of the kind with `width` outputs; regression columns with mean 0 and std 1 unless `scale` is given. */
function encodingFor(
  type: PredictionLayout,
  width: number,
  scale?: { mean: number[]; std: number[] },
): ClassEncoding | MultilabelEncoding | RegressionEncoding {
  const names = Array.from({ length: width }, (_, j) => `c${j}`);
  switch (type) {
    case 'multiclass':
      return { name: 't', type, column: 'c', classes: names };
    case 'binary':
      return { name: 't', type, column: 'c', classes: ['0', '1'] };
    case 'multilabel':
      return { name: 't', type, columns: names };
    case 'regression':
      return {
        name: 't',
        type,
        columns: names,
        mean: scale?.mean ?? names.map(() => 0),
        std: scale?.std ?? names.map(() => 1),
      };
  }
}

/**
 * What evaluation computes for a task from its outputs read back: the loss's host formula and the kind's predictions.
 */
function onHost(
  task: { type: PredictionLayout; loss: LossName },
  values: Float32Array,
  targets: Float32Array,
  rows: number,
  options: { backend?: RawOutputs['backend']; scale?: { mean: number[]; std: number[] } } = {},
): { loss: number; predictions: Float32Array } {
  const width = values.length / rows;
  const outputs: RawOutputs = { values, rows, width, backend: options.backend ?? {} };
  const kind = taskKindRegistry.lookup(task.type);
  return hostLossAndPredictions(
    kind,
    lossRegistry.lookup(task.loss),
    encodingFor(task.type, width, options.scale),
    outputs,
    targets,
  );
}

describe('hand-computed values', () => {
  it('softmax cross-entropy: logits (0, ln 3) give p = (1/4, 3/4) and loss −ln p[target]', () => {
    const { loss, predictions } = onHost(
      { type: 'multiclass', loss: 'cross-entropy' },
      f32([0, Math.log(3), 0, Math.log(3)]),
      f32([0, 1, 1, 0]),
      2,
    );
    // ln 3 rounded to float32 makes p[1] = 3/(1+3) only to float32 precision.
    [0.25, 0.75, 0.25, 0.75].forEach((p, i) => expect(predictions[i]).toBeCloseTo(p, 7));
    expect(loss).toBeCloseTo((-Math.log(0.75) - Math.log(0.25)) / 2, 6);
  });

  it('softmax cross-entropy stays finite for logits far apart (log-sum-exp with the row max)', () => {
    const { loss, predictions } = onHost(
      { type: 'multiclass', loss: 'cross-entropy' },
      f32([1000, -1000]),
      f32([0, 1]),
      1,
    );
    expect(loss).toBe(2000);
    expect(Array.from(predictions)).toEqual([1, 0]);
  });

  it(
    'cross-entropy from the backend softmax: the given probabilities are the predictions; an underflowed target ' +
      'probability falls back to the logits',
    () => {
      const logits = f32([0, Math.log(3), 0, -200]);
      const probabilities = f32([0.25, 0.75, 1, 0]); // row 2: p[target] = 0, as a float32 softmax gives it
      const { loss, predictions } = onHost(
        { type: 'multiclass', loss: 'cross-entropy' },
        logits,
        f32([0, 1, 0, 1]),
        2,
        {
          backend: { softmax: probabilities },
        },
      );
      expect(predictions).toBe(probabilities);
      // Row 1: −ln 0.75; row 2 from the logits: log(e^0 + e^−200) − (−200) ≈ 200.
      expect(loss).toBeCloseTo((-Math.log(0.75) + 200) / 2, 5);
    },
  );

  it('sigmoid cross-entropy: z = 0 gives ln 2 whatever the target; z = ±800 neither overflows nor gives NaN', () => {
    expect(onHost({ type: 'binary', loss: 'binary-cross-entropy' }, f32([0, 0]), f32([1, 0]), 2).loss).toBeCloseTo(
      Math.LN2,
      6,
    );
    const far = onHost({ type: 'multilabel', loss: 'binary-cross-entropy' }, f32([800, -800]), f32([0, 0]), 1);
    expect(far.loss).toBe(400); // (800 + 0) / 2 elements
    expect(Array.from(far.predictions)).toEqual([1, 0]);
  });

  it('mse, mae and huber (δ = 1) on errors 0.5 and 3', () => {
    const outputs = f32([0.5, 3]);
    const targets = f32([0, 0]);
    const of = (loss: LossName): number => onHost({ type: 'regression', loss }, outputs, targets, 2).loss;
    expect(of('mse')).toBe((0.25 + 9) / 2);
    expect(of('mae')).toBe((0.5 + 3) / 2);
    expect(of('huber')).toBe((0.125 + (0.5 + 2)) / 2);
  });

  it('the same losses as tensor ops on the same errors (what training differentiates)', () => {
    const of = (loss: LossName): number =>
      tf.tidy(() => taskLoss(loss, tf.tensor2d([0.5, 3], [1, 2]), tf.tensor2d([0, 0], [1, 2])).dataSync()[0]!);
    expect(of('mse')).toBe((0.25 + 9) / 2);
    expect(of('mae')).toBe((0.5 + 3) / 2);
    expect(of('huber')).toBe((0.125 + (0.5 + 2)) / 2);
  });

  it('regression predictions are y·std + mean per column, rounded as float32 ops round them', () => {
    const scale = { mean: [10, 0.3], std: [2, 0.7] };
    const { predictions } = onHost({ type: 'regression', loss: 'mse' }, f32([1, -1, 0.1, 2]), f32([0, 0, 0, 0]), 2, {
      scale,
    });
    const expected = tf.tidy(() =>
      backendPredictions('regression', tf.tensor2d([1, -1, 0.1, 2], [2, 2]), scale).dataSync(),
    );
    expect(Array.from(predictions)).toEqual(Array.from(expected));
  });

  it('no rows give a NaN loss and no predictions, whatever the loss', () => {
    for (const loss of ['cross-entropy', 'mse'] as const) {
      const type = loss === 'mse' ? 'regression' : 'multiclass';
      const result = hostLossAndPredictions(
        taskKindRegistry.lookup(type),
        lossRegistry.lookup(loss),
        encodingFor(type, 2),
        { values: new Float32Array(0), rows: 0, width: 2, backend: {} },
        new Float32Array(0),
      );
      expect(result.loss).toBeNaN();
      expect(result.predictions.length).toBe(0);
    }
  });
});

describe('agreement with the backend (what training computes)', () => {
  const cases: { type: PredictionLayout; loss: LossName; width: number }[] = [
    { type: 'multiclass', loss: 'cross-entropy', width: 10 },
    { type: 'binary', loss: 'binary-cross-entropy', width: 1 },
    { type: 'multilabel', loss: 'binary-cross-entropy', width: 5 },
    { type: 'regression', loss: 'mse', width: 3 },
    { type: 'regression', loss: 'mae', width: 3 },
    { type: 'regression', loss: 'huber', width: 3 },
  ];
  for (const c of cases) {
    it(
      `${c.type} / ${c.loss}: loss and predictions within float32 rounding of tf.losses and the backend's ` +
        `softmax/sigmoid`,
      () => {
        const rng = createRng(11);
        const rows = 300;
        const outputs = Float32Array.from({ length: rows * c.width }, () => (rng.next() - 0.5) * 12);
        const targets = new Float32Array(rows * c.width);
        for (let r = 0; r < rows; r++) {
          if (c.type === 'multiclass') targets[r * c.width + Math.floor(rng.next() * c.width)] = 1;
          else
            for (let j = 0; j < c.width; j++)
              targets[r * c.width + j] = c.type === 'regression' ? (rng.next() - 0.5) * 6 : rng.next() < 0.5 ? 1 : 0;
        }
        const [backendLoss, backendValues] = tf.tidy(() => {
          const y = tf.tensor2d(outputs, [rows, c.width]);
          const t = tf.tensor2d(targets, [rows, c.width]);
          return [taskLoss(c.loss, y, t).dataSync()[0]!, backendPredictions(c.type, y).dataSync() as Float32Array];
        });
        // Cross-entropy both ways: all on the host, and from the backend's softmax (what evaluation does).
        const variants = c.loss === 'cross-entropy' ? [{}, { backend: { softmax: backendValues } }] : [{}];
        for (const options of variants) {
          const host = onHost(c, outputs, targets, rows, options);
          expect(Math.abs(host.loss - backendLoss) / Math.abs(backendLoss)).toBeLessThan(2e-6);
          let worst = 0;
          host.predictions.forEach((p, i) => (worst = Math.max(worst, Math.abs(p - backendValues[i]!))));
          expect(worst).toBeLessThan(1e-6);
        }
      },
    );
  }
});

describe('registry', () => {
  it('says which losses fit each kind, in registry order, and each kind defaults to one of them', () => {
    const of = (type: string): string[] => allowedLosses(taskKindRegistry.lookup(type));
    expect(of('multiclass')).toEqual(['cross-entropy']);
    expect(of('binary')).toEqual(['binary-cross-entropy']);
    expect(of('multilabel')).toEqual(['binary-cross-entropy']);
    expect(of('regression')).toEqual(['mse', 'mae', 'huber']);
    for (const kind of taskKindRegistry.values()) expect(allowedLosses(kind)).toContain(kind.defaultLoss);
  });

  it('an unknown loss is a usage error with the closest name', () => {
    expect(() => lossRegistry.lookup('hubber')).toThrow(UsageError);
    expect(() => lossRegistry.lookup('hubber')).toThrow(
      'Unknown loss "hubber". Did you mean "huber"? Known: cross-entropy, binary-cross-entropy, mse, mae, huber.',
    );
  });
});
