/**
 * Shuffled training batches: one gather of the permuted rows straight into the batches (the wasm kernel with SIMD or
 * JS row copies; gather + split elsewhere), bit for bit the rows a gather of the whole split and a split give.
 */
import { tf } from '../src/tf.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/select.js';
import { GATHER_BATCHES_KERNEL, setSimdKernelsEnabled } from '../src/backend/wasm/index.js';
import type { PreparedData } from '../src/data/prepare.js';
import { disposeBatch, reshuffledBatches, shuffledBatches } from '../src/train/batches.js';
import { gatherBatches, regatherBatches } from '../src/ops/gather-batches.js';
import type { Batch } from '../src/train/step.js';
import type { SplitTensors } from '../src/train/tensors.js';
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

/**
 * The trainer keeps an epoch's batch tensors and has the next epoch's rows written into them (reshuffledBatches):
 * on wasm in place, elsewhere, or where a batch's data is shared, fresh batches. Either way the values are those of
 * shuffledBatches, bit for bit.
 */
describe("the next epoch's batches written into the last one's", () => {
  const batchSize = 37;
  const order = (rows: number, step: number): Int32Array =>
    Int32Array.from({ length: rows }, (_, i) => (i * step + 11) % rows);

  /** Every tensor of `actual` holds the bits of the same tensor of `expected`, and has its shape. */
  function expectSameBatches(actual: readonly Batch[], expected: readonly Batch[]): void {
    expect(actual.length).toBe(expected.length);
    actual.forEach((batch, b) => {
      expect(batch.x.shape).toEqual(expected[b]!.x.shape);
      expect(bits(batch.x.dataSync()), `x of batch ${b}`).toEqual(bits(expected[b]!.x.dataSync()));
      for (const [name, target] of Object.entries(batch.targets))
        expect(bits(target.dataSync()), `${name} of batch ${b}`).toEqual(bits(expected[b]!.targets[name]!.dataSync()));
    });
  }

  function withSplit(body: (split: SplitTensors) => void): void {
    const split = toSplitTensors(data.splits.train, data.preprocessing);
    const before = tf.memory().numTensors;
    try {
      body(split);
    } finally {
      expect(tf.memory().numTensors, 'every batch disposed').toBe(before);
      disposeSplit(split);
    }
  }

  it('on wasm: the same tensors, refilled in place, hold what fresh batches of the new order hold', () => {
    withSplit((split) => {
      const first = shuffledBatches(split, order(split.rows, 7919), batchSize);
      const count = tf.memory().numTensors;
      const next = order(split.rows, 104729);
      const refilled = reshuffledBatches(first, split, next, batchSize);
      expect(tf.memory().numTensors, 'no tensor made or disposed').toBe(count);
      expect(refilled.map((b) => b.x)).toEqual(first.map((b) => b.x)); // the very tensors
      const fresh = shuffledBatches(split, next, batchSize);
      expectSameBatches(refilled, fresh);
      // And not what they held before: the rows moved.
      const old = shuffledBatches(split, order(split.rows, 7919), batchSize);
      expect(bits(refilled[0]!.x.dataSync())).not.toEqual(bits(old[0]!.x.dataSync()));
      for (const batch of [...refilled, ...fresh, ...old]) disposeBatch(batch);
    });
  });

  it('a batch whose data a live clone shares: fresh batches, and the clone keeps its values', () => {
    withSplit((split) => {
      const first = shuffledBatches(split, order(split.rows, 7919), batchSize);
      const clone = first[3]!.targets[Object.keys(first[3]!.targets)[0]!]!.clone();
      const kept = bits(clone.dataSync());
      const next = order(split.rows, 104729);
      const reshuffled = reshuffledBatches(first, split, next, batchSize);
      expect(reshuffled[0]!.x).not.toBe(first[0]!.x);
      expect(first.every((b) => b.x.isDisposed)).toBe(true); // the old ones go
      expect(bits(clone.dataSync())).toEqual(kept);
      const fresh = shuffledBatches(split, next, batchSize);
      expectSameBatches(reshuffled, fresh);
      clone.dispose();
      for (const batch of [...reshuffled, ...fresh]) disposeBatch(batch);
    });
  });

  it('batches of other sizes (another batch size, or an epoch of another length), or disposed: fresh batches', () => {
    withSplit((split) => {
      const next = order(split.rows, 104729);
      const cases: [string, Batch[], number][] = [
        ['another batch size', shuffledBatches(split, order(split.rows, 7919), batchSize + 1), batchSize],
        ['another length', shuffledBatches(split, order(split.rows, 7919).subarray(1), batchSize), batchSize],
      ];
      const disposed = shuffledBatches(split, order(split.rows, 7919), batchSize);
      disposeBatch(disposed[2]!);
      cases.push(['one disposed', disposed, batchSize]);
      for (const [name, previous, size] of cases) {
        const reshuffled = reshuffledBatches(previous, split, next, size);
        expect(reshuffled[0]!.x, name).not.toBe(previous[0]!.x);
        const fresh = shuffledBatches(split, next, size);
        expectSameBatches(reshuffled, fresh);
        for (const batch of [...reshuffled, ...fresh]) disposeBatch(batch);
      }
    });
  });

  it('regatherBatches writes all of the sources or none of them', () => {
    withSplit((split) => {
      const index = tf.tensor1d(order(split.rows, 7919), 'int32');
      const xs = gatherBatches(split.x, index, batchSize);
      const targets = gatherBatches(Object.values(split.targets)[0]!, index, batchSize);
      const before = bits(xs[0]!.dataSync());
      const shared = targets[1]!.clone();
      const next = tf.tensor1d(order(split.rows, 104729), 'int32');
      const sources = [
        { x: split.x, batches: xs },
        { x: Object.values(split.targets)[0]!, batches: targets },
      ];
      expect(regatherBatches(sources, next)).toBe(false);
      expect(bits(xs[0]!.dataSync()), 'the inputs untouched').toEqual(before);
      shared.dispose();
      expect(regatherBatches(sources, next)).toBe(true);
      expect(bits(xs[0]!.dataSync())).not.toEqual(before);
      for (const t of [...xs, ...targets, index, next]) t.dispose();
    });
  });

  it('on wasm without the SIMD kernels (products on XNNPACK, which caches by tensor): fresh batches', () => {
    setSimdKernelsEnabled(false);
    try {
      withSplit((split) => {
        const first = shuffledBatches(split, order(split.rows, 7919), batchSize);
        const next = order(split.rows, 104729);
        const reshuffled = reshuffledBatches(first, split, next, batchSize);
        expect(first.every((b) => b.x.isDisposed)).toBe(true);
        const fresh = shuffledBatches(split, next, batchSize);
        expectSameBatches(reshuffled, fresh);
        for (const batch of [...reshuffled, ...fresh]) disposeBatch(batch);
      });
    } finally {
      setSimdKernelsEnabled(true);
    }
  });

  it('on cpu: fresh batches each time, the old ones disposed', async () => {
    await tf.setBackend('cpu');
    try {
      withSplit((split) => {
        const first = shuffledBatches(split, order(split.rows, 7919), batchSize);
        const next = order(split.rows, 104729);
        const reshuffled = reshuffledBatches(first, split, next, batchSize);
        expect(first.every((b) => b.x.isDisposed)).toBe(true);
        const fresh = shuffledBatches(split, next, batchSize);
        expectSameBatches(reshuffled, fresh);
        for (const batch of [...reshuffled, ...fresh]) disposeBatch(batch);
      });
    } finally {
      await tf.setBackend('wasm');
    }
  });
});
