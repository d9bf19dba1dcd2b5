/**
 * The convolutions' patch work in wasm (backend/simd/patches.ts: im2col, col2im, the max-pool gradient) against the
 * JS loops it replaced, and the forward convolution as im2col + GEMM against the stock (XNNPACK) kernel, bit for bit:
 * forward, filter gradient, input gradient and max-pool gradient over padded and strided shapes, channel counts with
 * and without a vector part, a chunked im2col, NaN and tied window values.
 */
import { tf } from '../src/tf.js';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/select.js';
import { convPaths } from '../src/backend/wasm/conv-common.js';
import { isFastWasmKernelInstalled } from '../src/backend/wasm/index.js';

beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
}, 60_000);

afterEach(() => {
  convPaths.wasmPatches = true;
});

interface ConvCase {
  x: [number, number, number, number];
  f: [number, number, number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid';
  pool: [number, number];
  poolStrides: [number, number];
}

const CASES: ConvCase[] = [
  // The multi-digits-conv trunk's two layers (batch 64).
  { x: [64, 8, 12, 1], f: [3, 3, 1, 16], strides: 1, pad: 'same', pool: [2, 2], poolStrides: [2, 2] },
  { x: [64, 4, 6, 16], f: [3, 3, 16, 32], strides: 1, pad: 'same', pool: [2, 2], poolStrides: [2, 2] },
  // 3 and 5 channels: single floats only, and one vector plus a single float per tap.
  { x: [2, 5, 6, 3], f: [3, 2, 3, 4], strides: 2, pad: 'same', pool: [3, 2], poolStrides: [2, 2] },
  { x: [3, 7, 8, 5], f: [3, 3, 5, 6], strides: [2, 1], pad: 'valid', pool: [3, 3], poolStrides: [1, 2] },
  // Overlapping 3×3 windows with stride 1, padded: gradients of several windows add up in one pixel.
  { x: [2, 6, 6, 4], f: [5, 5, 4, 9], strides: 1, pad: 'same', pool: [3, 3], poolStrides: [1, 1] },
  // 20·100 positions × 800 patch values: im2col in two chunks, the second added to the first.
  { x: [20, 10, 10, 32], f: [5, 5, 32, 2], strides: 1, pad: 'same', pool: [2, 2], poolStrides: [2, 2] },
];

/** Values with ties and a NaN, so the max-pool gradient's "first maximum" and NaN rules are exercised. */
function input(c: ConvCase, seed: number): tf.Tensor4D {
  return tf.tidy(() => {
    const size = c.x.reduce((a, b) => a * b, 1);
    const values = tf.randomUniform([size], -1, 1, 'float32', seed).dataSync().slice();
    for (let i = 0; i < size; i += 7) values[i] = 0.5; // ties
    values[3] = Number.NaN;
    return tf.tensor4d(values, c.x);
  });
}

function gradients(c: ConvCase, n: number): Float32Array[] {
  return tf.tidy(() => {
    const x = input(c, 10 + n);
    const finite = tf.where(tf.isNaN(x), tf.zerosLike(x), x);
    const f = tf.randomUniform(c.f, -1, 1, 'float32', 20 + n) as tf.Tensor4D;
    const y = tf.conv2d(finite, f, c.strides, c.pad);
    const dy = tf.randomUniform(y.shape, -1, 1, 'float32', 30 + n);
    const [dx, dFilter] = tf.grads((a: tf.Tensor, k: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, k as tf.Tensor4D, c.strides, c.pad), dy)),
    )([finite, f]);
    const pooled = tf.maxPool(x, c.pool, c.poolStrides, c.pad);
    const dp = tf.randomUniform(pooled.shape, -1, 1, 'float32', 40 + n);
    const dPool = tf.grad((t: tf.Tensor) =>
      tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, c.pool, c.poolStrides, c.pad), dp)),
    )(x);
    return [
      dFilter!.dataSync() as Float32Array,
      dx!.dataSync() as Float32Array,
      dPool.dataSync() as Float32Array,
      y.dataSync() as Float32Array,
      // Dilated: not ours, the stock kernel in both runs.
      tf.conv2d(finite, f, 1, 'same', 'NHWC', 2).dataSync() as Float32Array,
    ];
  });
}

/** Bit patterns, so −0 against 0 and NaN payloads would show. */
function bits(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
}

describe('convolution patch kernels in wasm against the JS loops', () => {
  it('the overrides are installed (else the comparisons below would compare a kernel with itself)', () => {
    for (const name of ['Conv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'MaxPoolGrad'])
      expect(isFastWasmKernelInstalled(name), name).toBe(true);
  });

  CASES.forEach((c, n) => {
    it(`x [${c.x}] filter [${c.f}] strides ${c.strides} ${c.pad}, pool ${c.pool}/${c.poolStrides}`, () => {
      convPaths.wasmPatches = false;
      const reference = gradients(c, n);
      convPaths.wasmPatches = true;
      const wasm = gradients(c, n);
      ['filter gradient', 'input gradient', 'max-pool gradient', 'forward', 'dilated forward'].forEach((what, i) => {
        expect(wasm[i]!.length, what).toBe(reference[i]!.length);
        expect(bits(wasm[i]!), what).toEqual(bits(reference[i]!));
      });
      // Not vacuous: the gradients are not all zero.
      for (const g of wasm) expect(g.some((v) => v !== 0)).toBe(true);
    });
  });

  it('leaves no tensor or backend buffer behind', () => {
    gradients(CASES[1]!, 1);
    const before = tf.memory();
    gradients(CASES[1]!, 1);
    gradients(CASES[5]!, 5);
    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numDataBuffers).toBe(before.numDataBuffers);
  });
});
