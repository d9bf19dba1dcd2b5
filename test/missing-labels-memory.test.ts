/**
 * Memory with masking on (issue #17; test/memory.test.ts's pattern): the live tensor count stays flat over 20 short
 * epochs when rows lack labels (masked losses, batches where a task has no labelled row, a row budget), for a loss
 * weighting strategy and a gradient method on both targets (subset combiners), and a run releases everything.
 */
import path from 'node:path';
import { tf } from '../src/tf.js';
import { describe, expect, it } from 'vitest';
import { trainExperiment } from '../src/api/train.js';
import { parseConfigText } from '../src/config/load.js';
import { writeSyntheticCsv } from './helpers/csv.js';
import { tempDir } from './helpers.js';

const EPOCHS = 20;

/** 120 rows, 4 features; `kind` missing on every 3rd row, `size` on every 5th (NA). */
function partlyLabelledCsv(dir: string): void {
  writeSyntheticCsv(dir, 'tiny.csv', {
    seed: 7,
    rows: 120,
    header: ['f0', 'f1', 'f2', 'f3', 'kind', 'size'],
    digits: 4,
    row: (rng, r) => {
      const x = Array.from({ length: 4 }, () => rng.normal());
      const [x0, x1, x2, x3] = x as [number, number, number, number];
      const kind = r % 3 === 0 ? '' : x0 + 0.5 * x1 > 0.5 ? 'a' : x2 > 0 ? 'b' : 'c';
      return [...x, kind, r % 5 === 0 ? 'NA' : (x3 + 0.1 * rng.normal()).toFixed(4)];
    },
  });
}

const config = (strategy: string) => `name: memory-masked
seed: 5
backend: wasm
data: { csv: tiny.csv }
tasks:
  - { name: kind, type: multiclass, target: kind, max_train_rows: 12 }
  - { name: size, type: regression, target: size }
model:
  trunk: [{ type: dense, units: 16, activation: relu }]
training: { epochs: ${EPOCHS}, batch_size: 8, lr: 0.01, early_stopping: { patience: 0 } }
strategy: ${strategy}
`;

describe(`live tensors over ${EPOCHS} epochs with masked labels`, () => {
  const dir = tempDir();
  partlyLabelledCsv(dir);
  for (const strategy of [
    '{ name: equal }',
    '{ name: uncertainty }',
    '{ name: pcgrad, grad_target: params }',
    '{ name: mgda, grad_target: representation }',
  ]) {
    it(`${strategy}: the count after every epoch is the same, and back to the start after the run`, async () => {
      const counts: number[] = [];
      const before = tf.memory().numTensors;
      const summary = await trainExperiment(parseConfigText(config(strategy), { file: path.join(dir, 'exp.yaml') }), {
        runsDir: path.join(dir, 'runs'),
        listeners: [{ onEpochEnd: () => void counts.push(tf.memory().numTensors) }],
      });
      expect(summary.status).toBe('completed');
      expect(summary.labels?.['kind']?.train).toBe(12);
      expect(counts).toHaveLength(EPOCHS);
      expect(new Set(counts)).toEqual(new Set([counts[0]]));
      expect(tf.memory().numTensors).toBe(before);
      expect(Number.isFinite(summary.val['mean/loss'])).toBe(true);
    });
  }
});
