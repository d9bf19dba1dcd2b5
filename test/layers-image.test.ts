/**
 * Image layers, value by value: conv2d and max-/avg-pool outputs and gradients computed by hand, batch-norm and
 * layer-norm statistics per channel, dropout masks on images.
 */
import { tf } from '../src/tf.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/select.js';
import { BatchNorm } from '../src/model/layers/batch-norm.js';
import { Conv2D } from '../src/model/layers/conv2d.js';
import { LayerNorm } from '../src/model/layers/layer-norm.js';
import { Pool2D } from '../src/model/layers/pool.js';
import { createRng } from '../src/util/rng.js';
import { expectClose, tensorValues } from './helpers/expect.js';
import { dropout, flatten, input, reshape, stack } from './helpers/layers.js';

beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
}, 60_000);

describe('conv2d (hand-computed)', () => {
  // x = [[1,2,3],[4,5,6],[7,8,9]], one channel.
  const x = (): tf.Tensor4D => tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);

  it('3×3 input, 2×2 kernel, valid padding: y = Σ x·K + b, then relu', () => {
    const layer = new Conv2D('c', [3, 3, 1], 1, 2, 1, 'valid', 'linear', true, createRng(1));
    const relu = new Conv2D('r', [3, 3, 1], 1, 2, 1, 'valid', 'relu', true, createRng(1));
    try {
      expect(layer.outputShape).toEqual([2, 2, 1]);
      expect(layer.kernel.shape).toEqual([2, 2, 1, 1]);
      layer.kernel.assign(tf.tensor4d([1, 2, 3, 4], [2, 2, 1, 1]));
      layer.bias?.assign(tf.tensor1d([0.5]));
      // y00 = 1·1 + 2·2 + 4·3 + 5·4 = 37, y01 = 2+6+15+24 = 47, y10 = 4+10+21+32 = 67, y11 = 5+12+24+36 = 77
      const y = layer.apply(x());
      expect(y.shape).toEqual([1, 2, 2, 1]);
      expectClose(tensorValues(y), [37.5, 47.5, 67.5, 77.5]);
      relu.kernel.assign(tf.tensor4d([1, 2, 3, 4], [2, 2, 1, 1]));
      relu.bias?.assign(tf.tensor1d([-50]));
      expectClose(tensorValues(relu.apply(x())), [0, 0, 17, 27]);
    } finally {
      tf.dispose([...layer.trainable, ...relu.trainable]);
    }
  });

  it('two input channels and two filters keep the channels-last layout', () => {
    const layer = new Conv2D('c2', [3, 3, 2], 2, 2, 1, 'valid', 'linear', false, createRng(1));
    try {
      expect(layer.bias).toBeUndefined();
      // channel 0 = x, channel 1 = 1 everywhere. Filter 0: K on channel 0, 10 at [0,0] of channel 1; filter 1: ones on
      // channel 0.
      const kernel = new Float32Array(2 * 2 * 2 * 2);
      const at = (u: number, v: number, c: number, o: number): number => ((u * 2 + v) * 2 + c) * 2 + o;
      [1, 2, 3, 4].forEach((k, i) => (kernel[at(Math.floor(i / 2), i % 2, 0, 0)] = k));
      kernel[at(0, 0, 1, 0)] = 10;
      for (let i = 0; i < 4; i++) kernel[at(Math.floor(i / 2), i % 2, 0, 1)] = 1;
      layer.kernel.assign(tf.tensor4d(kernel, [2, 2, 2, 2]));
      const input2 = tf.stack([x().reshape([3, 3]), tf.ones([3, 3])], 2).reshape([1, 3, 3, 2]);
      const y = layer.apply(input2);
      expect(y.shape).toEqual([1, 2, 2, 2]);
      expectClose(tensorValues(y), [47, 12, 57, 16, 77, 24, 87, 28]);
    } finally {
      tf.dispose(layer.trainable);
    }
  });

  it('same padding with stride 2 pads at the bottom/right as TensorFlow does', () => {
    const layer = new Conv2D('s', [3, 3, 1], 1, 2, 2, 'same', 'linear', false, createRng(1));
    try {
      expect(layer.outputShape).toEqual([2, 2, 1]);
      layer.kernel.assign(tf.ones([2, 2, 1, 1]));
      expectClose(tensorValues(layer.apply(x())), [1 + 2 + 4 + 5, 3 + 6, 7 + 8, 9]);
    } finally {
      tf.dispose(layer.trainable);
    }
  });

  it('kernel and bias gradients on wasm: ∂Σy/∂K[u,v] = Σ_ij x[i+u, j+v], ∂Σy/∂b = number of outputs', () => {
    for (const activation of ['linear', 'relu'] as const) {
      const layer = new Conv2D(`g-${activation}`, [3, 3, 1], 1, 2, 1, 'valid', activation, true, createRng(1));
      try {
        layer.kernel.assign(tf.ones([2, 2, 1, 1])); // every output positive, so relu passes the gradient
        const { value, grads } = tf.variableGrads(() => tf.sum(layer.apply(x())), layer.trainable);
        expectClose(tensorValues(grads[layer.kernel.name] as tf.Tensor), [12, 16, 24, 28]);
        expectClose(tensorValues(grads[(layer.bias as tf.Variable).name] as tf.Tensor), [4]);
        tf.dispose([value, ...Object.values(grads)]);
      } finally {
        tf.dispose(layer.trainable);
      }
    }
  });

  it('Glorot-uniform kernel from the model Rng: same seed, same kernel; |K| ≤ √(6 / (kh·kw·(c_in + filters)))', () => {
    const a = new Conv2D('ga', [5, 5, 3], 8, 3, 1, 'same', 'relu', true, createRng(7));
    const b = new Conv2D('gb', [5, 5, 3], 8, 3, 1, 'same', 'relu', true, createRng(7));
    try {
      const limit = Math.sqrt(6 / (9 * 3 + 9 * 8));
      const k = tensorValues(a.kernel);
      expect(k).toEqual(tensorValues(b.kernel));
      expect(k.every((v) => Math.abs(v) <= limit)).toBe(true);
      expect(Math.max(...k.map(Math.abs))).toBeGreaterThan(limit * 0.9);
      expect(tensorValues(a.bias as tf.Variable).every((v) => v === 0)).toBe(true);
    } finally {
      tf.dispose([...a.trainable, ...b.trainable]);
    }
  });
});

