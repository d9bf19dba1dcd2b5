/**
 * The step's task gradients live in memory the SIMD kernels read in place (numerics/vectors.ts `stepVectors`,
 * backend/simd/long-vectors.ts's arena): the Gram matrix and Σ w_i g_i on them are the plain values bit for bit,
 * across reuse and growth of that memory, mixed with ordinary arrays; a combination of them lives beside them (no
 * fresh megabyte per step) and is emptied with them; and the trainer writes every element of them, so whatever they
 * held before never reaches a gradient.
 */
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { trainExperiment } from '../src/api/train.js';
import { parseConfigText } from '../src/config/load.js';
import { dot, gram, linearCombination, stepVectors } from '../src/numerics/index.js';
import { tempDir, values } from './helpers.js';
import { shiftedConfig, writeShiftedSources } from './helpers/adversarial.js';
import { plainCombination } from './helpers/long-vectors-plain.js';
import { runLogs } from './helpers/resume-check.js';

/**
 * While on, every set of step vectors the trainer gets starts as NaN (what it held before is unspecified); `filled`
 * counts them, so the test knows the trainer's calls went through this mock.
 */
const poison = vi.hoisted(() => {
  // An earlier test file in this worker (vitest.config.ts: no isolation) may have loaded the trainer with the real
  // module; loading it afresh makes its import of vectors.js the mock below.
  vi.resetModules();
  return { on: false, filled: 0 };
});
vi.mock('../src/numerics/vectors.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../src/numerics/vectors.js')>();
  return {
    ...actual,
    stepVectors: (count: number, length: number) => {
      const vectors = actual.stepVectors(count, length);
      if (poison.on) {
        for (const v of vectors) v.fill(Number.NaN);
        poison.filled++;
      }
      return vectors;
    },
  };
});

function fill(target: Float32Array, seed: number): Float32Array {
  // Values of very different magnitudes, so that another order of additions would round differently.
  target.set(values(target.length, seed).map((v, k) => v * 10 ** ((k % 7) - 3)));
  return target;
}

function plainGram(vectors: readonly Float32Array[]): number[][] {
  return vectors.map((a) => vectors.map((b) => dot(a, b)));
}

