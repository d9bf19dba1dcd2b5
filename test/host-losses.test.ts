/**
 * Evaluation losses and predictions computed on the host (src/train/host-losses.ts): hand-computed values, extreme
 * outputs, and agreement with the backend's tf.losses / tf.softmax / tf.sigmoid that training uses.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/select.js';
import type { LossName } from '../src/config/types.js';
import type { TaskType } from '../src/data/types.js';
import { hostLossAndPredictions } from '../src/train/host-losses.js';
import { taskLoss } from '../src/train/losses.js';
import { createRng } from '../src/util/rng.js';
import { backendPredictions } from './helpers.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const f32 = (values: number[]): Float32Array => Float32Array.from(values);

describe('hand-computed values', () => {
  it('softmax cross-entropy: logits (0, ln 3) give p = (1/4, 3/4) and loss −ln p[target]', () => {
    const { loss, predictions } = hostLossAndPredictions(
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
    const { loss, predictions } = hostLossAndPredictions({ type: 'multiclass', loss: 'cross-entropy' }, f32([1000, -1000]), f32([0, 1]), 1);
    expect(loss).toBe(2000);
    expect(Array.from(predictions)).toEqual([1, 0]);
  });

  it('cross-entropy from the backend softmax: the given probabilities are the predictions; an underflowed target probability falls back to the logits', () => {
    const logits = f32([0, Math.log(3), 0, -200]);
    const probabilities = f32([0.25, 0.75, 1, 0]); // row 2: p[target] = 0, as a float32 softmax gives it
    const { loss, predictions } = hostLossAndPredictions({ type: 'multiclass', loss: 'cross-entropy' }, logits, f32([0, 1, 0, 1]), 2, { probabilities });
    expect(predictions).toBe(probabilities);
    // Row 1: −ln 0.75; row 2 from the logits: log(e^0 + e^−200) − (−200) ≈ 200.
    expect(loss).toBeCloseTo((-Math.log(0.75) + 200) / 2, 5);
  });

  it('sigmoid cross-entropy: z = 0 gives ln 2 whatever the target; z = ±800 neither overflows nor gives NaN', () => {
    expect(hostLossAndPredictions({ type: 'binary', loss: 'binary-cross-entropy' }, f32([0, 0]), f32([1, 0]), 2).loss).toBeCloseTo(Math.LN2, 6);
    const far = hostLossAndPredictions({ type: 'multilabel', loss: 'binary-cross-entropy' }, f32([800, -800]), f32([0, 0]), 1);
    expect(far.loss).toBe(400); // (800 + 0) / 2 elements
    expect(Array.from(far.predictions)).toEqual([1, 0]);
  });

  it('mse, mae and huber (δ = 1) on errors 0.5 and 3', () => {
    const outputs = f32([0.5, 3]);
    const targets = f32([0, 0]);
    const of = (loss: LossName): number => hostLossAndPredictions({ type: 'regression', loss }, outputs, targets, 2).loss;
    expect(of('mse')).toBe((0.25 + 9) / 2);
    expect(of('mae')).toBe((0.5 + 3) / 2);
    expect(of('huber')).toBe((0.125 + (0.5 + 2)) / 2);
  });

  it('regression predictions are y·std + mean per column, rounded as float32 ops round them', () => {
    const { predictions } = hostLossAndPredictions({ type: 'regression', loss: 'mse' }, f32([1, -1, 0.1, 2]), f32([0, 0, 0, 0]), 2, { regressionScale: { mean: [10, 0.3], std: [2, 0.7] } });
    const expected = tf.tidy(() => backendPredictions('regression', tf.tensor2d([1, -1, 0.1, 2], [2, 2]), { mean: [10, 0.3], std: [2, 0.7] }).dataSync());
    expect(Array.from(predictions)).toEqual(Array.from(expected));
  });
});

describe('agreement with the backend (what training computes)', () => {
  const cases: { type: TaskType; loss: LossName; width: number }[] = [
    { type: 'multiclass', loss: 'cross-entropy', width: 10 },
    { type: 'binary', loss: 'binary-cross-entropy', width: 1 },
    { type: 'multilabel', loss: 'binary-cross-entropy', width: 5 },
    { type: 'regression', loss: 'mse', width: 3 },
    { type: 'regression', loss: 'mae', width: 3 },
    { type: 'regression', loss: 'huber', width: 3 },
  ];
  for (const c of cases) {
    it(`${c.type} / ${c.loss}: loss and predictions within float32 rounding of tf.losses and the backend's softmax/sigmoid`, () => {
      const rng = createRng(11);
      const rows = 300;
      const outputs = Float32Array.from({ length: rows * c.width }, () => (rng.next() - 0.5) * 12);
      const targets = new Float32Array(rows * c.width);
      for (let r = 0; r < rows; r++) {
        if (c.type === 'multiclass') targets[r * c.width + Math.floor(rng.next() * c.width)] = 1;
        else for (let j = 0; j < c.width; j++) targets[r * c.width + j] = c.type === 'regression' ? (rng.next() - 0.5) * 6 : rng.next() < 0.5 ? 1 : 0;
      }
      const [backendLoss, backendValues] = tf.tidy(() => {
        const y = tf.tensor2d(outputs, [rows, c.width]);
        const t = tf.tensor2d(targets, [rows, c.width]);
        return [taskLoss(c.loss, y, t).dataSync()[0] as number, backendPredictions(c.type, y).dataSync() as Float32Array];
      });
      // Cross-entropy both ways: all on the host, and from the backend's softmax (what evaluation does).
      const variants = c.loss === 'cross-entropy' ? [{}, { probabilities: backendValues }] : [{}];
      for (const inputs of variants) {
        const host = hostLossAndPredictions(c, outputs, targets, rows, inputs);
        expect(Math.abs(host.loss - backendLoss) / Math.abs(backendLoss)).toBeLessThan(2e-6);
        let worst = 0;
        host.predictions.forEach((p, i) => (worst = Math.max(worst, Math.abs(p - (backendValues[i] as number)))));
        expect(worst).toBeLessThan(1e-6);
      }
    });
  }
});
