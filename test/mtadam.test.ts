import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { trainExperiment } from '../src/api/train.js';
import { parseConfigText } from '../src/config/load.js';
import { UsageError } from '../src/errors.js';
import { mtadam } from '../src/strategies/gradient/mtadam.js';
import { combineGradients, gradientCombiners, schemaDefaults } from '../src/strategies/gradient/registry.js';
import type { GradientCombiner } from '../src/strategies/gradient/types.js';
import { createRng } from '../src/util/rng.js';
import { tempDir } from './helpers.js';
import { writeLinearRegressionCsv } from './helpers/csv.js';

const f32 = (...rows: number[][]): Float32Array[] => rows.map((r) => Float32Array.from(r));

function make(taskCount: number, options: Record<string, unknown> = {}): GradientCombiner {
  return mtadam.create({ ...schemaDefaults(mtadam.optionsSchema), ...options }, 0, taskCount);
}

function expectClose(actual: ArrayLike<number>, expected: readonly number[], digits = 5): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => expect(actual[i]).toBeCloseTo(e, digits));
}

const norm = (v: ArrayLike<number>, from: number, to: number): number => {
  let s = 0;
  for (let k = from; k < to; k++) s += v[k]! ** 2;
  return Math.sqrt(s);
};

// Two tasks, two layers of two coordinates each (segments [2, 2]).
//   task 0: layer 0 = [3, 4]  (‖·‖ = 5),   layer 1 = [0.6, 0.8] (‖·‖ = 1)
//   task 1: layer 0 = [0, 50] (‖·‖ = 50, 10× task 0), layer 1 = [0.1, 0] (‖·‖ = 0.1, 10× smaller)
// Step 1 seeds the running norms with these norms, task 0 is the anchor:
//   ĝ1 layer 0 = (5 / 50) · [0, 50] = [0, 5]      (norm 5 = task 0's)
//   ĝ1 layer 1 = (1 / 0.1) · [0.1, 0] = [1, 0]    (norm 1 = task 0's)
//   balanced sum = [3 + 0, 4 + 5, 0.6 + 1, 0.8 + 0] = [3, 9, 1.6, 0.8]
const G0 = [3, 4, 0.6, 0.8];
const G1 = [0, 50, 0.1, 0];
const SEGMENTS = [2, 2];

describe('mtadam balancing (output: balanced)', () => {
  it('rescales every task layer to the reference task magnitude (step 1)', () => {
    const combiner = make(2, { output: 'balanced' });
    const { combined, weights } = combiner.combine({ grads: f32(G0, G1), segments: SEGMENTS });
    expectClose(combined, [3, 9, 1.6, 0.8]);
    expect(weights).toBeUndefined();
    // ĝ1 = combined − g0 has, per layer, exactly task 0's norm.
    const balanced1 = Array.from(combined, (v, k) => v - G0[k]!);
    expect(norm(balanced1, 0, 2)).toBeCloseTo(5, 5);
    expect(norm(balanced1, 2, 4)).toBeCloseTo(1, 5);
  });

  it('follows the β3 running norm on later steps', () => {
    // Step 2: task 1's layer 0 doubles to [0, 100]. n1 = 0.9 · 50 + 0.1 · 100 = 55, n0 = 0.9 · 5 + 0.1 · 5 = 5,
    // so ĝ1 layer 0 = (5 / 55) · [0, 100] = [0, 100/11]; layer 1 is unchanged (scale 1 / 0.1 = 10).
    const combiner = make(2, { output: 'balanced' });
    combiner.combine({ grads: f32(G0, G1), segments: SEGMENTS });
    const { combined } = combiner.combine({ grads: f32(G0, [0, 100, 0.1, 0]), segments: SEGMENTS });
    expectClose(combined, [3, 4 + 100 / 11, 1.6, 0.8]);
    const state = combiner.state() as { step: number; norms: number[][] };
    expect(state.step).toBe(2);
    expectClose(state.norms[0]!, [5, 1]);
    expectClose(state.norms[1]!, [55, 0.1]);
  });

  it('applies ranks, falls back to the next task as anchor, and treats a missing segments list as one layer', () => {
    // ranks [1, 2]: ĝ1 doubles → [3, 4 + 10, 0.6 + 2, 0.8].
    expectClose(
      make(2, { output: 'balanced', ranks: [1, 2] }).combine({ grads: f32(G0, G1), segments: SEGMENTS }).combined,
      [3, 14, 2.6, 0.8],
    );
    // Task 0 has no gradient on layer 1: task 1 is that layer's anchor and stays as it is.
    expectClose(
      make(2)
        .combine({ grads: f32([3, 4, 0, 0], G1), segments: SEGMENTS })
        .combined.slice(2),
      [0.1 / (0.1 + 1e-8), 0],
    );
    expectClose(
      make(2, { output: 'balanced' }).combine({ grads: f32([3, 4, 0, 0], G1), segments: SEGMENTS }).combined,
      [3, 9, 0.1, 0],
    );
    // No segments (representation gradients, or the library call): one layer, ‖g0‖ = 5, ‖g1‖ = 50 → [3, 4 + 5].
    expectClose(make(2).combine({ grads: f32([3, 4], [0, 50]) }).combined, [3, 9]);
    expectClose(
      combineGradients('mtadam', [
        [3, 4],
        [0, 50],
      ]).combined,
      [3, 9],
    );
  });
});

