/**
 * The project's wasm kernels on operands with no rows (a feature adversary's batch without a selected side, a bias
 * gradient over none): every product and sum gives the cpu backend's answer and none reads outside its tensors. The
 * stock wasm kernels they used to hand such operands to read out of bounds (an empty product through XNNPACK:
 * `memory access out of bounds`) or return what the heap held (a product over an empty inner dimension, a sum over
 * an empty axis). The heap is filled with 7s first, so heap garbage cannot pass for the right 0.
 */
import { tf } from '../src/tf.js';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  installFastWasmKernels,
  isFastWasmKernelInstalled,
  setSimdKernelsEnabled,
  uninstallFastWasmKernels,
} from '../src/backend/wasm/index.js';
import { denseLinear, denseRelu } from '../src/ops/dense.js';
import { values } from './helpers.js';

let previousBackend: string | undefined;
let wasStockBefore: boolean;

beforeAll(async () => {
  previousBackend = tf.getBackend() as string | undefined;
  wasStockBefore = !isFastWasmKernelInstalled('BatchMatMul');
  await tf.setBackend('cpu');
  await tf.ready();
  await tf.setBackend('wasm');
  await tf.ready();
  installFastWasmKernels();
}, 60_000);

afterAll(async () => {
  if (wasStockBefore) uninstallFastWasmKernels();
  if (previousBackend !== undefined && previousBackend !== tf.getBackend()) await tf.setBackend(previousBackend);
});

/** Leaves freed heap full of 7s, where the next outputs are likely to be placed. */
function poisonHeap(): void {
  const junk = tf.fill([4096], 7);
  junk.dataSync();
  junk.dispose();
}

async function on(backend: string, f: () => tf.Tensor): Promise<{ shape: number[]; data: number[] }> {
  const before = tf.getBackend();
  await tf.setBackend(backend);
  try {
    if (backend === 'wasm') poisonHeap();
    const y = tf.tidy(f);
    const result = { shape: y.shape, data: Array.from(await y.data()) };
    y.dispose();
    return result;
  } finally {
    await tf.setBackend(before);
  }
}

const t = (shape: number[], seed: number): tf.Tensor =>
  tf.tensor(
    values(
      shape.reduce((p, d) => p * d, 1),
      seed,
    ),
    shape,
  );

const products: Array<[string, () => tf.Tensor]> = [
  ['no rows', () => tf.matMul(t([0, 16], 1) as tf.Tensor2D, t([16, 32], 2) as tf.Tensor2D)],
  ['no columns', () => tf.matMul(t([5, 16], 1) as tf.Tensor2D, t([16, 0], 2) as tf.Tensor2D)],
  ['no batch entries', () => tf.matMul(t([0, 3, 4], 1) as tf.Tensor3D, t([0, 4, 2], 2) as tf.Tensor3D)],
  ['an empty inner dimension', () => tf.matMul(t([5, 0], 1) as tf.Tensor2D, t([0, 3], 2) as tf.Tensor2D)],
  // A dense layer's weight gradient xᵀ·dy over a batch of no rows.
  ['xᵀ·dy over no rows', () => tf.matMul(t([0, 16], 1) as tf.Tensor2D, t([0, 32], 2) as tf.Tensor2D, true, false)],
  ['dy·Wᵀ over no rows', () => tf.matMul(t([0, 32], 1) as tf.Tensor2D, t([16, 32], 2) as tf.Tensor2D, false, true)],
  [
    'fused, relu, bias, no rows',
    () => tf.fused.matMul({ a: t([0, 16], 1), b: t([16, 32], 2), bias: t([32], 3), activation: 'relu' }),
  ],
  [
    'fused, relu, bias, an empty inner dimension',
    () => tf.fused.matMul({ a: t([4, 0], 1), b: t([0, 6], 2), bias: t([6], 3), activation: 'relu' }),
  ],
  [
    'fused, linear, one-value bias, an empty inner dimension, transposed',
    () => tf.fused.matMul({ a: t([0, 4], 1), b: t([6, 0], 2), bias: t([1], 3), transposeA: true, transposeB: true }),
  ],
  [
    'batched, an empty inner dimension',
    () => tf.matMul(t([3, 2, 0], 1) as tf.Tensor3D, t([1, 0, 5], 2) as tf.Tensor3D),
  ],
];

describe('matrix products with empty operands on wasm', () => {
  for (const [name, f] of products) {
    for (const simd of [true, false]) {
      it(`${name}, ${simd ? 'SIMD' : 'XNNPACK'}: the cpu backend's result`, async () => {
        const expected = await on('cpu', f);
        const previous = setSimdKernelsEnabled(simd);
        try {
          expect(await on('wasm', f)).toEqual(expected);
        } finally {
          setSimdKernelsEnabled(previous);
        }
      });
    }
  }

  it('leaves no tensors or backend buffers behind', () => {
    const [a, b, bias, rows, w] = [t([0, 4], 1), t([6, 0], 2), t([6], 3), t([0, 6], 4), t([6, 3], 5)];
    const tensors = tf.memory().numTensors;
    const dataIds = tf.backend().numDataIds();
    const outputs = [
      tf.fused.matMul({ a, b, bias, transposeA: true, transposeB: true, activation: 'relu' }),
      tf.matMul(rows as tf.Tensor2D, w as tf.Tensor2D),
    ];
    for (const y of outputs) y.dataSync();
    tf.dispose(outputs);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.backend().numDataIds()).toBe(dataIds);
    tf.dispose([a, b, bias, rows, w]);
  });

  it('a discriminator trained on batches with no rows of one side neither crashes nor goes NaN', () => {
    const w1 = tf.variable(t([16, 32], 1).mul(0.3));
    const b1 = tf.variable(tf.zeros([32]));
    const w2 = tf.variable(t([32, 1], 2).mul(0.3));
    const b2 = tf.variable(tf.zeros([1]));
    const optimizer = tf.train.adam(0.01);
    const logits = (x: tf.Tensor): tf.Tensor =>
      tf.reshape(denseLinear(denseRelu(x as tf.Tensor2D, w1, b1), w2, b2), [-1]);
    for (let step = 0; step < 20; step++) {
      // Sums, not means (a mean over no rows is NaN): the dense ops and their gradients run on no rows too.
      const real = t([step % 3 === 0 ? 0 : 4, 16], 10 + step);
      const fake = t([step % 4 === 0 ? 0 : 3, 16], 50 + step);
      optimizer.minimize(() => tf.add(tf.sum(tf.softplus(tf.neg(logits(real)))), tf.sum(tf.softplus(logits(fake)))));
      tf.dispose([real, fake]);
    }
    for (const v of [w1, b1, w2, b2]) expect(Array.from(v.dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose([w1, b1, w2, b2]);
    optimizer.dispose();
  });
});

describe('sums over an empty axis on wasm', () => {
  const sums: Array<[string, () => tf.Tensor]> = [
    ['the column sums of no rows', () => tf.sum(t([0, 5], 1), 0)],
    ['the sum of nothing', () => tf.sum(t([0], 1))],
    ['over every axis of no rows', () => tf.sum(t([0, 5], 1))],
    ['over a middle axis, kept', () => tf.sum(t([3, 0, 2], 1), 1, true)],
    ['the column sums of rows without columns', () => tf.sum(t([3, 0], 1), 0)],
  ];
  for (const [name, f] of sums) {
    it(`${name}: the cpu backend's result`, async () => {
      const expected = await on('cpu', f);
      const got = await on('wasm', f);
      expect(got).toEqual(expected);
    });
  }
});
