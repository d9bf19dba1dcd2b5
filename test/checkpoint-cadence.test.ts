import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../src/api/build.js';
import { initBackend } from '../src/backend/select.js';
import { parseConfigText } from '../src/config/load.js';
import { prepareData } from '../src/data/prepare.js';
import { getStrategy } from '../src/strategies/registry.js';
import type { TrainerCheckpoint } from '../src/train/snapshot.js';
import { EPOCH_CHECKPOINT_MIN_SECONDS } from '../src/train/checkpoint-cadence.js';
import { runTrainer } from '../src/train/trainer.js';
import { tempDir } from './helpers.js';
import { writeSyntheticCsv } from './helpers/csv.js';

// The `last` checkpoint at an epoch's end is taken at most once per `checkpointMinSeconds` (1 s by default), and
// always at the run's last epoch and at the epoch early stopping ends it at: the quickstart's epochs take ~55 ms,
// and writing one after each cost ~1 % of every epoch (issue #20's W4 measures it).

const dir = tempDir();
beforeAll(async () => {
  await initBackend('wasm');
  writeSyntheticCsv(dir, 'c.csv', {
    seed: 5,
    rows: 60,
    header: ['x0', 'x1', 'y'],
    digits: 4,
    row: (rng) => {
      const [a, b] = [rng.normal(), rng.normal()];
      return [a, b, a - b];
    },
  });
}, 60_000);

const configText = (training: string): string => `name: cadence
seed: 1
backend: wasm
data: { csv: c.csv }
tasks:
  - { name: a, type: regression, target: y }
model:
  trunk: [{ type: dense, units: 4, activation: relu }]
training: { batch_size: 16, ${training} }
`;

/** The epochs (of completed epochs, 1-based; mid-epoch ones marked) the trainer asked to save `last` at. */
async function checkpointEpochs(training: string, checkpointMinSeconds?: number): Promise<string[]> {
  const { config } = parseConfigText(configText(training), { file: path.join(dir, 'exp.yaml') });
  const data = await prepareData(config, dir);
  const model = buildModel(config, data.preprocessing);
  const strategy = getStrategy(config.strategy.name).create(config.strategy, {
    tasks: config.tasks,
    seed: config.seed,
    hasSharedRepresentation: true,
  });
  const saved: string[] = [];
  const record = async ({ snapshot }: TrainerCheckpoint): Promise<void> => {
    saved.push(snapshot.partial ? `${snapshot.epoch + 1} (batch ${snapshot.batch})` : String(snapshot.epoch));
  };
  try {
    await runTrainer({
      config,
      data,
      model,
      strategy,
      onCheckpoint: record,
      ...(checkpointMinSeconds === undefined ? {} : { checkpointMinSeconds }),
    });
  } finally {
    model.dispose();
  }
  return saved;
}

describe('the last checkpoint at epoch ends', () => {
  it('at most one per checkpointMinSeconds: the first epoch and the last one', async () => {
    expect(await checkpointEpochs('epochs: 8', 60)).toEqual(['1', '8']);
  });

  it('by default one a second: eight epochs of three steps on a 4-unit model take well under one', async () => {
    expect(EPOCH_CHECKPOINT_MIN_SECONDS).toBe(1);
    const epochs = await checkpointEpochs('epochs: 8');
    expect(epochs[0]).toBe('1');
    expect(epochs[epochs.length - 1]).toBe('8');
    expect(epochs.length).toBeLessThan(8);
  });

  it('checkpointMinSeconds: 0 takes one at every epoch end', async () => {
    expect(await checkpointEpochs('epochs: 4', 0)).toEqual(['1', '2', '3', '4']);
  });

  it('the epoch early stopping ends the run at has its checkpoint', async () => {
    // Nothing improves on epoch 1 by 1000: patience 2 stops after epoch 3 of 50.
    const early = 'epochs: 50, early_stopping: { metric: loss, patience: 2, min_delta: 1000 }';
    expect(await checkpointEpochs(early, 60)).toEqual(['1', '3']);
  });

  it('checkpoint_every_steps: after every N-th step, also where that step ends an epoch', async () => {
    // 42 training rows in batches of 16: three steps an epoch.
    expect(await checkpointEpochs('epochs: 2, checkpoint_every_steps: 2', 60)).toEqual([
      '1 (batch 2)',
      '2 (batch 1)',
      '2',
    ]);
    // Steps 3, 6, 9 end epochs: their checkpoints are the epochs' own, never skipped (a killed run loses ≤ 3 steps).
    expect(await checkpointEpochs('epochs: 4, checkpoint_every_steps: 3', 60)).toEqual(['1', '2', '3', '4']);
  });
});