describe('mtadam step (output: step, the default on parameter gradients)', () => {
  it('step 1 is Σ_i ĝ_i / (max_i |ĝ_i| + ε) per coordinate', () => {
    // m̂ = ĝ and v̂ = ĝ² at t = 1, so d = Σ_i ĝ_i / (√max_i ĝ_i² + ε) with ĝ0 = [3, 4, 0.6, 0.8], ĝ1 = [0, 5, 1, 0]:
    //   [3/3, 9/5, 1.6/1, 0.8/0.8] = [1, 1.8, 1.6, 1]
    const { combined } = make(2).combine({ grads: f32(G0, G1), segments: SEGMENTS });
    expectClose(combined, [1, 1.8, 1.6, 1]);
  });

  it('step 2 uses bias-corrected per-task moments and the largest second moment', () => {
    // Step 2 gradients: g0 as before, g1 = [0, 100, 0.1, 0] → ĝ1 = [0, 100/11, 1, 0] (see the balancing test).
    // Task 0's ĝ is constant, so m̂0 = ĝ0 and v̂0 = ĝ0². Task 1, coordinate 1 (ĝ = 5 then 100/11):
    //   m = 0.9 · (0.1 · 5) + 0.1 · 100/11,         m̂ = m / (1 − 0.9²)
    //   v = 0.999 · (0.001 · 25) + 0.001 · (100/11)², v̂ = v / (1 − 0.999²)
    //   d1 = (4 + m̂) / √max(16, v̂)
    // Coordinate 2 (ĝ0 = 0.6, ĝ1 = 1 both steps): d2 = (0.6 + 1) / √max(0.36, 1) = 1.6; coordinates 0 and 3 have one
    // task each: d = ĝ / |ĝ| = 1.
    const combiner = make(2);
    combiner.combine({ grads: f32(G0, G1), segments: SEGMENTS });
    const { combined } = combiner.combine({ grads: f32(G0, [0, 100, 0.1, 0]), segments: SEGMENTS });
    const mHat = (0.9 * 0.1 * 5 + 0.1 * (100 / 11)) / (1 - 0.9 ** 2);
    const vHat = (0.999 * 0.001 * 25 + 0.001 * (100 / 11) ** 2) / (1 - 0.999 ** 2);
    expectClose(combined, [1, (4 + mHat) / (Math.sqrt(Math.max(16, vHat)) + 1e-8), 1.6, 1]);
    expect(combined[1]).toBeCloseTo(1.52, 2);
  });

  it('with one task is exactly Adam (balancing is the identity)', () => {
    const rng = createRng(3);
    const combiner = make(1, { output: 'step' });
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    for (let t = 1; t <= 5; t++) {
      const g = [rng.normal(), rng.normal() * 10, rng.normal() * 0.01];
      const { combined } = combiner.combine({ grads: f32(g), segments: [1, 2] });
      const expected = g.map((x, k) => {
        m[k] = 0.9 * m[k]! + 0.1 * x;
        v[k] = 0.999 * v[k]! + 0.001 * x * x;
        return m[k] / (1 - 0.9 ** t) / (Math.sqrt(v[k] / (1 - 0.999 ** t)) + 1e-8);
      });
      expectClose(combined, expected, 5);
    }
  });

  it('rejects segments that do not cover the gradient and a length change under output: step', () => {
    expect(() => make(2).combine({ grads: f32(G0, G1), segments: [2, 1] })).toThrow(/segments/);
    const step = make(2, { output: 'step' });
    step.combine({ grads: f32([1, 2, 3], [3, 2, 1]) });
    expect(() => step.combine({ grads: f32([1, 2], [3, 2]) })).toThrow(UsageError);
    expect(() => make(2, { ranks: [1] })).toThrow(UsageError);
    expect(() => make(2, { beta3: 1 })).toThrow(UsageError);
  });
});

function randomSequence(seed: number, taskCount: number, length: number, steps: number): Float32Array[][] {
  const rng = createRng(seed);
  return Array.from({ length: steps }, () =>
    Array.from({ length: taskCount }, (_, i) => Float32Array.from({ length }, () => rng.normal() * 10 ** (i - 1))),
  );
}

