/**
 * MTAN's attention (Liu, Johns & Davison 2019, eq. 1) with every variable set to known numbers: masks, attended
 * features and outputs against a plain-JS evaluation of the paper's formulas (attention module
 * [1×1 conv → BN → ReLU] → [1×1 conv → BN → sigmoid]; a^(j) = g([u^(j) ; â^(j−1)]), â^(j) = a^(j) ⊙ p^(j)), on a dense
 * trunk (inference and training batch-norm) and on a conv trunk (1×1 masks per position, inputs pooled to the block's
 * resolution).
 */
import { tf } from '../src/tf.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainExperiment } from '../src/api/train.js';
import { initBackend } from '../src/backend/select.js';
import { parseConfigText } from '../src/config/load.js';
import type { LayerConfig } from '../src/config/types.js';
import { ATTENTION_NORM_EPSILON } from '../src/model/attention-module.js';
import { checkpointVariables } from '../src/model/checkpoint.js';
import type { InspectableModel } from '../src/model/experts.js';
import { getArchitecture } from '../src/model/registry.js';
import { createRng } from '../src/util/rng.js';
import {
  assignKnownValues,
  batchNormRows,
  concatRows,
  denseRows,
  expectRowsClose,
  type KnownValues,
  mapRows,
  multiplyRows,
  relu,
  type Rows,
  rowsOf,
  sigmoid,
  valuesOf,
} from './helpers/fixed-weights.js';
import { conv, flatten, reshape, twoHeads } from './helpers/layers.js';

const linearDense = (units: number, activation: 'relu' | 'linear' = 'linear'): LayerConfig => ({
  type: 'dense',
  units,
  activation,
  bias: true,
});

function buildAttention(trunk: LayerConfig[], inputSize: number): InspectableModel {
  return getArchitecture('attention').build(
    { architecture: 'attention', trunk, head: [] },
    { inputSize, heads: twoHeads, rng: createRng(1).fork('model') },
  ) as InspectableModel;
}

/** g(v) of task `task`, block j, written from the paper's module; `training` normalises with the rows' statistics. */
function attentionModule(known: KnownValues, task: string, j: number, v: Rows, training: boolean): Rows {
  const prefix = `tasks/${task}/attention/${j}`;
  const norm = (x: Rows, n: number): Rows =>
    batchNormRows(
      x,
      valuesOf(known, `${prefix}/norm${n}/gamma`),
      valuesOf(known, `${prefix}/norm${n}/beta`),
      ATTENTION_NORM_EPSILON,
      training
        ? undefined
        : {
            mean: valuesOf(known, `${prefix}/norm${n}/moving_mean`),
            variance: valuesOf(known, `${prefix}/norm${n}/moving_variance`),
          },
    );
  const dense = (x: Rows, n: number): Rows =>
    denseRows(x, valuesOf(known, `${prefix}/dense${n}/kernel`), valuesOf(known, `${prefix}/dense${n}/bias`));
  const hidden = mapRows(norm(dense(v, 1), 1), relu);
  return mapRows(norm(dense(hidden, 2), 2), sigmoid);
}

const X: Rows = [
  [0.5, -1],
  [1.5, 0.25],
  [-0.75, 2],
];

beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
}, 60_000);

