/**
 * Image layers (reshape, conv2d, max-/avg-pool, flatten) and convolutional trunks under every architecture:
 * hand-computed outputs and gradients, shape rules and their errors, per-channel normalisation, the wasm kernels the
 * layers rely on (checked against the cpu backend), and a short training on multi-digits with a conv trunk per
 * architecture whose checkpoint `mtl eval` reads back exactly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateRun } from '../src/api/evaluate.js';
import { trainExperiment } from '../src/api/train.js';
import { initBackend } from '../src/backend/select.js';
import { loadConfig, parseConfigText } from '../src/config/load.js';
import type { LayerConfig, ModelConfig } from '../src/config/types.js';
import { UsageError } from '../src/errors.js';
import { checkpointVariables } from '../src/model/checkpoint.js';
import { blockFeatureShape, splitBlocks, type InspectableModel } from '../src/model/experts.js';
import { BatchNorm } from '../src/model/layers/batch-norm.js';
import { Conv2D } from '../src/model/layers/conv2d.js';
import { LayerNorm } from '../src/model/layers/layer-norm.js';
import { Pool2D } from '../src/model/layers/pool.js';
import { LayerStack } from '../src/model/layers/stack.js';
import { architectureRegistry, buildArchitecture, getArchitecture } from '../src/model/registry.js';
import type { HeadSpec, MultiTaskModel } from '../src/model/types.js';
import { StepClock } from '../src/model/step-clock.js';
import { createRng } from '../src/util/rng.js';

const reshape = (shape: [number, number, number]): LayerConfig => ({ type: 'reshape', shape });
const conv = (filters: number, kernel: number | [number, number] = 3, extra: Partial<Extract<LayerConfig, { type: 'conv2d' }>> = {}): LayerConfig => ({
  type: 'conv2d',
  filters,
  kernel,
  stride: 1,
  padding: 'same',
  activation: 'relu',
  bias: true,
  ...extra,
});
const maxPool = (size: number): LayerConfig => ({ type: 'max-pool', size, padding: 'valid' });
const flatten: LayerConfig = { type: 'flatten' };
const dense = (units: number): LayerConfig => ({ type: 'dense', units, activation: 'relu', bias: true });
const dropout = (rate: number): LayerConfig => ({ type: 'dropout', rate });
const batchNorm: LayerConfig = { type: 'batch-norm', momentum: 0.9, epsilon: 0.001 };

/** The configs/multi-digits-conv.yaml trunk (8 × 12 images). */
const digitsTrunk: LayerConfig[] = [reshape([8, 12, 1]), conv(16), maxPool(2), conv(32), flatten, dense(64)];

/** A small image trunk for unit tests: 4 × 5 × 2 images (40 inputs). */
const smallTrunk: LayerConfig[] = [reshape([4, 5, 2]), conv(3), batchNorm, maxPool(2), conv(4, [2, 2], { padding: 'valid' }), dropout(0.2), flatten, dense(6)];

const twoHeads: HeadSpec[] = [
  { name: 'a', type: 'regression', outputSize: 1 },
  { name: 'b', type: 'multiclass', outputSize: 3 },
];

const smallOptions: Record<string, Record<string, unknown>> = {
  'soft-sharing': { coupling: 'trace-norm', lambda: 0.01 },
  'cross-stitch': { alpha: 0.9 },
  mmoe: { experts: 2 },
  cgc: { shared_experts: 1, task_experts: 1 },
  ple: { levels: 2, shared_experts: 1, task_experts: 1 },
  attention: {},
  'dselect-k': { experts: 2, k: 2, gamma: 1, entropy_reg: 0.001 },
};

function buildModel(architecture: string, trunk: LayerConfig[] = smallTrunk, inputSize = 40, seed = 1): MultiTaskModel {
  const config: ModelConfig = { architecture, trunk, head: [], ...(smallOptions[architecture] ?? {}) };
  return getArchitecture(architecture).build(config, { inputSize, heads: twoHeads, rng: createRng(seed).fork('model') });
}

function stack(configs: LayerConfig[], inputSize: number, name = 'shared'): LayerStack {
  return new LayerStack(name, inputSize, configs, createRng(1), new StepClock(1));
}

