/**
 * Dropout computes its mask on the host (model/layers/dropout.ts `dropoutMultiplier`, util/alea.ts): the same bits as
 * tf.dropout's `⌊tf.randomUniform(…, seed) + keep⌋ / keep`, on wasm and cpu, for every rate, and the layer's output
 * and gradient are tf.dropout's bit for bit. (Training runs stay bit-identical too: test/behaviour-baseline.test.ts
 * trains the quickstart's dropout trunk.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/index.js';
import { Dropout, dropoutMultiplier, keptFrom } from '../src/model/layers/dropout.js';
import { StepClock } from '../src/model/step-clock.js';
import { tf } from '../src/tf.js';
import { Alea, LANES_FROM } from '../src/util/alea.js';
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

  it('draws a long mask in four chains, each jumped ahead to its quarter: the same bits as one chain', async () => {
    // Sizes around the four-chain threshold, a quarter that is not a multiple of anything, and the quickstart's
    // first dropout (64 × 128), against TF.js's own multiplier and against the one-chain draw.
    const sizes = [LANES_FROM - 1, LANES_FROM, LANES_FROM + 3, 5003, 64 * 128];
    for (const seed of [0, 42, 2 ** 31 - 1]) {
      for (const rate of [0.1, 0.5, 0.999_999]) {
        for (const size of sizes) {
          const ours = dropoutMultiplier(size, rate, seed);
          expect(bits(ours), `seed ${seed}, rate ${rate}, size ${size}`).toEqual(
            bits(tfMultiplier([size], rate, seed)),
          );
        }
      }
    }
  });

  it('jumps ahead k draws to where k calls of next() arrive, and goes on drawing the same', () => {
    for (const seed of SEEDS) {
      const stepped = new Alea(String(seed));
      const jumped = new Alea(String(seed));
      let drawn = 0;
      for (const k of [0, 1, 2, 3, 7, 1000, 2048, 12_345]) {
        for (let i = 0; i < k; i++) stepped.next();
        jumped.jump(k);
        drawn += k;
        expect(jumped.state(), `seed ${seed}, after ${drawn} draws`).toEqual(stepped.state());
      }
      expect(Array.from({ length: 5 }, () => jumped.next())).toEqual(Array.from({ length: 5 }, () => stepped.next()));
    }
    expect(() => new Alea('1').jump(-1)).toThrow(/integer ≥ 0/);
  });

  it('leaves the generator where as many calls of next() would, for masks drawn in one chain and in four', () => {
    for (const size of [10, LANES_FROM + 5]) {
      const masked = new Alea('7');
      masked.fillMask(new Float32Array(size), 0.5, 2);
      const stepped = new Alea('7');
      for (let i = 0; i < size; i++) stepped.next();
      expect(masked.state(), `size ${size}`).toEqual(stepped.state());
    }
  });

  it('tests ⌊u + keep⌋ = 1 as u ≥ τ: the same answer at τ, beside it, and on random u', () => {
    const below = (value: number): number => {
      const word = new Float32Array([value]);
      const pattern = new Uint32Array(word.buffer);
      pattern[0] = pattern[0]! - 1;
      return word[0]!;
    };
    const random = new Alea('τ');
    for (const rate of [...RATES, 2 ** -30, 0.123_456_7]) {
      const keep = Math.fround(1 - rate);
      const tau = keptFrom(keep);
      const floorIsOne = (u: number): boolean => Math.fround(u + keep) >= 1;
      expect(floorIsOne(tau), `rate ${rate}: τ = ${tau} keeps`).toBe(true);
      if (tau > 0) expect(floorIsOne(below(tau)), `rate ${rate}: below τ drops`).toBe(false);
      for (let i = 0; i < 2000; i++) {
        const u = Math.fround(random.next());
        expect(u >= tau).toBe(floorIsOne(u));
      }
    }
    // 1 − 2⁻³⁰ is 1 in float32: every element kept (τ = 0).
    expect(keptFrom(Math.fround(1 - 2 ** -30))).toBe(0);
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
