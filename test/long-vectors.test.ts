import { describe, expect, it } from 'vitest';
import { simdGram, simdLinearCombination } from '../src/backend/simd/long-vectors.js';
import { dot } from '../src/numerics/vectors.js';
import { plainCombination } from './helpers/long-vectors-plain.js';
import { values } from './helpers.js';

/** The Gram matrix the plain way: numerics/vectors.ts `dot` per pair. */
function plainGram(vectors: readonly Float32Array[]): number[][] {
  return vectors.map((a) => vectors.map((b) => dot(a, b)));
}

describe('Gram matrix in WebAssembly SIMD (backend/simd/long-vectors.ts)', () => {
  // Lengths with every remainder mod 4 (the SIMD blocks take 4 floats; the last 0–3 go the plain way), counts of
  // vectors that use every width of the kernel (1–4 products per pass) and more than one pass per row.
  for (const length of [1, 2, 3, 4, 5, 7, 64, 1001, 4099]) {
    for (const count of [1, 2, 3, 5, 9]) {
      it(`${count} vectors of ${length}: bit-identical to dot() per pair`, () => {
        // Values of very different magnitudes, so that a different order of additions would round differently.
        const vectors = Array.from({ length: count }, (_, i) =>
          values(length, 10 + i).map((v, k) => v * 10 ** ((k % 7) - 3)),
        );
        const fast = simdGram(vectors);
        expect(fast).toBeDefined();
        expect(fast).toEqual(plainGram(vectors));
      });
    }
  }

  it('an order of additions other than dot()s gives other bits on these vectors (the test above can fail)', () => {
    const [a, b] = [0, 1].map((i) => values(4099, 10 + i).map((v, k) => v * 10 ** ((k % 7) - 3)));
    let forward = 0;
    for (let k = 0; k < a!.length; k++) forward += a![k]! * b![k]!;
    expect(forward).not.toBe(dot(a!, b!));
  });

  it('grows its memory for long vectors and keeps giving dot()s values after', () => {
    const long = [values(300_000, 1), values(300_000, 2)];
    expect(simdGram(long)).toEqual(plainGram(long));
    const short = [values(10, 3), values(10, 4), values(10, 5)];
    expect(simdGram(short)).toEqual(plainGram(short));
  });
});

describe('Σ w_i g_i in WebAssembly SIMD (backend/simd/long-vectors.ts)', () => {
  for (const length of [1, 3, 4, 6, 1001, 4098]) {
    for (const count of [1, 2, 3, 4, 7]) {
      it(`${count} vectors of ${length}: bit-identical to the plain float64 sum rounded to float32`, () => {
        const vectors = Array.from({ length: count }, (_, i) =>
          values(length, 20 + i).map((v, k) => v * 10 ** ((k % 5) - 2)),
        );
        const weights = vectors.map((_, i) => (i % 2 === 0 ? 1 : -1) * (0.1 + i / 3));
        const fast = simdLinearCombination(vectors, weights);
        expect(fast).toBeDefined();
        expect(Array.from(fast ?? [])).toEqual(Array.from(plainCombination(vectors, weights)));
      });
    }
  }

  it('rounding once at the end differs from rounding per step on these vectors (the test above can fail)', () => {
    const vectors = [0, 1, 2].map((i) => values(4098, 20 + i).map((v, k) => v * 10 ** ((k % 5) - 2)));
    const weights = [0.1, -0.4333, 0.7666];
    const stepwise = new Float32Array(4098);
    vectors.forEach((v, i) => v.forEach((x, k) => (stepwise[k] = stepwise[k]! + weights[i]! * x)));
    expect(Array.from(stepwise)).not.toEqual(Array.from(plainCombination(vectors, weights)));
  });
});