function input(rows: number, columns: number, seed = 3): tf.Tensor2D {
  const rng = createRng(seed);
  return tf.tensor2d(Float32Array.from({ length: rows * columns }, () => rng.normal()), [rows, columns]);
}

function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, digits = 5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(actual[i], `index ${i}`).toBeCloseTo(expected[i] as number, digits);
}

/** The error a function throws (it must throw a UsageError). */
function usageError(f: () => unknown): UsageError {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error('expected a UsageError');
}

beforeAll(async () => {
  await initBackend('wasm');
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
      expectClose(values(y), [37.5, 47.5, 67.5, 77.5]);
      relu.kernel.assign(tf.tensor4d([1, 2, 3, 4], [2, 2, 1, 1]));
      relu.bias?.assign(tf.tensor1d([-50]));
      expectClose(values(relu.apply(x())), [0, 0, 17, 27]);
    } finally {
      tf.dispose([...layer.trainable, ...relu.trainable]);
    }
  });

  it('two input channels and two filters keep the channels-last layout', () => {
    const layer = new Conv2D('c2', [3, 3, 2], 2, 2, 1, 'valid', 'linear', false, createRng(1));
    try {
      expect(layer.bias).toBeUndefined();
      // channel 0 = x, channel 1 = 1 everywhere. Filter 0: K on channel 0, 10 at [0,0] of channel 1; filter 1: ones on channel 0.
      const kernel = new Float32Array(2 * 2 * 2 * 2);
      const at = (u: number, v: number, c: number, o: number): number => ((u * 2 + v) * 2 + c) * 2 + o;
      [1, 2, 3, 4].forEach((k, i) => (kernel[at(Math.floor(i / 2), i % 2, 0, 0)] = k));
      kernel[at(0, 0, 1, 0)] = 10;
      for (let i = 0; i < 4; i++) kernel[at(Math.floor(i / 2), i % 2, 0, 1)] = 1;
      layer.kernel.assign(tf.tensor4d(kernel, [2, 2, 2, 2]));
      const input2 = tf.stack([x().reshape([3, 3]), tf.ones([3, 3])], 2).reshape([1, 3, 3, 2]);
      const y = layer.apply(input2);
      expect(y.shape).toEqual([1, 2, 2, 2]);
      expectClose(values(y), [47, 12, 57, 16, 77, 24, 87, 28]);
    } finally {
      tf.dispose(layer.trainable);
    }
  });

  it('same padding with stride 2 pads at the bottom/right as TensorFlow does', () => {
    const layer = new Conv2D('s', [3, 3, 1], 1, 2, 2, 'same', 'linear', false, createRng(1));
    try {
      expect(layer.outputShape).toEqual([2, 2, 1]);
      layer.kernel.assign(tf.ones([2, 2, 1, 1]));
      expectClose(values(layer.apply(x())), [1 + 2 + 4 + 5, 3 + 6, 7 + 8, 9]);
    } finally {
      tf.dispose(layer.trainable);
    }
  });

  it('kernel and bias gradients on wasm: ∂Σy/∂K[u,v] = Σ_ij x[i+u, j+v], ∂Σy/∂b = number of outputs', () => {
    for (const activation of ['linear', 'relu'] as const) {
      const layer = new Conv2D(`g-${activation}`, [3, 3, 1], 1, 2, 1, 'valid', activation, true, createRng(1));
      try {
        layer.kernel.assign(tf.ones([2, 2, 1, 1])); // every output positive, so relu passes the gradient
        const { value, grads } = tf.variableGrads(() => tf.sum(layer.apply(x())) as tf.Scalar, layer.trainable);
        expectClose(values(grads[layer.kernel.name] as tf.Tensor), [12, 16, 24, 28]);
        expectClose(values(grads[(layer.bias as tf.Variable).name] as tf.Tensor), [4]);
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
      const k = values(a.kernel);
      expect(k).toEqual(values(b.kernel));
      expect(k.every((v) => Math.abs(v) <= limit)).toBe(true);
      expect(Math.max(...k.map(Math.abs))).toBeGreaterThan(limit * 0.9);
      expect(values(a.bias as tf.Variable).every((v) => v === 0)).toBe(true);
    } finally {
      tf.dispose([...a.trainable, ...b.trainable]);
    }
  });
});

