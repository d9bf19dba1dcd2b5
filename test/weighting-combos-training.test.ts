import { readFileSync } from 'node:fs';
import path from 'node:path';
import { tf } from '../src/tf.js';
import { describe, expect, it } from 'vitest';
import { trainExperiment } from '../src/api/train.js';
import { parseConfigText } from '../src/config/load.js';
import { tempDir } from './helpers.js';
import { writeLinearRegressionCsv } from './helpers/csv.js';

/** Two related regression targets on 8 features (as test/gradient-training.test.ts). */
function relatedCsv(dir: string): void {
  writeLinearRegressionCsv(dir, 'related.csv', {
    seed: 5,
    rows: 300,
    features: 8,
    targets: [
      { weights: [1, 0, 0.5, 0, -1, 0, 0.3, 0], noise: 0.1 },
      { weights: [0.5, 1, 0, 0.4, -0.5, 0.8, 0, -0.2], noise: 0.1 },
    ],
  });
}

const config = (strategy: string) => `name: g
seed: 2
backend: wasm
data: { csv: related.csv }
tasks:
  - { name: a, type: regression, target: y1 }
  - { name: b, type: regression, target: y2 }
model:
  trunk: [{ type: dense, units: 16 }, { type: dropout, rate: 0.1 }]
training: { epochs: 6, batch_size: 32, lr: 0.01, optimizer: adam }
strategy: ${strategy}
`;

const cases = [
  ['imtl on the representation (auto)', '{ name: imtl }'],
  ['imtl on the parameters', '{ name: imtl, grad_target: params }'],
  ['weighted-average from uncertainty (learned)', '{ name: weighted-average, weights_from: { name: uncertainty } }'],
  ['weighted-average from dwa', '{ name: weighted-average, weights_from: { name: dwa }, grad_target: representation }'],
] as const;

describe('gradient strategies with learned or borrowed loss scales, in training', () => {
  const dir = tempDir();
  relatedCsv(dir);
  for (const [label, strategy] of cases) {
    it(`${label}: both tasks learn, no NaN, the weights move, tensors flat`, async () => {
      const counts: number[] = [];
      const summary = await trainExperiment(parseConfigText(config(strategy), { file: path.join(dir, 'exp.yaml') }), {
        runsDir: path.join(dir, 'runs'),
        listeners: [{ onEpochEnd: () => void counts.push(tf.memory().numTensors) }],
      });
      expect(summary.status).toBe('completed');
      const read = (file: string) =>
        readFileSync(path.join(summary.dir, file), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
      const epochs = read('epochs.jsonl');
      const train = read('metrics.jsonl').filter((r) => r.split === 'train');
      for (const task of ['a', 'b']) {
        const first = train[0].metrics[`${task}/loss`];
        const last = train[train.length - 1].metrics[`${task}/loss`];
        expect(Number.isFinite(last), task).toBe(true);
        expect(last, `${task}/loss`).toBeLessThan(0.5 * first);
        expect(summary.test[`${task}/r2`], `${task}/r2`).toBeGreaterThan(0.6);
      }
      const weights = epochs.map((e) => e.taskWeights.a as number);
      expect(new Set(weights).size, 'task weights change over epochs').toBeGreaterThan(1);
      expect(Math.abs(epochs[0].gradientCosines['a|b'])).toBeLessThanOrEqual(1);
      expect(counts[counts.length - 1]).toBe(counts[1]);
    });
  }
});
