/**
 * Learning-rate schedules and warm-up: the rate of each epoch against values computed by hand, as the trainer reports
 * it and as epochs.jsonl stores it, and proof that the optimizer steps with it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { trainExperiment, type EpochRecord, type TrainListener } from '../src/index.js';
import { tempDir } from './helpers.js';
import { tinyRegressionConfig, type YamlFields } from './helpers/configs.js';
import { bits, expectClose } from './helpers/expect.js';

/** Trains the tiny regression with sgd at base rate 0.1, one batch an epoch; the records and the run directory. */
async function train(
  training: YamlFields,
  listener: TrainListener = {},
): Promise<{ records: EpochRecord[]; dir: string }> {
  const dir = tempDir();
  const records: EpochRecord[] = [];
  const summary = await trainExperiment(
    tinyRegressionConfig(dir, { optimizer: 'sgd', lr: 0.1, batch_size: 64, ...training }),
    {
      runsDir: path.join(dir, 'runs'),
      listeners: [{ onEpochEnd: (record) => void records.push(record) }, listener],
    },
  );
  expect(summary.status).toBe('completed');
  return { records, dir: summary.dir };
}

async function rates(training: YamlFields): Promise<number[]> {
  return (await train(training)).records.map((r) => r.learningRate);
}

describe('learning-rate schedules (base rate 0.1)', () => {
  it('constant: 0.1 every epoch, and epochs.jsonl stores what the trainer used', async () => {
    const { records, dir } = await train({ epochs: 4 });
    expect(records.map((r) => r.learningRate)).toEqual([0.1, 0.1, 0.1, 0.1]);
    const stored = readFileSync(path.join(dir, 'epochs.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { learningRate: number });
    expect(stored.map((e) => e.learningRate)).toEqual([0.1, 0.1, 0.1, 0.1]);
  });

  it('step: × gamma every step_size epochs (step_size 2, gamma 0.5)', async () => {
    expectClose(
      await rates({ epochs: 6, schedule: '{ type: step, step_size: 2, gamma: 0.5 }' }),
      [0.1, 0.1, 0.05, 0.05, 0.025, 0.025],
      12,
    );
  });

  it('exponential: × gamma every epoch (gamma 0.5)', async () => {
    expectClose(
      await rates({ epochs: 4, schedule: '{ type: exponential, gamma: 0.5 }' }),
      [0.1, 0.05, 0.025, 0.0125],
      12,
    );
  });

  it('cosine: from the base rate to min_lr at the last epoch (min_lr 0.01, 5 epochs)', async () => {
    // lr_e = 0.01 + ½ (0.1 − 0.01) (1 + cos(π e / 4)): cos(π/4) = √2/2, cos(π/2) = 0, cos(3π/4) = −√2/2.
    const half = 0.045;
    const expected = [0.1, 0.01 + half * (1 + Math.SQRT1_2), 0.055, 0.01 + half * (1 - Math.SQRT1_2), 0.01];
    expectClose(await rates({ epochs: 5, schedule: '{ type: cosine, min_lr: 0.01 }' }), expected, 12);
    expect(expected[1]).toBeCloseTo(0.0868198, 7);
  });
});

describe('warm-up', () => {
  it('rises linearly to the base rate over warmup_epochs, base · (e + 1) / (warmup + 1), then schedules', async () => {
    expectClose(await rates({ epochs: 4, warmup_epochs: 2 }), [0.1 / 3, 0.2 / 3, 0.1, 0.1], 12);
  });

  it('the schedule counts its epochs from the end of warm-up (step and cosine)', async () => {
    expectClose(
      await rates({ epochs: 5, warmup_epochs: 2, schedule: '{ type: step, step_size: 1, gamma: 0.5 }' }),
      [0.1 / 3, 0.2 / 3, 0.1, 0.05, 0.025],
      12,
    );
    // Cosine over the 4 epochs after warm-up: ½ · 0.1 · (1 + cos(π e / 3)) for e = 0…3.
    expectClose(
      await rates({ epochs: 6, warmup_epochs: 2, schedule: '{ type: cosine }' }),
      [0.1 / 3, 0.2 / 3, 0.1, 0.075, 0.025, 0],
      12,
    );
  });
});

describe('the optimizer steps with the scheduled rate', () => {
  it('weights move at the base rate and stand still once the rate is 1e-21 (step schedule, gamma 1e-20)', async () => {
    const weights: number[][] = [];
    await train(
      { epochs: 4, schedule: '{ type: step, step_size: 2, gamma: 1.0e-20 }' },
      {
        onEpochEnd: (_, model) =>
          void weights.push(
            bits(
              [...model.sharedVariables, ...Object.values(model.taskVariables).flat()].flatMap((v) =>
                Array.from(v.dataSync()),
              ),
            ),
          ),
      },
    );
    expect(weights[1]).not.toEqual(weights[0]);
    // An sgd step of 1e-21 · gradient is below float32 resolution of every weight.
    expect(weights[2]).toEqual(weights[1]);
    expect(weights[3]).toEqual(weights[1]);
  });
});