describe('pooling (hand-computed)', () => {
  const grid4 = (): tf.Tensor4D => tf.tensor4d(Array.from({ length: 16 }, (_, i) => i + 1), [1, 4, 4, 1]);
  const grid3 = (): tf.Tensor4D => tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);

  it('max-pool and avg-pool 2×2 on a 4×4 input', () => {
    const max = new Pool2D('max', [4, 4, 1], 2, undefined, 'valid');
    const avg = new Pool2D('avg', [4, 4, 1], 2, undefined, 'valid');
    expect(max.outputShape).toEqual([2, 2, 1]);
    expect(max.strides).toEqual([2, 2]); // stride defaults to the window
    expectClose(values(max.apply(grid4())), [6, 8, 14, 16]);
    expectClose(values(avg.apply(grid4())), [3.5, 5.5, 11.5, 13.5]);
    // Overlapping windows: 3×3 max-pool, stride 1 → 2×2.
    expectClose(values(new Pool2D('max', [4, 4, 1], 3, 1, 'valid').apply(grid4())), [11, 12, 15, 16]);
  });

  it('same padding: padded positions never win a max and do not count in an average, in the gradient too', () => {
    const max = new Pool2D('max', [3, 3, 1], 2, 2, 'same');
    const avg = new Pool2D('avg', [3, 3, 1], 2, 2, 'same');
    expect(avg.outputShape).toEqual([2, 2, 1]);
    expectClose(values(max.apply(tf.neg(grid3()))), [-1, -3, -7, -9]);
    expectClose(values(avg.apply(grid3())), [3, 4.5, 7.5, 9]);
    // Windows: {1,2,4,5} (4 in range), {3,6} (2), {7,8} (2), {9} (1): each element gets 1/count of its window.
    const dx = tf.grad((x: tf.Tensor) => tf.sum(avg.apply(x)))(grid3());
    expectClose(values(dx), [0.25, 0.25, 0.5, 0.25, 0.25, 0.5, 0.5, 0.5, 1]);
    const dxMax = tf.grad((x: tf.Tensor) => tf.sum(max.apply(x)))(grid3());
    expectClose(values(dxMax), [0, 0, 0, 0, 1, 1, 0, 1, 1]);
  });

  it('max-pool gradient goes to the window maximum on a 6×6 input (the stock wasm kernel gets this one wrong)', () => {
    const data = Array.from({ length: 36 }, (_, i) => ((i * 17) % 36) - 10);
    const x = tf.tensor4d(data, [1, 6, 6, 1]);
    const dx = values(tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid'), tf.range(1, 10).reshape([1, 3, 3, 1]))))(x));
    const expected = new Array<number>(36).fill(0);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        const window = [0, 1, 6, 7].map((o) => i * 12 + j * 2 + o);
        const arg = window.reduce((best, k) => ((data[k] as number) > (data[best] as number) ? k : best));
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
          const dFilter = tf.grad((k: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, k as tf.Tensor4D, c.strides as [number, number], c.pad), dy)))(f);
          const pooled = tf.maxPool(x, [3, 2], [2, 2], c.pad);
          const dp = tf.randomUniform(pooled.shape, -1, 1, 'float32', 40 + n);
          const dPool = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, [3, 2], [2, 2], c.pad), dp)))(x);
          return [values(dFilter), values(dPool)];
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
      dFilter.forEach((v, i) => expect(Math.abs(v - (cpuFilter[i] as number)), `case ${n} dW[${i}]`).toBeLessThan(1e-5 * scale));
      dPool.forEach((v, i) => expect(v, `case ${n} dx[${i}]`).toBeCloseTo(cpuPool[i] as number, 6));
    });
  });
});

