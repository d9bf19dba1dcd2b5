/**
 * Memory across many epochs (project issue #7): the live tensor count stays flat over 20 short epochs, for a
 * loss-weighting strategy (`equal`) and a gradient strategy (`pcgrad`, on the shared parameters and on the shared
 * representation), and everything a run made is released at its end. `npm run bench` reports RSS over the same kind
 * of run (bench/README.md); RSS is too noisy for an exact assertion.
 */
import path from 'node:path';
import { tf } from '../src/tf.js';
import { describe, expect, it } from 'vitest';
import { trainWithBaselines } from '../src/api/baselines.js';
import { extractFeatures } from '../src/api/features.js';
import { trainExperiment } from '../src/api/train.js';
import { parseConfigText } from '../src/config/load.js';
import { tempDir } from './helpers.js';
import { writeSyntheticCsv } from './helpers/csv.js';

const EPOCHS = 20;

/** 120 rows, 6 features, a 3-class and a regression target. */
function tinyCsv(dir: string): void {
  writeSyntheticCsv(dir, 'tiny.csv', {
    seed: 7,
    rows: 120,
    header: ['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'kind', 'size'],
    digits: 4,
    row: (rng) => {
      const x = Array.from({ length: 6 }, () => rng.normal());
      const [x0, x1, x2, x3, x4] = x as [number, number, number, number, number];
      const kind = x0 + 0.5 * x1 > 0.5 ? 'a' : x2 > 0 ? 'b' : 'c';
      return [...x, kind, x3 - 0.5 * x4 + 0.1 * rng.normal()];
    },
  });
}

const config = (strategy: string) => `name: memory
seed: 5
backend: wasm
data: { csv: tiny.csv }
tasks:
  - { name: kind, type: multiclass, target: kind }
  - { name: size, type: regression, target: size }
model:
  trunk:
    - { type: dense, units: 16, activation: relu }
    - { type: dropout, rate: 0.1 }
    - { type: batch-norm }
training: { epochs: ${EPOCHS}, batch_size: 16, lr: 0.01, early_stopping: { patience: 0 } }
strategy: ${strategy}
`;

describe(`live tensors over ${EPOCHS} epochs`, () => {
  const dir = tempDir();
  tinyCsv(dir);
  const strategies: Array<[string, string]> = [
    ['equal', '{ name: equal }'],
    ['pcgrad on the shared parameters', '{ name: pcgrad, grad_target: params }'],
    ['pcgrad on the shared representation', '{ name: pcgrad, grad_target: representation }'],
    ['equal with inter-task affinity', '{ name: equal }\nanalysis: { affinity: true }'],
    // Its task norms come from the step's forward pass kept on TF.js's tape (train/loss-step.ts).
    ['gradnorm', '{ name: gradnorm }'],
    ['equal with a feature discriminator (issue #18)', '{ name: equal }\nadversary: { type: discriminator, steps: 2 }'],
  ];
  for (const [label, strategy] of strategies) {
    it(`${label}: the count after every epoch is the same, and back to the start after the run`, async () => {
      const counts: number[] = [];
      const before = tf.memory().numTensors;
      const summary = await trainExperiment(parseConfigText(config(strategy), { file: path.join(dir, 'exp.yaml') }), {
        runsDir: path.join(dir, 'runs'),
        listeners: [{ onEpochEnd: () => void counts.push(tf.memory().numTensors) }],
      });
      expect(summary.status).toBe('completed');
      expect(counts).toHaveLength(EPOCHS);
      // Everything the trainer keeps (variables, optimizer slots, the split tensors) exists before epoch 1 ends.
      expect(new Set(counts)).toEqual(new Set([counts[0]]));
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});

describe('live tensors over a run and its single-task baselines', () => {
  it('every baseline run keeps its count flat and releases everything, as the run does', async () => {
    const dir = tempDir();
    tinyCsv(dir);
    const countsPerRun: number[][] = [];
    const before = tf.memory().numTensors;
    const text = `${config('{ name: equal }')}baselines: single-task\n`.replace(`epochs: ${EPOCHS}`, 'epochs: 5');
    const { summary, subRuns } = await trainWithBaselines(parseConfigText(text, { file: path.join(dir, 'exp.yaml') }), {
      runsDir: path.join(dir, 'runs'),
      listeners: [
        {
          onStart: () => void countsPerRun.push([]),
          onEpochEnd: () => void countsPerRun.at(-1)?.push(tf.memory().numTensors),
        },
      ],
    });
    expect([summary, ...subRuns].map((run) => run.status)).toEqual(['completed', 'completed', 'completed']);
    expect(countsPerRun.map((counts) => counts.length)).toEqual([5, 5, 5]);
    for (const counts of countsPerRun) expect(new Set(counts)).toEqual(new Set([counts[0]]));
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('live tensors over a fine-tuning run (issue #17)', () => {
  it('loading, freezing and unfreezing keep the count flat; the run and `features` release everything', async () => {
    const dir = tempDir();
    tinyCsv(dir);
    const runsDir = path.join(dir, 'runs');
    const file = path.join(dir, 'exp.yaml');
    const short = config('{ name: equal }').replace(`epochs: ${EPOCHS}`, 'epochs: 2');
    const source = await trainExperiment(parseConfigText(short, { file }), { runsDir });
    const counts: number[] = [];
    const before = tf.memory().numTensors;
    const init = `init: { from: ${source.id}, load: [shared, heads], freeze: [shared], unfreeze_after: 10 }\n`;
    const summary = await trainExperiment(parseConfigText(`${config('{ name: equal }')}${init}`, { file }), {
      runsDir,
      listeners: [{ onEpochEnd: () => void counts.push(tf.memory().numTensors) }],
    });
    expect(summary.status).toBe('completed');
    expect(counts).toHaveLength(EPOCHS);
    expect(new Set(counts)).toEqual(new Set([counts[0]]));
    expect(tf.memory().numTensors).toBe(before);
    const features = await extractFeatures(summary.id, { runsDir, split: 'test' });
    expect(features.rows.length).toBeGreaterThan(0);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('live tensors with an adversarial task (issue #18)', () => {
  const dir = tempDir();
  tinyCsv(dir);
  const adversarial = (strategy: string) =>
    config(strategy).replace(
      '  - { name: kind, type: multiclass, target: kind }',
      '  - { name: kind, type: multiclass, target: kind, adversarial: { lambda: { max: 0.5, schedule: dann } } }',
    );
  for (const strategy of [
    '{ name: equal }',
    '{ name: pcgrad, grad_target: params }',
    '{ name: pcgrad, grad_target: representation }',
  ]) {
    it(`${strategy}: the count after every epoch is the same, and back to the start after the run`, async () => {
      const counts: number[] = [];
      const before = tf.memory().numTensors;
      const text = adversarial(strategy);
      expect(text).toContain('adversarial');
      const summary = await trainExperiment(parseConfigText(text, { file: path.join(dir, 'exp.yaml') }), {
        runsDir: path.join(dir, 'runs'),
        listeners: [{ onEpochEnd: () => void counts.push(tf.memory().numTensors) }],
      });
      expect(summary.status).toBe('completed');
      expect(summary.adversaries?.test['kind']).toBeDefined();
      expect(counts).toHaveLength(EPOCHS);
      expect(new Set(counts)).toEqual(new Set([counts[0]]));
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});
