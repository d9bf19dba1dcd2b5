/**
 * Soft sharing's per-layer coupling strength: `model.lambda` as one λ for every coupled layer or a list of λ_l, one per
 * dense/conv2d layer of the trunk; the penalty is Σ_l λ_l · coupling_l, checked against hand-computed numbers, and a
 * list of the wrong length or sign is a config problem at `model.lambda`.
 */
import { tf } from '../src/tf.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainExperiment } from '../src/api/train.js';
import { initBackend } from '../src/backend/select.js';
import { parseConfigText } from '../src/config/load.js';
import type { LayerConfig } from '../src/config/types.js';
import { checkpointVariables } from '../src/model/checkpoint.js';
import { getArchitecture } from '../src/model/registry.js';
import type { MultiTaskModel } from '../src/model/types.js';
import { OptionError } from '../src/util/options.js';
import { createRng } from '../src/util/rng.js';
import { TWO_DIGIT_TASKS } from './helpers/configs.js';
import { configProblems } from './helpers/expect.js';
import { twoHeads } from './helpers/layers.js';

const linear = (units: number): LayerConfig => ({ type: 'dense', units, activation: 'linear', bias: true });
const trunk = [linear(2), { type: 'dropout', rate: 0.1 } as LayerConfig, linear(2)];

function buildSoftSharing(coupling: string, lambda: number | number[]): MultiTaskModel {
  return getArchitecture('soft-sharing').build(
    { architecture: 'soft-sharing', trunk, head: [], coupling, lambda },
    { inputSize: 2, heads: twoHeads, rng: createRng(1) },
  );
}

/**
 * Layer 0: K_a = [[1, 0], [0, 2]], K_b = 0; layer 1 (trunk index 2): K_a = [[3, 0], [0, 0]], K_b = [[0, 0], [0, 4]].
 * l2: ‖K_a − K_b‖² = 1 + 4 = 5 and 9 + 16 = 25. Trace norm of [K_a K_b]: singular values 1, 2 → 3 and 3, 4 → 7.
 */
function penaltyOf(coupling: string, lambda: number | number[]): number {
  const model = buildSoftSharing(coupling, lambda);
  try {
    const named = Object.fromEntries(checkpointVariables(model).map((v) => [v.name, v]));
    const kernels: Record<string, number[]> = {
      'tasks/a/tower/0/kernel': [1, 0, 0, 2],
      'tasks/b/tower/0/kernel': [0, 0, 0, 0],
      'tasks/a/tower/2/kernel': [3, 0, 0, 0],
      'tasks/b/tower/2/kernel': [0, 0, 0, 4],
    };
    for (const [name, values] of Object.entries(kernels)) named[name]!.assign(tf.tensor2d(values, [2, 2]));
    if (model.penalty === undefined) return 0;
    const penalty = model.penalty();
    const value = penalty.dataSync()[0]!;
    penalty.dispose();
    return value;
  } finally {
    model.dispose();
  }
}

beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
}, 60_000);

describe('soft sharing: λ per coupled layer', () => {
  it('penalty = Σ_l λ_l ‖·‖²: l2 0.5·5 + 2·25, trace norm 0.5·3 + 2·7; one λ weighs every layer alike', () => {
    expect(penaltyOf('l2', [0.5, 2])).toBeCloseTo(0.5 * 5 + 2 * 25, 4);
    expect(penaltyOf('trace-norm', [0.5, 2])).toBeCloseTo(0.5 * 3 + 2 * 7, 4);
    expect(penaltyOf('l2', 0.5)).toBeCloseTo(0.5 * (5 + 25), 4);
    expect(penaltyOf('trace-norm', 0.5)).toBeCloseTo(0.5 * (3 + 7), 4);
  });

  it('λ_l = 0 leaves layer l free; all zero means no penalty', () => {
    expect(penaltyOf('l2', [0, 1])).toBeCloseTo(25, 4);
    expect(penaltyOf('trace-norm', [1, 0])).toBeCloseTo(3, 4);
    expect(buildAndHasPenalty([0, 0])).toBe(false);
    expect(buildAndHasPenalty([0, 0.1])).toBe(true);
  });

  it('a config takes a list with one λ per dense/conv2d layer of the trunk', () => {
    const model = (lambda: string): string =>
      `${TWO_DIGIT_TASKS}model:\n  architecture: soft-sharing\n  lambda: ${lambda}\n  trunk:\n` +
      '    - { type: dense, units: 8 }\n    - { type: dropout, rate: 0.1 }\n    - { type: dense, units: 4 }\n';
    const { config } = parseConfigText(model('[0.1, 0.01]'), { displayName: 'exp.yaml', overrides: [] });
    expect(config.model['lambda']).toEqual([0.1, 0.01]);
    const expected =
      'expected one number ≥ 0, or a list of 2 numbers ≥ 0 (one per coupled layer: the trunk' +
      "'s 2 dense and conv2d layers, in order)";
    expect(configProblems(model('[0.1]'))).toEqual([`exp.yaml:11:11: model.lambda: ${expected}, got [0.1]`]);
    expect(configProblems(model('[0.1, 0.2, 0.3]'))[0]).toContain('a list of 2 numbers ≥ 0');
    expect(configProblems(model('[0.1, -1]')).join('\n')).toContain('model.lambda');
    expect(configProblems(model('-1')).join('\n')).toContain('model.lambda');
    expect(configProblems(model('high')).join('\n')).toContain('model.lambda: expected a number or a list, got "high"');
  });

  it('trains with one λ per layer: finite losses that fall, test r2 > 0 on both tasks', async () => {
    const runsDir = mkdtempSync(path.join(tmpdir(), 'mtl-soft-lambda-'));
    try {
      const text = `
name: soft-lambda
seed: 5
backend: wasm
data:
  dataset: synthetic-correlated
  options: { samples: 500, features: 8, correlation: 0.8 }
tasks:
  - { name: y1, type: regression, metrics: [r2] }
  - { name: y2, type: regression, metrics: [r2] }
model:
  architecture: soft-sharing
  coupling: l2
  lambda: [0.01, 0.001]
  trunk:
    - { type: dense, units: 16, activation: relu }
    - { type: dense, units: 8, activation: relu }
  head: []
training: { optimizer: adam, lr: 0.01, batch_size: 32, epochs: 6 }
`;
      const losses: number[] = [];
      const summary = await trainExperiment(parseConfigText(text), {
        runsDir,
        command: ['test'],
        listeners: [{ onEpochEnd: (r) => void losses.push((r.trainLoss['y1'] ?? NaN) + (r.trainLoss['y2'] ?? NaN)) }],
      });
      expect(summary.status).toBe('completed');
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(losses[losses.length - 1]).toBeLessThan(losses[0]! * 0.9);
      expect(summary.test['y1/r2']).toBeGreaterThan(0);
      expect(summary.test['y2/r2']).toBeGreaterThan(0);
    } finally {
      rmSync(runsDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('a library call with a list of the wrong length gets an OptionError naming model.lambda', () => {
    expect(() => buildSoftSharing('l2', [1, 2, 3])).toThrow(OptionError);
    expect(() => buildSoftSharing('l2', [1, 2, 3])).toThrow(/model\.lambda: expected .* a list of 2 numbers/);
  });
});

function buildAndHasPenalty(lambda: number[]): boolean {
  const model = buildSoftSharing('l2', lambda);
  const has = model.penalty !== undefined;
  model.dispose();
  return has;
}