describe('shapes through a stack', () => {
  it('the multi-digits conv trunk: per-layer shapes, variable names and shapes, flat output', () => {
    const trunk = stack(digitsTrunk, 96);
    const x = input(5, 96);
    try {
      expect(trunk.layers.map((l) => l.outputShape)).toEqual([[8, 12, 1], [8, 12, 16], [4, 6, 16], [4, 6, 32], [768], [64]]);
      expect(trunk.layers.map((l) => l.outputSize)).toEqual([96, 1536, 384, 768, 768, 64]);
      expect(trunk.outputShape).toEqual([64]);
      expect(trunk.outputSize).toBe(64);
      expect(trunk.trainable.map((v) => [v.name, v.shape])).toEqual([
        ['shared/1/kernel', [3, 3, 1, 16]],
        ['shared/1/bias', [16]],
        ['shared/3/kernel', [3, 3, 16, 32]],
        ['shared/3/bias', [32]],
        ['shared/5/kernel', [768, 64]],
        ['shared/5/bias', [64]],
      ]);
      const y = trunk.apply(x, true);
      expect(y.shape).toEqual([5, 64]);
      expect(values(y).every(Number.isFinite)).toBe(true);
      y.dispose();
    } finally {
      x.dispose();
      trunk.dispose();
    }
  });

  it('reshape is row-major (height, width, channels) and flatten undoes it', () => {
    const s = stack([reshape([2, 3, 2]), flatten], 12);
    const x = tf.tensor2d([Array.from({ length: 12 }, (_, i) => i)]);
    try {
      const image = s.layers[0]?.apply(x, false) as tf.Tensor;
      expect(image.shape).toEqual([1, 2, 3, 2]);
      expect((image.arraySync() as number[][][][])[0]?.[1]?.[2]).toEqual([10, 11]);
      expect(values(s.apply(x, false))).toEqual(values(x));
    } finally {
      s.dispose();
    }
  });

  it('strides, valid padding and non-square windows', () => {
    const s = stack([reshape([7, 8, 1]), conv(5, [3, 2], { stride: 2, padding: 'valid' }), { type: 'avg-pool', size: [1, 2], padding: 'same' }, flatten], 56);
    try {
      // conv: ⌈(7 − 3 + 1) / 2⌉ = 3, ⌈(8 − 2 + 1) / 2⌉ = 4; pool 1×2 stride 1×2 same: 3, 2.
      expect(s.layers.map((l) => l.outputShape)).toEqual([[7, 8, 1], [3, 4, 5], [3, 2, 5], [30]]);
      expect(s.outputSize).toBe(30);
    } finally {
      s.dispose();
    }
  });

  it('blocks of a conv trunk start at dense and conv2d layers; a conv block ending in flatten is seen as its image', () => {
    expect(splitBlocks(digitsTrunk)).toEqual([
      { start: 0, end: 3 },
      { start: 3, end: 5 },
      { start: 5, end: 6 },
    ]);
    const trunk = stack(digitsTrunk, 96);
    try {
      expect(splitBlocks(digitsTrunk).map((block) => blockFeatureShape(trunk, 96, block))).toEqual([[4, 6, 16], [4, 6, 32], [64]]);
    } finally {
      trunk.dispose();
    }
  });
});

