/**
 * Checkpoints: saved in the background with the weights of the moment they were taken, and a checkpoint that cannot
 * be written fails the run and says so in meta.json.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tf } from '../src/tf.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../src/api/build.js';
import { trainExperiment } from '../src/api/train.js';
import { initBackend } from '../src/backend/select.js';
import { parseConfigText } from '../src/config/load.js';
import type { ResolvedConfig } from '../src/config/types.js';
import type { PreparedData } from '../src/data/prepare.js';
import { loadCheckpointInto, saveCheckpoint } from '../src/runs/checkpoint.js';
import { BackgroundTasks } from '../src/runs/atomic.js';
import { tempDir } from './helpers.js';
import { smallDigitsConfig, smallDigitsData } from './helpers/configs.js';
import { bits } from './helpers/expect.js';

let config: ResolvedConfig;
let data: PreparedData;

beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
  ({ config, data } = await smallDigitsData());
});

describe('checkpoints', () => {
  it('saves checkpoints in the background with the weights of the moment they were taken', async () => {
    const dir = path.join(tempDir(), 'checkpoints', 'best');
    const model = buildModel(config, data.preprocessing);
    const variable = model.sharedVariables[0]!;
    const first = variable.dataSync().slice();
    const background = new BackgroundTasks();
    await saveCheckpoint(dir, model, { architecture: 'hard-sharing' }, { epoch: 1 }, 'test', background);
    variable.assign(tf.zerosLike(variable)); // training goes on while the checkpoint is written
    await background.close();
    loadCheckpointInto(dir, model);
    expect(bits(variable.dataSync())).toEqual(bits(first));
    expect(readdirSync(path.dirname(dir))).toEqual(['best']);
    model.dispose();
  });

  it('fails the run when a checkpoint cannot be written, and says so in meta.json', async () => {
    const runsDir = tempDir();
    let runDir = '';
    const run = trainExperiment(parseConfigText(smallDigitsConfig(3)), {
      runsDir,
      // A file where the checkpoints folder should go: every checkpoint write fails.
      onRunCreated: ({ dir }) => {
        runDir = dir;
        writeFileSync(path.join(dir, 'checkpoints'), 'not a folder');
      },
    });
    await expect(run).rejects.toThrow(/failed/);
    const metaJson = JSON.parse(readFileSync(path.join(runDir, 'meta.json'), 'utf8'));
    expect(metaJson.status).toBe('failed');
  });
});