describe('attention (MTAN) with fixed weights', () => {
  it('dense trunk: a^(0) = g(x), a^(1) = g([p^(0) ; â^(0)]) masks p^(1); outputs = head(â^(1))', () => {
    const model = buildAttention([linearDense(3, 'relu'), linearDense(2)], 2);
    const x = tf.tensor2d(X);
    try {
      const known = assignKnownValues(model);
      const names = checkpointVariables(model).map((v) => v.name);
      for (const task of ['a', 'b']) {
        for (const j of [0, 1]) {
          for (const part of ['dense1/kernel', 'dense1/bias', 'norm1/gamma', 'norm1/moving_variance', 'dense2/kernel'])
            expect(names).toContain(`tasks/${task}/attention/${j}/${part}`);
        }
      }
      // The module reads [u ; â] and outputs the mask's width: block 0 reads x (2), block 1 [p^(0) ; â^(0)] (3 + 3).
      const shapes = Object.fromEntries(checkpointVariables(model).map((v) => [v.name, v.shape]));
      expect(shapes['tasks/a/attention/0/dense1/kernel']).toEqual([2, 3]);
      expect(shapes['tasks/a/attention/0/dense2/kernel']).toEqual([3, 3]);
      expect(shapes['tasks/b/attention/1/dense1/kernel']).toEqual([6, 2]);

      const expected = (task: string, training: boolean): { masks: Rows[]; attended: Rows; output: Rows } => {
        const p0 = mapRows(denseRows(X, valuesOf(known, 'shared/0/kernel'), valuesOf(known, 'shared/0/bias')), relu);
        const p1 = denseRows(p0, valuesOf(known, 'shared/1/kernel'), valuesOf(known, 'shared/1/bias'));
        const a0 = attentionModule(known, task, 0, X, training);
        const attended0 = multiplyRows(a0, p0);
        const a1 = attentionModule(known, task, 1, concatRows(p0, attended0), training);
        const attended1 = multiplyRows(a1, p1);
        const output = denseRows(
          attended1,
          valuesOf(known, `tasks/${task}/output/kernel`),
          valuesOf(known, `tasks/${task}/output/bias`),
        );
        return { masks: [a0, a1], attended: attended1, output };
      };

      const record = model.inspect(x);
      for (const task of ['a', 'b']) {
        const want = expected(task, false);
        expectRowsClose(rowsOf(record[`mask/${task}/0`]!), want.masks[0]!);
        expectRowsClose(rowsOf(record[`mask/${task}/1`]!), want.masks[1]!);
        expectRowsClose(rowsOf(record[`attended/${task}`]!), want.attended);
      }
      const inference = model.forward(x, false);
      for (const task of ['a', 'b']) expectRowsClose(rowsOf(inference.outputs[task]!), expected(task, false).output);
      // Training: the modules' batch-norms normalise with the batch's statistics.
      const training = model.forward(x, true);
      for (const task of ['a', 'b']) expectRowsClose(rowsOf(training.outputs[task]!), expected(task, true).output);
      tf.dispose([
        ...Object.values(record),
        ...Object.values(inference.outputs),
        ...Object.values(training.outputs),
        inference.representation!,
        training.representation!,
      ]);
    } finally {
      x.dispose();
      model.dispose();
    }
  });

  it('conv trunk: 1×1 masks per position and channel, u^(j) and â^(j−1) average-pooled to the block output', () => {
    // Block 0: [reshape 2×2×2, 1×1 conv → 2 channels]: u^(0) = the 2×2×2 image, p^(0) = 2×2×2.
    // Block 1: [2×2 valid conv → 1 channel, flatten]: p^(1) is a 1×1×1 image; u^(1) = p^(0) pooled to 1×1 (the mean).
    const trunk = [
      reshape([2, 2, 2]),
      conv(2, 1, { activation: 'linear' }),
      conv(1, 2, { padding: 'valid', activation: 'linear' }),
      flatten,
    ];
    const model = buildAttention(trunk, 8);
    const pixels: Rows = [
      [0.5, -1, 1.5, 0.25, -0.75, 2, 1, -0.5],
      [0, 0.75, -1.25, 0.5, 1, 0.25, -0.5, 1.5],
    ];
    const x = tf.tensor2d(pixels);
    try {
      const known = assignKnownValues(model);
      const shapes = Object.fromEntries(checkpointVariables(model).map((v) => [v.name, v.shape]));
      expect(shapes['tasks/a/attention/0/dense1/kernel']).toEqual([2, 2]);
      expect(shapes['tasks/a/attention/1/dense1/kernel']).toEqual([4, 1]);
      // Per example: 4 positions × 2 channels (row-major, channels last).
      const positions = (row: number[]): Rows => [0, 1, 2, 3].map((p) => row.slice(2 * p, 2 * p + 2));
      const mean = (rows: Rows): number[] => rows[0]!.map((_, c) => rows.reduce((s, r) => s + r[c]!, 0) / rows.length);
      const record = model.inspect(x);
      for (const task of ['a', 'b']) {
        const u0 = pixels.map(positions);
        const p0 = u0.map((image) =>
          denseRows(image, valuesOf(known, 'shared/1/kernel'), valuesOf(known, 'shared/1/bias')),
        );
        // The mask of block 0, one row per (example, position), batch-norm statistics shared by all rows.
        const a0 = attentionModule(known, task, 0, u0.flat(), false);
        const attended0 = multiplyRows(a0, p0.flat());
        // Block 1's 2×2 valid conv sees the whole 2×2×2 image: one dot product with the [2, 2, 2, 1] kernel.
        const kernel = valuesOf(known, 'shared/2/kernel');
        const p1 = p0.map((image) => [
          image.flat().reduce((s, v, k) => s + v * kernel[k]!, valuesOf(known, 'shared/2/bias')[0]!),
        ]);
        const pooledAttended = [0, 1].map((b) => mean(attended0.slice(4 * b, 4 * b + 4)));
        const a1 = attentionModule(known, task, 1, concatRows(p0.map(mean), pooledAttended), false);
        expectRowsClose(
          rowsOf(record[`mask/${task}/0`]!),
          [0, 1].map((b) => a0.slice(4 * b, 4 * b + 4).flat()),
        );
        expectRowsClose(rowsOf(record[`mask/${task}/1`]!), a1);
        expectRowsClose(rowsOf(record[`attended/${task}`]!), multiplyRows(a1, p1));
      }
      tf.dispose(Object.values(record));
    } finally {
      x.dispose();
      model.dispose();
    }
  });
});