describe('shape errors', () => {
  it('a reshape whose product is not the input width names the layer and both sizes', () => {
    const error = usageError(() => stack([reshape([8, 12, 1]), conv(4), flatten], 100));
    expect(error.message).toBe(
      'model.trunk[0] (reshape): shape [8, 12, 1] holds 96 values, but its input (the model input) has 100; choose [height, width, channels] with height × width × channels = 100',
    );
    const later = usageError(() => stack([dense(10), reshape([3, 3, 1]), flatten], 5));
    expect(later.message).toMatch(/^model\.trunk\[1\] \(reshape\): shape \[3, 3, 1\] holds 9 values, but its input \(the output of model\.trunk\[0\]\) has 10/);
  });

  it('rank errors at build time: conv on a flat vector, dense on an image, a stack ending in an image, a window too large', () => {
    const convOnFlat = usageError(() => stack([conv(4), dense(2)], 16));
    expect(convOnFlat.message).toBe('model.trunk has 2 shape problems:');
    expect(convOnFlat.details[0]).toMatch(/^model\.trunk\[0\] \(conv2d\): a conv2d layer needs an image input .*reshape/);
    expect(convOnFlat.details[1]).toMatch(/^model\.trunk\[1\] \(dense\): a dense layer needs a flat input/);
    expect(usageError(() => stack([reshape([4, 4, 1]), dense(3)], 16)).message).toMatch(/^model\.trunk\[1\] \(dense\): a dense layer needs a flat input .*flatten/);
    expect(usageError(() => stack([reshape([4, 4, 1]), conv(2)], 16)).message).toMatch(/^model\.trunk\[1\] \(conv2d\): the layers end with an image/);
    expect(usageError(() => stack([reshape([4, 4, 1]), conv(2, 5, { padding: 'valid' }), flatten], 16)).message).toMatch(
      /^model\.trunk\[1\] \(conv2d\): a 5×5 window with padding valid does not fit its \[4, 4, 1\] input/,
    );
    // A head that does not fit, after the trunk was built: buildArchitecture frees the trunk's variables again.
    const context = { inputSize: 4, heads: twoHeads, rng: createRng(1) };
    const before = tf.memory().numTensors;
    const head = usageError(() => buildArchitecture({ architecture: 'hard-sharing', trunk: [dense(8)], head: [conv(2), flatten] }, context));
    expect(head.message).toMatch(/^model\.head\[0\] \(conv2d\): a conv2d layer needs an image input/);
    expect(tf.memory().numTensors).toBe(before);
    buildArchitecture({ architecture: 'hard-sharing', trunk: [dense(8)], head: [] }, context).dispose();
  });

  const base = (trunk: string, extra = ''): string => `name: conv-errors
data:
  dataset: multi-digits
tasks:
  - { name: left, type: multiclass }
  - { name: right, type: multiclass }
model:
  trunk:
${trunk}
${extra}`;

  function configProblems(text: string): string[] {
    try {
      parseConfigText(text, { displayName: 'exp.yaml' });
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError);
      return (error as UsageError).details;
    }
    throw new Error('expected the config to be rejected');
  }

  it('config validation reports shape rules at the layer, with its position', () => {
    const details = configProblems(base('    - { type: conv2d, filters: 4, kernel: 3 }\n    - { type: dense, units: 8 }'));
    expect(details).toHaveLength(2);
    expect(details[0]).toMatch(/^exp\.yaml:9:7: model\.trunk\[0\]: a conv2d layer needs an image input/);
    expect(details[1]).toMatch(/^exp\.yaml:10:7: model\.trunk\[1\]: a dense layer needs a flat input/);
    const ending = configProblems(base('    - { type: reshape, shape: [8, 12, 1] }\n    - { type: max-pool, size: 2 }'));
    expect(ending[0]).toMatch(/^exp\.yaml:10:7: model\.trunk\[1\]: the layers end with an image; add \{ type: flatten \}/);
    const denseOnImage = configProblems(base('    - { type: reshape, shape: [8, 12, 1] }\n    - { type: dense, units: 8 }'));
    expect(denseOnImage[0]).toMatch(/model\.trunk\[1\]: a dense layer needs a flat input but gets an image/);
  });

  it('the schema checks each new layer type', () => {
    const details = configProblems(
      base(
        [
          '    - { type: reshape, shape: [8, 12] }',
          '    - { type: conv2d, filters: 4, kernel: "3", padding: full }',
          '    - { type: max-pool, size: [2, 2], strides: 2 }',
          '    - { type: flatten, units: 3 }',
        ].join('\n'),
      ),
    );
    expect(details).toContain('exp.yaml:9:31: model.trunk[0].shape: must NOT have fewer than 3 items (got [8,12])');
    expect(details).toContain('exp.yaml:10:43: model.trunk[1].kernel: expected a whole number or a list, got "3"');
    expect(details.some((d) => d.includes('model.trunk[1].padding: "full" is not allowed') && d.includes('same, valid'))).toBe(true);
    expect(details.some((d) => d.includes('model.trunk[2].strides: unknown field "strides"; did you mean "stride"?'))).toBe(true);
    expect(details.some((d) => d.includes('model.trunk[3].units: unknown field "units"'))).toBe(true);
  });

  it('fills layer defaults: conv stride 1, same padding, relu, bias; pool stride = size, valid padding', () => {
    const { config } = parseConfigText(
      base('    - { type: reshape, shape: [8, 12, 1] }\n    - { type: conv2d, filters: 4, kernel: [3, 2] }\n    - { type: avg-pool, size: [2, 3] }\n    - { type: flatten }'),
    );
    expect(config.model.trunk[1]).toEqual({ type: 'conv2d', filters: 4, kernel: [3, 2], stride: 1, padding: 'same', activation: 'relu', bias: true });
    expect(config.model.trunk[2]).toEqual({ type: 'avg-pool', size: [2, 3], stride: [2, 3], padding: 'valid' });
  });

  it('ple: levels after the first need trunk layers after the flatten', () => {
    const trunk = '    - { type: reshape, shape: [8, 12, 1] }\n    - { type: conv2d, filters: 4, kernel: 3 }\n    - { type: flatten }';
    const details = configProblems(base(trunk, '  architecture: ple\n  levels: 2'));
    expect(details).toHaveLength(1);
    expect(details[0]).toMatch(/model\.levels: levels after the first are built from the trunk layers after its last flatten/);
    expect(() => parseConfigText(base(trunk, '  architecture: ple\n  levels: 1'))).not.toThrow();
  });
});

