/**
 * The gradient reversal layer (Ganin & Lempitsky 2015): the identity forward, −λ times the upstream gradient
 * backward; and the DANN schedule of λ.
 */
import { tf } from '../src/tf.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/select.js';
import { DANN_GAMMA, lambdaAt, trainingProgress } from '../src/adversarial/lambda-schedule.js';
import { gradientReversal } from '../src/ops/gradient-reversal.js';

beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
}, 60_000);

describe('gradientReversal', () => {
  it('returns its input unchanged in the forward pass', () => {
    const x = tf.tensor2d([
      [1.5, -2, 0],
      [3.25, 4, -0.125],
    ]);
    const y = gradientReversal(x, 0.7);
    expect(y.shape).toEqual([2, 3]);
    expect(Array.from(y.dataSync())).toEqual(Array.from(x.dataSync()));
    tf.dispose([x, y]);
  });

  it('multiplies the upstream gradient by −λ', () => {
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    // L = Σ w ⊙ R(x)²: upstream ∂L/∂R = 2·w·x, so ∂L/∂x = −λ·2·w·x.
    const w = tf.tensor2d([
      [0.5, -1],
      [2, 0.25],
    ]);
    const lambda = 0.3;
    const grad = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(w, tf.square(gradientReversal(input, lambda)))))(x);
    const expected = [1, 2, 3, 4].map((v, i) => -lambda * 2 * [0.5, -1, 2, 0.25][i]! * v);
    const got = Array.from(grad.dataSync());
    got.forEach((g, i) => expect(g).toBeCloseTo(expected[i]!, 6));
    tf.dispose([x, w, grad]);
  });

  it('with λ = 0 passes no gradient, and refuses a negative λ', () => {
    const x = tf.tensor1d([1, -1]);
    const grad = tf.grad((input: tf.Tensor) => tf.sum(gradientReversal(input, 0)))(x);
    expect(Array.from(grad.dataSync()).map(Math.abs)).toEqual([0, 0]);
    expect(() => gradientReversal(x, -1)).toThrow(/λ ≥ 0/);
    tf.dispose([x, grad]);
  });

  it('leaves no tensor behind', () => {
    const x = tf.tensor1d([1, 2, 3]);
    const before = tf.memory().numTensors;
    const grad = tf.grad((input: tf.Tensor) => tf.sum(gradientReversal(input, 1)))(x);
    grad.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});

describe('the λ schedule', () => {
  it('is constant when asked', () => {
    expect(lambdaAt({ kind: 'constant', lambda: 0.4 }, 0)).toBe(0.4);
    expect(lambdaAt({ kind: 'constant', lambda: 0.4 }, 1)).toBe(0.4);
  });

  it('follows DANN: λ_p = λ_max·(2/(1+exp(−γp)) − 1) at p = 0, 0.5, 1', () => {
    const schedule = { kind: 'dann' as const, lambda: 2, gamma: DANN_GAMMA };
    expect(lambdaAt(schedule, 0)).toBe(0);
    // 2·(2/(1+e^−5) − 1) = 2·0.98661429815… = 1.97322859…
    expect(lambdaAt(schedule, 0.5)).toBeCloseTo(1.9732285963, 9);
    // 2·(2/(1+e^−10) − 1) = 1.99981840852…
    expect(lambdaAt(schedule, 1)).toBeCloseTo(1.9998184085, 9);
    expect(lambdaAt({ kind: 'dann', lambda: 1, gamma: 1 }, 0.5)).toBeCloseTo(0.2449186624, 9);
    expect(lambdaAt(schedule, 3)).toBe(lambdaAt(schedule, 1));
  });

  it('measures progress over the run’s steps', () => {
    expect(trainingProgress(0, 100)).toBe(0);
    expect(trainingProgress(50, 100)).toBe(0.5);
    expect(trainingProgress(150, 100)).toBe(1);
  });
});
