/**
 * Dropout computes its mask on the host (model/layers/dropout.ts `dropoutMultiplier`, util/alea.ts): the same bits as
 * tf.dropout's `⌊tf.randomUniform(…, seed) + keep⌋ / keep`, on wasm and cpu, for every rate, and the layer's output
 * and gradient are tf.dropout's bit for bit. (Training runs stay bit-identical too: test/behaviour-baseline.test.ts
 * trains the quickstart's dropout trunk.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/index.js';
import { Dropout, dropoutMultiplier } from '../src/model/layers/dropout.js';
import { StepClock } from '../src/model/step-clock.js';
import { tf } from '../src/tf.js';
import { Alea } from '../src/util/alea.js';
import { bits } from './helpers/expect.js';

const SEEDS = [0, 1, 42, 987_654_321, 2 ** 31 - 1];
// Rates whose 1 − rate is not a float32 (0.1, 0.3, 0.7), is one (0.25, 0.5), and the extremes.
const RATES = [0.1, 0.25, 0.3, 0.5, 0.7, 0.9, 1e-6, 0.999_999];

beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
});

afterAll(async () => {
  await tf.setBackend('wasm');
});

function tfMultiplier(shape: number[], rate: number, seed: number): number[] {
  const keep = 1 - rate;
  return tf.tidy(() =>
    Array.from(tf.div(tf.floor(tf.add(tf.randomUniform(shape, 0, 1, 'float32', seed), keep)), keep).dataSync()),
  );
}

describe('the dropout mask drawn on the host', () => {
  it("draws tf.randomUniform's values for the same seed", () => {
    for (const seed of SEEDS) {
      const random = new Alea(String(seed));
      const ours = Array.from({ length: 2000 }, () => random.next());
      const theirs = tf.tidy(() => tf.randomUniform([2000], 0, 1, 'float32', seed).dataSync());
      expect(bits(ours), `seed ${seed}`).toEqual(bits(theirs));
    }
  });

  it.each(['wasm', 'cpu'])("is tf.dropout's multiplier bit for bit on %s, for every rate", async (backend) => {
    await tf.setBackend(backend);
    for (const seed of SEEDS) {
      for (const rate of RATES) {
        const expected = tfMultiplier([37, 29], rate, seed);
        expect(bits(dropoutMultiplier(37 * 29, rate, seed)), `seed ${seed}, rate ${rate}`).toEqual(bits(expected));
      }
    }
    await tf.setBackend('wasm');
  });

  it('keeps about 1 − rate of the elements, each scaled by 1 / (1 − rate) in float32', () => {
    const m = dropoutMultiplier(100_000, 0.3, 5);
    const kept = m.filter((v) => v !== 0);
    expect(kept.length / m.length).toBeCloseTo(0.7, 2);
    expect(new Set(kept)).toEqual(new Set([Math.fround(1 / Math.fround(0.7))]));
  });

  it("gives the layer tf.dropout's output and input gradient, and its recorded step the same", () => {
    const clock = new StepClock(11);
    const layer = new Dropout([6, 5], 0.4, clock);
    clock.step = 17;
    const seed = clock.dropoutSeed(0);
    tf.tidy(() => {
      const x = tf.randomNormal([8, 6, 5], 0, 1, 'float32', 3);
      const dy = tf.randomNormal([8, 6, 5], 0, 1, 'float32', 4);
      const ours = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(layer.apply(input, true), dy)));
      const theirs = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(tf.dropout(input, 0.4, undefined, seed), dy)));
      expect(bits(layer.apply(x, true).dataSync())).toEqual(bits(tf.dropout(x, 0.4, undefined, seed).dataSync()));
      expect(bits(ours(x).dataSync())).toEqual(bits(theirs(x).dataSync()));
      const recorded = layer.record(x, true);
      try {
        expect(bits(recorded.output.dataSync())).toEqual(bits(tf.dropout(x, 0.4, undefined, seed).dataSync()));
        expect(bits(recorded.backward(dy, true).input?.dataSync() ?? [])).toEqual(bits(theirs(x).dataSync()));
      } finally {
        recorded.dispose();
      }
      // Inference, and a rate of 0: the input itself.
      expect(layer.apply(x, false)).toBe(x);
    });
  });

  it('leaves no tensor behind', () => {
    const layer = new Dropout([64], 0.2, new StepClock(1));
    const x = tf.ones([32, 64]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) layer.apply(x, true).dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
