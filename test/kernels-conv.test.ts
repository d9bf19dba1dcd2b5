/**
 * The wasm kernels convolutional layers rely on: Conv2DBackpropFilter (which stock wasm lacks) and MaxPoolGrad
 * (which stock wasm gets wrong), checked against the cpu backend and a hand-computed case.
 */
import { tf } from '../src/tf.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/select.js';
import { tensorValues } from './helpers/expect.js';

beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
}, 60_000);

describe('max-pool gradient on wasm (hand-computed)', () => {
  it('max-pool gradient goes to the window maximum on a 6×6 input (the stock wasm kernel gets this one wrong)', () => {
    const data = Array.from({ length: 36 }, (_, i) => ((i * 17) % 36) - 10);
    const x = tf.tensor4d(data, [1, 6, 6, 1]);
    const dx = tensorValues(
      tf.grad((t: tf.Tensor) =>
        tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid'), tf.range(1, 10).reshape([1, 3, 3, 1]))),
      )(x),
    );
    const expected = new Array<number>(36).fill(0);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        const window = [0, 1, 6, 7].map((o) => i * 12 + j * 2 + o);
        const arg = window.reduce((best, k) => (data[k]! > data[best]! ? k : best));
        expected[arg] = i * 3 + j + 1;
      }
    }
    expect(dx).toEqual(expected);
  });
});

describe('wasm kernels for convolutions match the cpu backend', () => {
  const cases = [
    { x: [2, 5, 6, 3], f: [3, 3, 3, 4], strides: 1, pad: 'same' },
    { x: [2, 5, 6, 3], f: [3, 2, 3, 4], strides: 2, pad: 'same' },
    { x: [2, 7, 8, 1], f: [3, 3, 1, 5], strides: [2, 1], pad: 'valid' },
    // 20·100 output positions × 800 patch values: im2col in two chunks.
    { x: [20, 10, 10, 32], f: [5, 5, 32, 2], strides: 1, pad: 'same' },
  ] as const;

  async function gradients(backend: string): Promise<number[][][]> {
    await tf.setBackend(backend);
    try {
      return cases.map((c, n) =>
        tf.tidy(() => {
          const x = tf.randomUniform([...c.x], -1, 1, 'float32', 10 + n) as tf.Tensor4D;
          const f = tf.randomUniform([...c.f], -1, 1, 'float32', 20 + n) as tf.Tensor4D;
          const y = tf.conv2d(x, f, c.strides as [number, number], c.pad);
          const dy = tf.randomUniform(y.shape, -1, 1, 'float32', 30 + n);
          const dFilter = tf.grad((k: tf.Tensor) =>
            tf.sum(tf.mul(tf.conv2d(x, k as tf.Tensor4D, c.strides as [number, number], c.pad), dy)),
          )(f);
          const pooled = tf.maxPool(x, [3, 2], [2, 2], c.pad);
          const dp = tf.randomUniform(pooled.shape, -1, 1, 'float32', 40 + n);
          const dPool = tf.grad((t: tf.Tensor) =>
            tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, [3, 2], [2, 2], c.pad), dp)),
          )(x);
          return [tensorValues(dFilter), tensorValues(dPool)];
        }),
      );
    } finally {
      await tf.setBackend('wasm');
    }
  }

  it('Conv2DBackpropFilter (added on wasm) and MaxPoolGrad (replaced on wasm)', async () => {
    const wasm = await gradients('wasm');
    const cpu = await gradients('cpu');
    wasm.forEach((perCase, n) => {
      const [dFilter, dPool] = perCase as [number[], number[]];
      const [cpuFilter, cpuPool] = cpu[n] as [number[], number[]];
      const scale = Math.max(1, ...cpuFilter.map(Math.abs));
      dFilter.forEach((v, i) => expect(Math.abs(v - cpuFilter[i]!), `case ${n} dW[${i}]`).toBeLessThan(1e-5 * scale));
      dPool.forEach((v, i) => expect(v, `case ${n} dx[${i}]`).toBeCloseTo(cpuPool[i]!, 6));
    });
  });
});