describe('mtadam state and numerics', () => {
  const segments = [5, 3, 12];
  const sequence = randomSequence(11, 3, 20, 6);

  it('round-trips its state through JSON and resumes exactly', () => {
    for (const output of ['step', 'balanced']) {
      const original = make(3, { output });
      for (const grads of sequence.slice(0, 3)) original.combine({ grads, segments });
      const saved = JSON.parse(JSON.stringify(original.state()));
      expect(saved).toEqual(original.state());
      const resumed = make(3, { output });
      resumed.restore(saved);
      expect(resumed.state()).toEqual(saved);
      for (const grads of sequence.slice(3)) {
        expect(Array.from(resumed.combine({ grads, segments }).combined)).toEqual(
          Array.from(original.combine({ grads, segments }).combined),
        );
      }
      resumed.restore(null);
      expect(Array.from(resumed.combine({ grads: sequence[0]!, segments }).combined)).toEqual(
        Array.from(make(3, { output }).combine({ grads: sequence[0]!, segments }).combined),
      );
    }
    expect(() => make(3).restore({ step: 1, norms: [[1]], moments: null })).toThrow(UsageError);
    expect(() => make(3).restore({ step: 1, norms: null, moments: { m: ['AAAA'], v: [] } })).toThrow(UsageError);
  });

  it('is deterministic', () => {
    const run = (): number[][] => {
      const combiner = make(3);
      return sequence.map((grads) => Array.from(combiner.combine({ grads, segments }).combined));
    };
    expect(run()).toEqual(run());
  });

  it('gives finite results for T = 3 random gradients, with a vanishing layer, bounded by T at step 1', () => {
    for (const output of ['step', 'balanced']) {
      const combiner = make(3, { output });
      sequence.forEach((grads, t) => {
        // Task 0 (the anchor) has no gradient on layer 1 at every other step.
        const g0 = Float32Array.from(grads[0]!);
        if (t % 2 === 0) g0.fill(0, 5, 8);
        const { combined } = combiner.combine({ grads: [g0, grads[1]!, grads[2]!], segments });
        expect(combined.every(Number.isFinite)).toBe(true);
        if (output === 'step' && t === 0) expect(combined.every((x) => Math.abs(x) <= 3 + 1e-6)).toBe(true);
      });
    }
    const zeros = make(3).combine({ grads: f32([0, 0], [0, 0], [0, 0]), segments: [1, 1] });
    expect(Array.from(zeros.combined)).toEqual([0, 0]);
  });

  it('is registered under its name', () => {
    expect(gradientCombiners.get('mtadam')).toBe(mtadam);
  });
});

describe('mtadam in training', () => {
  it('trains a two-task regression on parameter gradients with sgd (the paper update): no NaN, the loss ' +
    'falls', async () => {
    const dir = tempDir();
    const w1 = [1, 0, 0.5, 0, -1, 0];
    const w2 = [0.5, 1, 0, 0.4, -0.5, 0.8];
    // Task b's target is 10× larger, so its raw gradients dominate without balancing.
    writeLinearRegressionCsv(dir, 'two.csv', {
      seed: 5,
      rows: 300,
      features: 6,
      targets: [
        { weights: w1, noise: 0.1 },
        { weights: w2, scale: 10, noise: 1 },
      ],
    });
    const config = `name: mt
seed: 3
backend: wasm
data: { csv: two.csv }
tasks:
  - { name: a, type: regression, target: y1 }
  - { name: b, type: regression, target: y2 }
model:
  trunk: [{ type: dense, units: 16 }]
training: { epochs: 5, batch_size: 32, lr: 0.01, optimizer: sgd }
strategy: { name: mtadam, grad_target: params }
`;
    const summary = await trainExperiment(parseConfigText(config, { file: path.join(dir, 'exp.yaml') }), {
      runsDir: path.join(dir, 'runs'),
    });
    expect(summary.status).toBe('completed');
    const trainRows = readFileSync(path.join(summary.dir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((r) => r.split === 'train');
    const losses = trainRows.map((r) => r.metrics['mean/loss'] as number);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0]!);
    // auto picked the step output on parameter gradients: the checkpoint carries per-task moments.
    const saved = JSON.parse(readFileSync(path.join(summary.dir, 'checkpoints', 'last', 'model.json'), 'utf8'));
    const state = saved.userDefinedMetadata.strategyState.combiner;
    expect(state.step).toBeGreaterThan(0);
    expect(state.moments.m).toHaveLength(2);
    expect(state.norms[0].length).toBeGreaterThan(1);
  }, 60_000);
});