describe('normalisation and dropout on images', () => {
  it('batch-norm normalises per channel over batch, height and width, and tracks per-channel moving statistics', () => {
    const bn = new BatchNorm('bn', [2, 2, 3], 0.9, 1e-6);
    // Channel c of example b at position p: (c + 1) · (p + 4b) → each channel has its own mean and spread.
    const data = new Float32Array(2 * 2 * 2 * 3);
    for (let b = 0; b < 2; b++) for (let p = 0; p < 4; p++) for (let c = 0; c < 3; c++) data[(b * 4 + p) * 3 + c] = (c + 1) * (p + 4 * b);
    const x = tf.tensor4d(data, [2, 2, 2, 3]);
    try {
      expect(bn.gamma.shape).toEqual([3]);
      expect(bn.movingMean.shape).toEqual([3]);
      const y = bn.apply(x, true);
      const perChannel = (t: tf.Tensor): { mean: number[]; variance: number[] } => {
        const { mean, variance } = tf.moments(t, [0, 1, 2]);
        return { mean: values(mean), variance: values(variance) };
      };
      const stats = perChannel(y);
      expectClose(stats.mean, [0, 0, 0], 5);
      expectClose(stats.variance, [1, 1, 1], 4);
      // Values 0..7 times (c + 1): mean 3.5 (c + 1), variance 5.25 (c + 1)²; moving = 0.9 · init + 0.1 · batch.
      expectClose(values(bn.movingMean), [0.35, 0.7, 1.05], 5);
      expectClose(values(bn.movingVariance), [0.9 + 0.525, 0.9 + 0.525 * 4, 0.9 + 0.525 * 9], 4);
      // Inference uses the moving statistics, per channel.
      const inference = values(bn.apply(x, false));
      expect(inference[5]).toBeCloseTo((data[5] as number - 1.05) / Math.sqrt(0.9 + 0.525 * 9 + 1e-6), 4);
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
      expectClose(values(mean), [0, 0, 0], 5);
      expectClose(values(variance), [1, 1, 1], 4);
      const z = flat.apply(tf.tensor2d([[1, 2, 3, 4]]));
      const sd = Math.sqrt(1.25);
      expectClose(values(z), [-1.5 / sd, -0.5 / sd, 0.5 / sd, 1.5 / sd], 4);
    } finally {
      tf.dispose([...ln.trainable, ...flat.trainable]);
    }
  });

  it('dropout on an image: zero or scaled per element, same mask for the same step', () => {
    const s = stack([reshape([4, 5, 2]), dropout(0.5), flatten], 40);
    const x = tf.ones([6, 40]) as tf.Tensor2D;
    try {
      const a = values(s.apply(x, true));
      expect(a.every((v) => v === 0 || Math.abs(v - 2) < 1e-6)).toBe(true);
      expect(a.filter((v) => v === 0).length).toBeGreaterThan(40);
      expect(values(s.apply(x, true))).toEqual(a);
      expect(values(s.apply(x, false)).every((v) => v === 1)).toBe(true);
    } finally {
      s.dispose();
    }
  });
});