describe('pooling (hand-computed)', () => {
  const grid4 = (): tf.Tensor4D =>
    tf.tensor4d(
      Array.from({ length: 16 }, (_, i) => i + 1),
      [1, 4, 4, 1],
    );
  const grid3 = (): tf.Tensor4D => tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);

  it('max-pool and avg-pool 2×2 on a 4×4 input', () => {
    const max = new Pool2D('max', [4, 4, 1], 2, undefined, 'valid');
    const avg = new Pool2D('avg', [4, 4, 1], 2, undefined, 'valid');
    expect(max.outputShape).toEqual([2, 2, 1]);
    expect(max.strides).toEqual([2, 2]); // stride defaults to the window
    expectClose(tensorValues(max.apply(grid4())), [6, 8, 14, 16]);
    expectClose(tensorValues(avg.apply(grid4())), [3.5, 5.5, 11.5, 13.5]);
    // Overlapping windows: 3×3 max-pool, stride 1 → 2×2.
    expectClose(tensorValues(new Pool2D('max', [4, 4, 1], 3, 1, 'valid').apply(grid4())), [11, 12, 15, 16]);
  });

  it('same padding: padded positions never win a max and do not count in an average, in the gradient too', () => {
    const max = new Pool2D('max', [3, 3, 1], 2, 2, 'same');
    const avg = new Pool2D('avg', [3, 3, 1], 2, 2, 'same');
    expect(avg.outputShape).toEqual([2, 2, 1]);
    expectClose(tensorValues(max.apply(tf.neg(grid3()))), [-1, -3, -7, -9]);
    expectClose(tensorValues(avg.apply(grid3())), [3, 4.5, 7.5, 9]);
    // Windows: {1,2,4,5} (4 in range), {3,6} (2), {7,8} (2), {9} (1): each element gets 1/count of its window.
    const dx = tf.grad((x: tf.Tensor) => tf.sum(avg.apply(x)))(grid3());
    expectClose(tensorValues(dx), [0.25, 0.25, 0.5, 0.25, 0.25, 0.5, 0.5, 0.5, 1]);
    const dxMax = tf.grad((x: tf.Tensor) => tf.sum(max.apply(x)))(grid3());
    expectClose(tensorValues(dxMax), [0, 0, 0, 0, 1, 1, 0, 1, 1]);
  });
});

