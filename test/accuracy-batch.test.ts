import { readFileSync } from 'node:fs';
import path from 'node:path';
import { tf } from '../src/tf.js';
import { describe, expect, it } from 'vitest';
import { trainExperiment } from '../src/api/train.js';
import { parseConfigText } from '../src/config/load.js';
import type { TaskConfig } from '../src/config/types.js';
import type { Strategy } from '../src/strategies/types.js';
import { accuracyWeighting, RunningMean } from '../src/strategies/weighting/accuracy.js';
import { tempDir } from './helpers.js';
import { digitsConfig } from './helpers/configs.js';
import { configProblems, expectClose } from './helpers/expect.js';
import { TWO_DIGIT_TASKS } from './helpers/configs.js';

const classifier = (name: string): TaskConfig => ({
  name,
  type: 'multiclass',
  targets: [name],
  loss: 'cross-entropy',
  metrics: ['accuracy'],
  weight: 1,
});
const tasks = [classifier('a'), classifier('b')];

function batchStrategy(decay: number): Strategy {
  return accuracyWeighting.create(
    { name: 'accuracy', metric: 'accuracy', scale: 'tasks', source: 'batch', decay },
    { tasks, seed: 1 },
  );
}

const feed = (strategy: Strategy, step: number, a: number, b: number): void =>
  strategy.onBatchMetrics?.({ epoch: 0, step, rows: 8, metrics: { 'a/accuracy': a, 'b/accuracy': b } });

describe('accuracy weighting from the running batch accuracy (source: batch)', () => {
  it('weights after known batches (β = 0.5, hand-computed)', () => {
    const strategy = batchStrategy(0.5);
    expect(strategy.currentWeights()).toEqual([1, 1]);
    // Batch 1: acc = (0.5, 0.9) (bias-corrected: the batch's own values) → errors (0.5, 0.1) → w = 2·(5/6, 1/6).
    feed(strategy, 0, 0.5, 0.9);
    expectClose(strategy.currentWeights(), [5 / 3, 1 / 3], 12);
    // Batch 2: m = (0.5·0.25 + 0.5·0.7, 0.5·0.45 + 0.5·0.9) = (0.475, 0.675), / (1 − 0.25) → (19/30, 0.9);
    // errors (11/30, 3/30) → w = 2·(11/14, 3/14).
    feed(strategy, 1, 0.7, 0.9);
    expectClose(strategy.currentWeights(), [11 / 7, 3 / 7], 12);
    // A batch where a task's metric is not finite leaves that task's average as it is.
    feed(strategy, 2, Number.NaN, 0.9);
    expectClose(strategy.currentWeights(), [11 / 7, 3 / 7], 12);
    // The epoch hook does not touch batch-driven weights.
    strategy.onEpochEnd?.({ epoch: 0, trainLosses: [1, 1], validation: { 'a/accuracy': 0.99, 'b/accuracy': 0.1 } });
    expectClose(strategy.currentWeights(), [11 / 7, 3 / 7], 12);
  });

  it('the state round-trips: a resumed strategy continues the same average', () => {
    const first = batchStrategy(0.9);
    feed(first, 0, 0.2, 0.6);
    feed(first, 1, 0.4, 0.5);
    const resumed = batchStrategy(0.9);
    resumed.restore(JSON.parse(JSON.stringify(first.state())));
    feed(first, 2, 0.6, 0.7);
    feed(resumed, 2, 0.6, 0.7);
    expect(resumed.currentWeights()).toEqual(first.currentWeights());
    expect(() => resumed.restore({ weights: [1, 1] })).toThrow(/running-mean state/);
  });

  it('validation stays the default source and has no batch hook (no extra pass)', () => {
    const strategy = accuracyWeighting.create({ name: 'accuracy' }, { tasks, seed: 1 });
    expect(strategy.onBatchMetrics).toBeUndefined();
    const mean = new RunningMean(1, 0);
    mean.add([0.3]);
    expect(mean.values()).toEqual([0.3]);
  });

  it('options are checked', () => {
    expect(configProblems(`${TWO_DIGIT_TASKS}strategy: { name: accuracy, source: batches }\n`)[0]).toMatch(
      /strategy\.source: "batches" is not allowed; did you mean "batch"\?/,
    );
    expect(configProblems(`${TWO_DIGIT_TASKS}strategy: { name: accuracy, source: batch, decay: 1 }\n`)[0]).toMatch(
      /strategy\.decay: /,
    );
  });

  it('trains: the trainer feeds each batch, the weights move within the first epoch, both tasks learn', async () => {
    const dir = tempDir();
    const text = `${digitsConfig({
      name: 'acc-batch',
      seed: 3,
      samples: 400,
      trunk: ['{ type: dense, units: 32 }'],
      training: { epochs: 3, batch_size: 32, lr: 0.01, optimizer: 'adam' },
    })}strategy: { name: accuracy, source: batch }\n`;
    const counts: number[] = [];
    const summary = await trainExperiment(parseConfigText(text, { file: path.join(dir, 'exp.yaml') }), {
      runsDir: path.join(dir, 'runs'),
      listeners: [{ onEpochEnd: () => void counts.push(tf.memory().numTensors) }],
    });
    expect(summary.status).toBe('completed');
    const epochs = readFileSync(path.join(summary.dir, 'epochs.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { taskWeights: Record<string, number> });
    // With the validation source epoch 1 is logged with equal weights; here they moved during the epoch.
    const first = epochs[0]!.taskWeights;
    expect(first['left']).not.toBe(1);
    expect(first['left']! + first['right']!).toBeCloseTo(2, 5);
    expect(counts[counts.length - 1]).toBe(counts[1]);
    for (const task of ['left', 'right']) {
      expect(summary.test[`${task}/accuracy`], task).toBeGreaterThan(0.5);
    }
  });
});
