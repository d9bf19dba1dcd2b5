/**
 * The fused cross-entropy kernels (src/ops/cross-entropy.ts) against TF.js's `tf.losses` op chains: values and
 * gradients on wasm and cpu, hand-computed values, extreme logits, one kernel each way, no leaked tensors.
 */
import { tf } from '../src/tf.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/select.js';
import {
  SIGMOID_CROSS_ENTROPY_KERNEL,
  SOFTMAX_CROSS_ENTROPY_KERNEL,
  sigmoidCrossEntropy,
  softmaxCrossEntropy,
} from '../src/ops/cross-entropy.js';
import { createRng } from '../src/util/rng.js';

beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
}, 60_000);
afterAll(async () => {
  await tf.setBackend('wasm');
});

type Loss = (labels: tf.Tensor2D, logits: tf.Tensor2D) => tf.Scalar;

const stock: Record<'softmax' | 'sigmoid', Loss> = {
  softmax: (t, z) => tf.losses.softmaxCrossEntropy(t, z),
  sigmoid: (t, z) => tf.losses.sigmoidCrossEntropy(t, z),
};
const fused: Record<'softmax' | 'sigmoid', Loss> = { softmax: softmaxCrossEntropy, sigmoid: sigmoidCrossEntropy };

/** Random logits (spread ±`spread`) and targets: one-hot rows for softmax, 0/1 for sigmoid. */
function problem(
  kind: 'softmax' | 'sigmoid',
  rows: number,
  width: number,
  spread: number,
): { z: Float32Array; t: Float32Array } {
  const rng = createRng(`${kind}-${rows}-${width}`);
  const z = Float32Array.from({ length: rows * width }, () => (rng.next() - 0.5) * 2 * spread);
  const t = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) {
    if (kind === 'softmax') t[r * width + rng.int(width)] = 1;
    else for (let j = 0; j < width; j++) t[r * width + j] = rng.next() < 0.5 ? 1 : 0;
  }
  return { z, t };
}

/** Loss and the gradients with respect to the logits and to the targets. */
function lossAndGradients(
  loss: Loss,
  z: Float32Array,
  t: Float32Array,
  shape: [number, number],
): { value: number; dz: Float32Array; dt: Float32Array } {
  return tf.tidy(() => {
    const logits = tf.tensor2d(z, shape);
    const labels = tf.tensor2d(t, shape);
    const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) =>
      tf.mul(loss(b as tf.Tensor2D, a as tf.Tensor2D), 3),
    )([logits, labels]);
    return {
      value: value.dataSync()[0]!,
      dz: grads[0]?.dataSync() as Float32Array,
      dt: grads[1]?.dataSync() as Float32Array,
    };
  });
}

const worstDifference = (a: Float32Array, b: Float32Array): number =>
  a.reduce((w, v, i) => Math.max(w, Math.abs(v - b[i]!)), 0);

describe('fused cross-entropy kernels', () => {
  for (const backend of ['wasm', 'cpu']) {
    for (const kind of ['softmax', 'sigmoid'] as const) {
      for (const [rows, width, spread] of [
        [64, 10, 4],
        [7, 3, 30],
        [5, 1, 2],
      ] as const) {
        if (kind === 'softmax' && width === 1) continue;
        it(`${backend}, ${kind}, ${rows}×${width} logits in ±${spread}: loss, gradients match tf.losses`, async () => {
          await tf.setBackend(backend);
          const before = tf.memory().numTensors;
          const { z, t } = problem(kind, rows, width, spread);
          const expected = lossAndGradients(stock[kind], z, t, [rows, width]);
          const actual = lossAndGradients(fused[kind], z, t, [rows, width]);
          expect(Math.abs(actual.value - expected.value)).toBeLessThan(2e-6 * Math.max(1, Math.abs(expected.value)));
          expect(worstDifference(actual.dz, expected.dz)).toBeLessThan(1e-7 * Math.max(1, spread));
          // ∂L/∂t: TF.js's softmax gradient for the targets is dy·(t − p), not the derivative; ours is −log p (· dy/N).
          const dt =
            kind === 'sigmoid'
              ? expected.dt
              : tf.tidy(
                  () =>
                    tf.mul(tf.neg(tf.logSoftmax(tf.tensor2d(z, [rows, width]))), 3 / rows).dataSync() as Float32Array,
                );
          expect(worstDifference(actual.dt, dt)).toBeLessThan(2e-6 * spread);
          expect(tf.memory().numTensors).toBe(before);
        });
      }
    }
  }

  it('softmax: logits (0, ln 3) and target class 2 give −ln(3/4) and the gradient (p − t)/N = (1/4, −1/4)', () => {
    const { value, dz } = lossAndGradients(
      softmaxCrossEntropy,
      Float32Array.of(0, Math.log(3)),
      Float32Array.of(0, 1),
      [1, 2],
    );
    expect(value / 3).toBeCloseTo(-Math.log(0.75), 6);
    expect(dz[0]! / 3).toBeCloseTo(0.25, 6);
    expect(dz[1]! / 3).toBeCloseTo(-0.25, 6);
  });

  it('stays finite for logits far apart, where exp overflows float32', () => {
    const softmax = lossAndGradients(softmaxCrossEntropy, Float32Array.of(1000, -1000), Float32Array.of(0, 1), [1, 2]);
    expect(softmax.value / 3).toBe(2000);
    expect(Array.from(softmax.dz).map((g) => g / 3)).toEqual([1, -1]);
    const sigmoid = lossAndGradients(sigmoidCrossEntropy, Float32Array.of(800, -800), Float32Array.of(0, 0), [1, 2]);
    expect(sigmoid.value / 3).toBe(400);
    expect(Array.from(sigmoid.dz).map((g) => g / 3)).toEqual([0.5, 0]);
  });

  it('is one kernel forward and one for the logits gradient', async () => {
    await tf.setBackend('wasm');
    const logits = tf.variable(tf.tensor2d([0.5, -1, 2, 0.1, 0.2, 0.3], [2, 3]));
    const labels = tf.tensor2d([0, 0, 1, 1, 0, 0], [2, 3]);
    const binaryLabels = tf.tensor2d([0, 1, 1, 0, 0, 1], [2, 3]);
    for (const [loss, kernel, t] of [
      [softmaxCrossEntropy, SOFTMAX_CROSS_ENTROPY_KERNEL, labels],
      [sigmoidCrossEntropy, SIGMOID_CROSS_ENTROPY_KERNEL, binaryLabels],
    ] as const) {
      const forward = await tf.profile(() => loss(t, logits));
      expect(forward.kernels.map((k) => k.name).filter((name) => name !== 'Identity')).toEqual([kernel]);
      const both = await tf.profile(() => {
        const { value, grads } = tf.variableGrads(() => loss(t, logits));
        return [value, ...Object.values(grads)];
      });
      // Forward, the seed gradient (a fill of 1), the backward kernel.
      // Identity: the tape's copies of the saved tensors (they share the data).
      const ran = both.kernels.map((k) => k.name).filter((name) => !['Fill', 'OnesLike', 'Identity'].includes(name));
      expect(ran).toEqual([kernel, `${kernel}Grad`]);
    }
    for (const x of [logits, labels, binaryLabels]) x.dispose();
  });
});