describe('step vectors: the Gram matrix and the combination read them in place', () => {
  it('gives the plain values bit for bit, for every remainder mod 4 and every kernel width, across reuse', () => {
    for (const length of [1, 3, 4, 6, 1001, 4099, 300_001]) {
      for (const count of [1, 2, 5]) {
        const vectors = stepVectors(count, length).map((v, i) => fill(v, 10 * length + i));
        const copies = vectors.map((v) => Float32Array.from(v));
        expect(gram(vectors)).toEqual(plainGram(copies));
        const weights = vectors.map((_, i) => (i % 2 === 0 ? 1 : -1) * (0.1 + i / 3));
        expect(Array.from(linearCombination(vectors, weights))).toEqual(Array.from(plainCombination(copies, weights)));
        // The inputs are left as they were.
        vectors.forEach((v, i) => expect(Array.from(v)).toEqual(Array.from(copies[i]!)));
      }
    }
  });

  it("vectors kept past the next call are empty: they never show another step's values", () => {
    const kept = stepVectors(2, 1000).map((v, i) => fill(v, 40 + i));
    expect(kept[0]!.length).toBe(1000);
    const next = stepVectors(2, 1000).map((v, i) => fill(v, 45 + i));
    expect(kept.map((v) => v.length)).toEqual([0, 0]);
    expect(next.map((v) => v.length)).toEqual([1000, 1000]);
  });

  it("a combination of them lives as long as they do: kept past the next step it is empty, never that step's", () => {
    const vectors = stepVectors(2, 1000).map((v, i) => fill(v, 50 + i));
    const combined = linearCombination(vectors, [0.5, 0.25]);
    expect(combined.length).toBe(1000);
    stepVectors(3, 200_000).forEach((v, i) => fill(v, 60 + i));
    expect(combined.length).toBe(0);
  });

  it('combinations in one step keep their own values; past the first two they are arrays of their own', () => {
    const vectors = stepVectors(3, 4099).map((v, i) => fill(v, 90 + i));
    const copies = vectors.map((v) => Float32Array.from(v));
    const weightSets = [
      [0.5, 0.25, -1],
      [-0.3, 2, 0.125],
      [1, 1, 1],
      [0, 0.7, -0.7],
    ];
    const results = weightSets.map((w) => linearCombination(vectors, w));
    results.forEach((r, k) => expect(Array.from(r)).toEqual(Array.from(plainCombination(copies, weightSets[k]!))));
    const later = [Array.from(results[2]!), Array.from(results[3]!)];
    stepVectors(3, 4099).forEach((v, i) => fill(v, 95 + i));
    expect(results.map((r) => r.length)).toEqual([0, 0, 4099, 4099]);
    expect([Array.from(results[2]!), Array.from(results[3]!)]).toEqual(later);
  });

  it('a combination of ordinary arrays is an array of its own, whatever comes after it', () => {
    const plain = [fill(new Float32Array(1000), 100), fill(new Float32Array(1000), 101)];
    const combined = linearCombination(plain, [0.5, -2]);
    const expected = Array.from(combined);
    const vectors = stepVectors(2, 1000).map((v, i) => fill(v, 102 + i));
    linearCombination(vectors, [1, 3]);
    linearCombination(plain, [3, 1]);
    stepVectors(2, 1000);
    expect(Array.from(combined)).toEqual(expected);
  });

  it('mixed with ordinary arrays, a subset, or a part of one, gives the plain values', () => {
    const vectors = stepVectors(4, 1003).map((v, i) => fill(v, 70 + i));
    const other = fill(new Float32Array(1003), 80);
    const lists = [
      [vectors[0]!, other, vectors[2]!],
      [vectors[3]!, vectors[1]!],
      [vectors[0]!.subarray(1), vectors[1]!.subarray(1)],
      [vectors[0]!.subarray(0, 500), vectors[2]!.subarray(0, 500)],
    ];
    for (const list of lists) {
      const copies = list.map((v) => Float32Array.from(v));
      expect(gram(list)).toEqual(plainGram(copies));
      expect(Array.from(linearCombination(list, [0.3, -0.7, 1.1].slice(0, list.length)))).toEqual(
        Array.from(plainCombination(copies, [0.3, -0.7, 1.1].slice(0, list.length))),
      );
    }
  });
});

describe('the trainer writes every element of its step vectors', () => {
  // Shared–private's task discriminator has shared weights that no task loss reaches: their part reads as zeros.
  it('shared–private with the task discriminator and PCGrad: NaN-filled step vectors train alike', async () => {
    const dir = tempDir();
    writeShiftedSources(dir, 40);
    const text = shiftedConfig({
      epochs: 3,
      model:
        '{ architecture: shared-private, trunk: [{ type: dense, units: 4, activation: tanh }], ' +
        'task_discriminator: { weight: 0.1, lambda: { max: 1, schedule: dann } } }',
      extra: 'strategy: { name: pcgrad, grad_target: params }\n',
    });
    const train = async (runs: string): Promise<string> => {
      const summary = await trainExperiment(parseConfigText(text, { file: path.join(dir, 'exp.yaml') }), {
        runsDir: path.join(dir, runs),
      });
      expect(summary.status).toBe('completed');
      return summary.dir;
    };
    const clean = await train('clean');
    poison.on = true;
    const poisoned = await train('poisoned').finally(() => {
      poison.on = false;
    });
    expect(poison.filled).toBeGreaterThan(0);
    const logs = runLogs(poisoned);
    expect(JSON.stringify(logs)).not.toContain('NaN');
    expect(logs).toEqual(runLogs(clean));
  }, 60_000);
});