describe('architectures with a conv trunk', () => {
  it('soft-sharing couples conv kernels: l2 over every kernel, trace norm of [kh·kw·c_in, c_out] matrices side by side', () => {
    const trunk = [reshape([2, 2, 1]), conv(2, 2, { padding: 'valid', activation: 'linear' }), flatten];
    const build = (coupling: string): MultiTaskModel =>
      getArchitecture('soft-sharing').build({ architecture: 'soft-sharing', trunk, head: [], coupling, lambda: 0.5 }, { inputSize: 4, heads: twoHeads, rng: createRng(1) });
    // Task a's kernel as a [4, 2] matrix [[1,0],[0,1],[0,0],[0,0]]; task b's [[0,0],[0,0],[3,0],[0,4]].
    const ka = tf.tensor4d([1, 0, 0, 1, 0, 0, 0, 0], [2, 2, 1, 2]);
    const kb = tf.tensor4d([0, 0, 0, 0, 3, 0, 0, 4], [2, 2, 1, 2]);
    for (const coupling of ['l2', 'trace-norm']) {
      const model = build(coupling);
      try {
        const named = Object.fromEntries(checkpointVariables(model).map((v) => [v.name, v]));
        named['tasks/a/tower/1/kernel']?.assign(ka);
        named['tasks/b/tower/1/kernel']?.assign(kb);
        const p = model.penalty?.() as tf.Scalar;
        // l2: ‖Ka − Kb‖² = 1 + 1 + 9 + 16 = 27; trace norm of [[1,0,0,0],[0,1,0,0],[0,0,3,0],[0,0,0,4]] = 1 + 1 + 3 + 4 = 9.
        expect(p.dataSync()[0]).toBeCloseTo(0.5 * (coupling === 'l2' ? 27 : 9), 4);
        p.dispose();
      } finally {
        model.dispose();
      }
    }
    tf.dispose([ka, kb]);
  });

  it('cross-stitch mixes feature maps elementwise', () => {
    const model = buildModel('cross-stitch') as InspectableModel;
    const x = input(3, 40);
    try {
      const record = model.inspect(x);
      const pre = ['a', 'b'].map((t) => values(record[`tower/${t}/0`] as tf.Tensor));
      expect((record['tower/a/0'] as tf.Tensor).shape).toEqual([3, 2, 2, 3]); // conv → batch-norm → max-pool
      values(record['mixed/a/0'] as tf.Tensor).forEach((v, i) => expect(v).toBeCloseTo(0.9 * (pre[0]?.[i] as number) + 0.1 * (pre[1]?.[i] as number), 5));
      for (const t of Object.values(record)) t.dispose();
    } finally {
      x.dispose();
      model.dispose();
    }
  });

  it('attention: per-position, per-channel masks in (0, 1) on conv blocks, and forward = decode(encode(x))', () => {
    const model = buildModel('attention') as InspectableModel;
    const x = input(3, 40);
    try {
      const record = model.inspect(x);
      // Blocks: [reshape, conv, batch-norm, max-pool] → [2, 2, 3]; [conv 2×2 valid, dropout, flatten] → image [1, 1, 4]; [dense] → [6].
      expect((record['mask/a/0'] as tf.Tensor).shape).toEqual([3, 2, 2, 3]);
      expect((record['mask/a/1'] as tf.Tensor).shape).toEqual([3, 1, 1, 4]);
      expect((record['mask/b/2'] as tf.Tensor).shape).toEqual([3, 6]);
      for (const t of Object.values(record)) for (const v of t.dataSync()) expect(v > 0 && v < 1).toBe(true);
      // 1×1-conv masks: kernels [C_j + C_{j−1}, C_j].
      const names = Object.fromEntries(checkpointVariables(model).map((v) => [v.name, v.shape]));
      expect(names['tasks/a/attention/0/kernel']).toEqual([3, 3]);
      expect(names['tasks/a/attention/1/kernel']).toEqual([4 + 3, 4]);
      expect(names['tasks/a/attention/2/kernel']).toEqual([6 + 4, 6]);
      const { outputs, representation } = model.forward(x, false);
      expect(representation?.shape).toEqual([3, 12 + 4 + 6]);
      const decoded = model.decode?.(model.encode?.(x, false) as tf.Tensor, false) as Record<string, tf.Tensor2D>;
      for (const name of ['a', 'b']) expectClose(values(decoded[name] as tf.Tensor), values(outputs[name] as tf.Tensor), 6);
      for (const t of Object.values(record)) t.dispose();
    } finally {
      x.dispose();
      model.dispose();
    }
  });

  it('ple: the first level runs the whole conv trunk, later levels its flat tail (named by trunk index)', () => {
    const model = buildModel('ple');
    try {
      const names = checkpointVariables(model).map((v) => v.name);
      expect(names).toContain('levels/0/shared-experts/0/1/kernel'); // conv
      expect(names).toContain('levels/1/shared-experts/0/7/kernel'); // the dense after the flatten
      expect(names.some((n) => n.startsWith('levels/1/shared-experts/0/1/'))).toBe(false);
    } finally {
      model.dispose();
    }
  });

  it.each([...architectureRegistry.keys()])('%s: shapes, finite outputs, every trainable variable reached, stable tensor count', (name) => {
    const model = buildModel(name);
    const x = input(4, 40);
    try {
      model.setStep(2);
      const before = tf.memory().numTensors;
      const { outputs, representation } = model.forward(x, true);
      expect((outputs['a'] as tf.Tensor).shape).toEqual([4, 1]);
      expect((outputs['b'] as tf.Tensor).shape).toEqual([4, 3]);
      for (const o of Object.values(outputs)) expect(values(o).every(Number.isFinite)).toBe(true);
      tf.dispose([...Object.values(outputs), ...(representation ? [representation] : [])]);
      // Hard sharing leaves tidying its forward pass to the caller (the trainer's tape); the others tidy their own.
      if (name !== 'hard-sharing') expect(tf.memory().numTensors).toBe(before);
      const trainable = [...model.sharedVariables, ...Object.values(model.taskVariables).flat()];
      const { value, grads } = tf.variableGrads(
        () => tf.addN(Object.values(model.forward(x, true).outputs).map((o) => tf.sum(tf.square(o)))) as tf.Scalar,
        trainable,
      );
      for (const v of trainable) expect(values(grads[v.name] as tf.Tensor).some((g) => g !== 0), `${v.name} gets no gradient`).toBe(true);
      tf.dispose([value, ...Object.values(grads)]);
    } finally {
      x.dispose();
      model.dispose();
    }
  });
});