describe('attention (MTAN) representation gradients', () => {
  /** ∂(Σ outputs of task a)/∂z, split into the u^(0) columns and the rest. */
  function representationGradient(trunk: LayerConfig[]): { input: number[]; blocks: number[] } {
    const model = buildAttention(trunk, 2);
    const x = tf.tensor2d(X);
    try {
      const z = model.encode!(x, false);
      const gradient = tf.grad((zz: tf.Tensor) => tf.sum(model.decode!(zz, false)['a']!))(z);
      const rows = rowsOf(gradient);
      tf.dispose([z, gradient]);
      return { input: rows.flatMap((row) => row.slice(0, 2)), blocks: rows.flatMap((row) => row.slice(2)) };
    } finally {
      x.dispose();
      model.dispose();
    }
  }

  it('z = [u^(0), p^(0), …]: no gradient on u^(0) when it is the model input, as none would reach a parameter', () => {
    const plain = representationGradient([linearDense(3, 'relu'), linearDense(2)]);
    expect(plain.input.every((v) => v === 0)).toBe(true);
    expect(plain.blocks.some((v) => v !== 0)).toBe(true);
    // A trained layer below u^(0) (batch-norm on the input) gets the gradient through the masks too.
    const normalised = representationGradient([
      { type: 'batch-norm', momentum: 0.9, epsilon: 0.001 },
      linearDense(3, 'relu'),
      linearDense(2),
    ]);
    expect(normalised.input.some((v) => v !== 0)).toBe(true);
  });
});

describe('attention (MTAN) training', () => {
  let runsDir = '';
  beforeAll(() => {
    runsDir = mkdtempSync(path.join(tmpdir(), 'mtl-mtan-runs-'));
  });
  afterAll(() => {
    rmSync(runsDir, { recursive: true, force: true });
  });

  it.each(['equal', 'mgda'])(
    'two masked blocks with %s: finite losses that fall, test r2 > 0 on both tasks',
    async (strategy) => {
      // mgda runs on the representation (MGDA-UB): decode, with the modules' batch-norms, runs once per task.
      const text = `
name: mtan-${strategy}
seed: 5
backend: wasm
data:
  dataset: synthetic-correlated
  options: { samples: 500, features: 8, correlation: 0.8 }
tasks:
  - { name: y1, type: regression, metrics: [r2] }
  - { name: y2, type: regression, metrics: [r2] }
model:
  architecture: attention
  trunk:
    - { type: dense, units: 16, activation: relu }
    - { type: dense, units: 8, activation: relu }
  head: []
training:
  optimizer: adam
  lr: 0.01
  batch_size: 32
  epochs: 6
strategy:
  name: ${strategy}
`;
      const losses: number[] = [];
      const summary = await trainExperiment(parseConfigText(text), {
        runsDir,
        command: ['test'],
        listeners: [
          {
            onEpochEnd: (record) => void losses.push((record.trainLoss['y1'] ?? NaN) + (record.trainLoss['y2'] ?? NaN)),
          },
        ],
      });
      expect(summary.status).toBe('completed');
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(losses[losses.length - 1]).toBeLessThan(losses[0]! * 0.9);
      expect(summary.test['y1/r2']).toBeGreaterThan(0);
      expect(summary.test['y2/r2']).toBeGreaterThan(0);
    },
    120_000,
  );
});
