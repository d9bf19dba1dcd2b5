/**
 * Early stopping (training.early_stopping): patience counts epochs without an improvement of the monitored value by
 * more than min_delta; without a validation split the training loss is monitored; the best checkpoint, and so the
 * final metrics, come from the epoch the monitored value was best.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateRun, trainExperiment, type EpochRecord, type RunSummary } from '../src/index.js';
import { tempDir } from './helpers.js';
import { tinyRegressionConfig, type YamlFields } from './helpers/configs.js';

async function train(
  training: YamlFields,
  data: YamlFields = {},
): Promise<{ summary: RunSummary; records: EpochRecord[] }> {
  const dir = tempDir();
  const records: EpochRecord[] = [];
  const summary = await trainExperiment(tinyRegressionConfig(dir, { batch_size: 16, ...training }, data), {
    runsDir: path.join(dir, 'runs'),
    listeners: [{ onEpochEnd: (record) => void records.push(record) }],
  });
  return { summary, records };
}

/** The epoch and monitor the best checkpoint was saved with. */
function bestCheckpoint(summary: RunSummary): { epoch: number; monitor: { name: string; value: number } } {
  const modelJson = JSON.parse(readFileSync(path.join(summary.dir, 'checkpoints', 'best', 'model.json'), 'utf8')) as {
    userDefinedMetadata: { epoch: number; monitor: { name: string; value: number } };
  };
  return modelJson.userDefinedMetadata;
}

describe('patience', () => {
  // At rate 1e-30 sgd steps are below float32 resolution: the weights, and so the validation loss, never change.
  const frozen = { optimizer: 'sgd', lr: '1.0e-30', epochs: 10 };

  it('stops after `patience` epochs without improvement: best epoch 1, stopped after epoch 1 + patience', async () => {
    const { summary, records } = await train({ ...frozen, early_stopping: '{ patience: 3 }' });
    expect(records.map((r) => r.monitor.improved)).toEqual([true, false, false, false]);
    expect(new Set(records.map((r) => r.monitor.value)).size).toBe(1);
    expect(records[0]?.monitor.name).toBe('val/mean/loss');
    expect(summary).toMatchObject({
      status: 'completed',
      epochs: 4,
      bestEpoch: 1,
      statusReason: 'early stopping after epoch 4 (best epoch 1)',
    });
    const meta = JSON.parse(readFileSync(path.join(summary.dir, 'meta.json'), 'utf8')) as {
      epochsCompleted: number;
      bestEpoch: number;
    };
    expect(meta).toMatchObject({ epochsCompleted: 4, bestEpoch: 1 });
  });

  it('patience 0 (the default) never stops early', async () => {
    const { summary, records } = await train({ ...frozen, epochs: 5 });
    expect(records).toHaveLength(5);
    expect(summary).toMatchObject({ epochs: 5, bestEpoch: 1 });
    expect(summary.statusReason).toBeUndefined();
  });
});

describe('min_delta', () => {
  const learning = { lr: 0.02, epochs: 6 };

  it('an improvement counts only when larger than min_delta, for lower- and higher-is-better metrics', async () => {
    const reference = await train({ ...learning, early_stopping: '{ patience: 2 }' });
    const losses = reference.records.map((r) => r.val['mean/loss'] as number);
    // The validation loss falls in every epoch, so with min_delta 0 every epoch improves.
    expect(reference.records.map((r) => r.monitor.improved)).toEqual([true, true, true, true, true, true]);
    expect(reference.summary.bestEpoch).toBe(6);

    // Larger than any fall of the loss: only the first epoch counts, and training stops two epochs later.
    const strict = await train({ ...learning, early_stopping: '{ patience: 2, min_delta: 100 }' });
    expect(strict.records.map((r) => r.monitor.improved)).toEqual([true, false, false]);
    expect(strict.records.map((r) => r.val['mean/loss'])).toEqual(losses.slice(0, 3));
    expect(strict.summary).toMatchObject({ epochs: 3, bestEpoch: 1 });

    // Between the falls: epoch 2 improves on epoch 1 by (l1 − l2), so a min_delta just above that makes it no gain.
    const fall = losses[0]! - losses[1]!;
    const between = await train({ ...learning, early_stopping: `{ patience: 1, min_delta: ${fall * 1.0001} }` });
    expect(between.records[1]?.monitor.improved).toBe(false);
    expect(between.summary).toMatchObject({ epochs: 2, bestEpoch: 1 });

    // Higher is better (r2): an increase must exceed min_delta.
    const r2 = await train({ ...learning, early_stopping: '{ metric: mean/r2, patience: 2, min_delta: 100 }' });
    expect(r2.records.map((r) => [r.monitor.name, r.monitor.improved])).toEqual([
      ['val/mean/r2', true],
      ['val/mean/r2', false],
      ['val/mean/r2', false],
    ]);
  });
});