describe('training on multi-digits with a conv trunk, every architecture', () => {
  let runsDir: string;
  beforeAll(() => {
    runsDir = mkdtempSync(path.join(tmpdir(), 'mtl-conv-runs-'));
  });
  afterAll(() => {
    rmSync(runsDir, { recursive: true, force: true });
  });

  /** Small options per architecture, as --set overrides. */
  const options: Record<string, string[]> = {
    'hard-sharing': [],
    'soft-sharing': ['model.coupling=l2', 'model.lambda=0.001'],
    'cross-stitch': ['model.alpha=0.9'],
    mmoe: ['model.experts=2'],
    cgc: ['model.shared_experts=1', 'model.task_experts=1'],
    ple: ['model.levels=2', 'model.shared_experts=1', 'model.task_experts=1'],
    attention: [],
    'dselect-k': ['model.experts=2', 'model.k=2', 'model.entropy_reg=0.0001'],
  };

  it('covers the whole registry', () => {
    expect(Object.keys(options).sort()).toEqual([...architectureRegistry.keys()].sort());
  });

  it.each([...architectureRegistry.keys()])('%s on configs/multi-digits-conv.yaml: finite falling loss; mtl eval of the checkpoint gives the summary test metrics', async (name) => {
    // The shipped conv config, shortened: 1,000 composites, 2 epochs.
    const loaded = loadConfig(path.join(import.meta.dirname, '..', 'configs', 'multi-digits-conv.yaml'), [
      'backend=wasm',
      'data.options.samples=1000',
      'training.epochs=2',
      `model.architecture=${name}`,
      ...(options[name] ?? []),
    ]);
    expect(loaded.config.model.trunk.map((layer) => layer.type)).toEqual(['reshape', 'conv2d', 'max-pool', 'conv2d', 'flatten', 'dense']);
    const losses: number[] = [];
    const before = tf.memory().numTensors;
    const summary = await trainExperiment(loaded, {
      runsDir,
      command: ['test'],
      listeners: [{ onEpochEnd: (record) => void losses.push((record.trainLoss['left'] ?? NaN) + (record.trainLoss['right'] ?? NaN)) }],
    });
    expect(summary.status).toBe('completed');
    expect(losses).toHaveLength(2);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[1]).toBeLessThan(losses[0] as number);
    expect(summary.test['mean/accuracy']).toBeGreaterThan(0.2); // chance is 0.1
    expect(tf.memory().numTensors).toBe(before);
    const evaluation = await evaluateRun(summary.dir, { split: 'test' });
    for (const [key, value] of Object.entries(summary.test)) expect(evaluation.metrics[key], key).toBe(value);
  });
});