describe('normalisation and dropout on images', () => {
  it('batch-norm normalises per channel over batch, height and width, and tracks per-channel moving statistics', () => {
    const bn = new BatchNorm('bn', [2, 2, 3], 0.9, 1e-6);
    // Channel c of example b at position p: (c + 1) · (p + 4b) → each channel has its own mean and spread.
    const data = new Float32Array(2 * 2 * 2 * 3);
    for (let b = 0; b < 2; b++)
      for (let p = 0; p < 4; p++) for (let c = 0; c < 3; c++) data[(b * 4 + p) * 3 + c] = (c + 1) * (p + 4 * b);
    const x = tf.tensor4d(data, [2, 2, 2, 3]);
    try {
      expect(bn.gamma.shape).toEqual([3]);
      expect(bn.movingMean.shape).toEqual([3]);
      const y = bn.apply(x, true);
      const perChannel = (t: tf.Tensor): { mean: number[]; variance: number[] } => {
        const { mean, variance } = tf.moments(t, [0, 1, 2]);
        return { mean: tensorValues(mean), variance: tensorValues(variance) };
      };
      const stats = perChannel(y);
      expectClose(stats.mean, [0, 0, 0], 5);
      expectClose(stats.variance, [1, 1, 1], 4);
      // Values 0..7 times (c + 1): mean 3.5 (c + 1), variance 5.25 (c + 1)²; moving = 0.9 · init + 0.1 · batch.
      expectClose(tensorValues(bn.movingMean), [0.35, 0.7, 1.05], 5);
      expectClose(tensorValues(bn.movingVariance), [0.9 + 0.525, 0.9 + 0.525 * 4, 0.9 + 0.525 * 9], 4);
      // Inference uses the moving statistics, per channel.
      const inference = tensorValues(bn.apply(x, false));
      expect(inference[5]).toBeCloseTo((data[5]! - 1.05) / Math.sqrt(0.9 + 0.525 * 9 + 1e-6), 4);
    } finally {
      tf.dispose([...bn.trainable, ...bn.state]);
    }
  });

  it('layer-norm normalises each example over height, width and channels (and works on flat inputs)', () => {
    const ln = new LayerNorm('ln', [2, 2, 3], 1e-6);
    const flat = new LayerNorm('lnf', 4, 1e-6);
    try {
      const y = ln.apply(input(3, 12).reshape([3, 2, 2, 3]));
      const { mean, variance } = tf.moments(y, [1, 2, 3]);
      expectClose(tensorValues(mean), [0, 0, 0], 5);
      expectClose(tensorValues(variance), [1, 1, 1], 4);
      const z = flat.apply(tf.tensor2d([[1, 2, 3, 4]]));
      const sd = Math.sqrt(1.25);
      expectClose(tensorValues(z), [-1.5 / sd, -0.5 / sd, 0.5 / sd, 1.5 / sd], 4);
    } finally {
      tf.dispose([...ln.trainable, ...flat.trainable]);
    }
  });

  it('dropout on an image: zero or scaled per element, same mask for the same step', () => {
    const s = stack([reshape([4, 5, 2]), dropout(0.5), flatten], 40);
    const x = tf.ones([6, 40]) as tf.Tensor2D;
    try {
      const a = tensorValues(s.apply(x, true));
      expect(a.every((v) => v === 0 || Math.abs(v - 2) < 1e-6)).toBe(true);
      expect(a.filter((v) => v === 0).length).toBeGreaterThan(40);
      expect(tensorValues(s.apply(x, true))).toEqual(a);
      expect(tensorValues(s.apply(x, false)).every((v) => v === 1)).toBe(true);
    } finally {
      s.dispose();
    }
  });
});