describe('without a validation split', () => {
  it('monitors the mean training loss, whatever metric early_stopping names', async () => {
    const { summary, records } = await train(
      { lr: 0.02, epochs: 6, early_stopping: '{ metric: mean/r2, patience: 2, min_delta: 100 }' },
      { split: '{ train: 0.8, val: 0, test: 0.2 }' },
    );
    for (const record of records) {
      expect(record.val).toEqual({});
      expect(record.monitor.name).toBe('train/mean/loss');
      expect(record.monitor.value).toBe(((record.trainLoss['a'] as number) + (record.trainLoss['b'] as number)) / 2);
    }
    expect(records.map((r) => r.monitor.improved)).toEqual([true, false, false]);
    expect(summary).toMatchObject({ epochs: 3, bestEpoch: 1 });
    expect(bestCheckpoint(summary)).toMatchObject({
      epoch: 1,
      monitor: { name: 'train/mean/loss', value: records[0]?.monitor.value },
    });
  });
});

describe('the best checkpoint follows the monitored metric', () => {
  it('is saved at the best epoch of that metric, and the final and re-evaluated metrics come from it', async () => {
    const { summary, records } = await train({
      lr: 0.02,
      epochs: 6,
      early_stopping: '{ metric: b/mae, patience: 2, min_delta: 100 }',
    });
    expect(summary).toMatchObject({ epochs: 3, bestEpoch: 1 });
    const first = records[0]!;
    expect(bestCheckpoint(summary)).toMatchObject({
      epoch: 1,
      monitor: { name: 'val/b/mae', value: first.val['b/mae'] },
    });
    // Training went on after the best epoch, and the final metrics are the best epoch's, not the last one's.
    expect(records[2]?.val['b/mae']).not.toBe(first.val['b/mae']);
    expect(summary.val).toEqual(first.val);
    const evaluation = await evaluateRun(summary.dir, { split: 'val' });
    expect(evaluation.metrics).toEqual(first.val);
    expect(evaluation.epoch).toBe(1);
  });

  it('with patience 0, the best epoch is where that metric was best, lower or higher is better', async () => {
    // Adam at rate 0.3 wanders: b/mae is lowest in epoch 5, a/r2 highest in epoch 4, neither in the last.
    const bestEpochs: number[] = [];
    for (const [metric, better] of [
      ['b/mae', Math.min],
      ['a/r2', Math.max],
    ] as const) {
      const { summary, records } = await train({ lr: 0.3, epochs: 8, early_stopping: `{ metric: ${metric} }` });
      const values = records.map((r) => r.val[metric] as number);
      expect(summary.bestEpoch, metric).toBe(values.indexOf(better(...values)) + 1);
      expect(bestCheckpoint(summary).monitor).toEqual({ name: `val/${metric}`, value: better(...values) });
      expect(summary.val[metric]).toBe(better(...values));
      bestEpochs.push(summary.bestEpoch);
    }
    expect(bestEpochs).toEqual([5, 4]);
  });
});
