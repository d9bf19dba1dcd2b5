/**
 * Shuffled training batches: one gather of the permuted rows straight into the batches (the wasm kernel with SIMD or
 * JS row copies; gather + split elsewhere), bit for bit the rows a gather of the whole split and a split give.
 */
import { tf } from '../src/tf.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/select.js';
import { GATHER_BATCHES_KERNEL, setSimdKernelsEnabled } from '../src/backend/wasm/index.js';
import type { PreparedData } from '../src/data/prepare.js';
import { shuffledBatches } from '../src/train/batches.js';
import { gatherBatches } from '../src/ops/gather-batches.js';
import { disposeSplit, toSplitTensors } from '../src/train/tensors.js';
import { smallDigitsData } from './helpers/configs.js';
import { bits } from './helpers/expect.js';

let data: PreparedData;

beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
  ({ data } = await smallDigitsData());
});

describe('shuffled training batches', () => {
  /** The batches as a gather of the whole split and a split into batches (the fallback, and how it was done). */
  function reference(x: tf.Tensor, index: tf.Tensor1D, batchSize: number): tf.Tensor[] {
    const rows = index.shape[0];
    const sizes = Array.from({ length: Math.ceil(rows / batchSize) }, (_, b) =>
      Math.min(batchSize, rows - b * batchSize),
    );
    return tf.tidy(() => tf.split(tf.gather(x, index), sizes, 0));
  }

  const paths: [string, () => Promise<void> | void][] = [
    ['wasm, SIMD row copies', () => void setSimdKernelsEnabled(true)],
    ['wasm, JS row copies', () => void setSimdKernelsEnabled(false)],
    [
      'cpu (gather + split)',
      async () => {
        await tf.setBackend('cpu');
      },
    ],
  ];
  for (const [name, setUp] of paths) {
    it(
      `${name}: each batch holds the permuted rows bit for bit, the last one shorter, for inputs and one-hot ` +
        `targets`,
      async () => {
        await setUp();
        try {
          // The kernel runs on wasm (it is installed with the fast kernels); cpu takes the fallback.
          expect(tf.getKernel(GATHER_BATCHES_KERNEL, tf.getBackend()) !== undefined).toBe(tf.getBackend() === 'wasm');
          const split = toSplitTensors(data.splits.train, data.preprocessing);
          const before = tf.memory().numTensors;
          const permutation = Int32Array.from({ length: split.rows }, (_, i) => (i * 7919 + 3) % split.rows);
          const batchSize = 37;
          const batches = shuffledBatches(split, permutation, batchSize);
          expect(batches.length).toBe(Math.ceil(split.rows / batchSize));
          expect(batches[batches.length - 1]?.x.shape[0]).toBe(split.rows - (batches.length - 1) * batchSize);
          const index = tf.tensor1d(permutation, 'int32');
          for (const [key, all] of [['x', split.x], ...Object.entries(split.targets)] as [string, tf.Tensor2D][]) {
            const expected = reference(all, index, batchSize);
            batches.forEach((batch, b) => {
              const actual = key === 'x' ? batch.x : (batch.targets[key] as tf.Tensor2D);
              expect(actual.shape, `${key} batch ${b}`).toEqual(expected[b]?.shape);
              expect(actual.dtype).toBe('float32');
              expect(bits(actual.dataSync()), `${key} batch ${b}`).toEqual(bits(expected[b]!.dataSync()));
            });
            expected.forEach((t) => t.dispose());
          }
          index.dispose();
          for (const batch of batches) {
            batch.x.dispose();
            for (const t of Object.values(batch.targets)) t.dispose();
          }
          expect(tf.memory().numTensors).toBe(before);
          disposeSplit(split);
        } finally {
          setSimdKernelsEnabled(true);
          await tf.setBackend('wasm');
        }
      },
    );
  }

  it('refuses an index outside the rows instead of reading past them', () => {
    const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    const index = tf.tensor1d([0, 2], 'int32');
    expect(() => gatherBatches(x, index, 1)).toThrow(/index 2 at position 1 is outside \[0, 2\)/);
    x.dispose();
    index.dispose();
  });
});
