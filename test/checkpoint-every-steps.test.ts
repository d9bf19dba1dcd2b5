/**
 * `training.checkpoint_every_steps: N` also writes the `last` checkpoint after every N-th step within an epoch: a run
 * that fails or is killed mid-epoch resumes from there (meta.json `resumes[0].batch` > 0), losing at most N steps, and
 * ends with the metrics of the same run left alone, bit for bit (wasm). Taking those checkpoints changes nothing.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/config/load.js';
import { listRuns, readEpochLog, readMeta, readMetricRows, resumeExperiment, trainExperiment } from '../src/index.js';
import type { TrainListener } from '../src/train/trainer.js';
import { tempDir, writeFile } from './helpers.js';
import { bin, root } from './helpers/cli.js';
import { digitsConfig } from './helpers/configs.js';

function config(training: Record<string, string | number>, samples = 360): string {
  const base = digitsConfig({
    name: 'every-steps',
    seed: 11,
    samples,
    trunk: ['{ type: dense, units: 16, activation: relu }', '{ type: dropout, rate: 0.2 }', '{ type: batch-norm }'],
    training: { lr: 0.01, batch_size: 32, epochs: 3, early_stopping: '{ metric: mean/accuracy }', ...training },
  });
  return `${base}strategy: { name: famo }\n`;
}

/** The logs without their timings. */
function logs(dir: string): unknown {
  const epochs = readEpochLog(dir).map(({ seconds: _s, samplesPerSecond: _r, ...rest }) => rest);
  return { rows: readMetricRows(dir), epochs };
}

function trainingState(runDir: string): { epoch: number; batch: number } {
  const file = path.join(runDir, 'checkpoints', 'last', 'training-state.json');
  const json = JSON.parse(readFileSync(file, 'utf8')) as { snapshot: { epoch: number; batch: number } };
  return json.snapshot;
}

describe('training.checkpoint_every_steps', () => {
  it('a run failing mid-epoch resumes from its last N-th step and ends as the run left alone', async () => {
    const runsDir = tempDir('mtl-every-');
    // 360 composites → 252 training rows → 8 batches of 32. Steps 9, 12 and 15 are batches 1, 4 and 7 of the second
    // epoch; the run fails after its batch 6, so the `last` checkpoint is that of batch 4 (step 12).
    const every = config({ checkpoint_every_steps: 3 });
    const alone = await trainExperiment(parseConfigText(config({})), { runsDir });
    const aloneEvery = await trainExperiment(parseConfigText(every), { runsDir });
    expect(aloneEvery.test).toEqual(alone.test);
    expect(logs(aloneEvery.dir)).toEqual(logs(alone.dir));

    const failing: TrainListener = {
      onBatch: (info) => {
        if (info.epoch === 1 && info.batch === 6) throw new Error('stopped from outside');
      },
    };
    await expect(trainExperiment(parseConfigText(every), { runsDir, listeners: [failing] })).rejects.toThrow();
    const stopped = listRuns(runsDir).find((run) => run.status === 'failed');
    if (!stopped) throw new Error('no failed run');
    expect(trainingState(stopped.dir)).toMatchObject({ epoch: 1, batch: 4 });
    const resumed = await resumeExperiment(stopped.id, { runsDir });
    expect(readMeta(resumed.dir).resumes?.[0]).toMatchObject({ epoch: 1, batch: 4, from: 'failed' });
    expect(resumed.status).toBe(alone.status);
    expect(resumed.epochs).toBe(alone.epochs);
    expect(resumed.bestEpoch).toBe(alone.bestEpoch);
    expect(resumed.test).toEqual(alone.test);
    expect(resumed.val).toEqual(alone.val);
    expect(logs(resumed.dir)).toEqual(logs(alone.dir));
  });

  it('without it (the default), a run failing mid-epoch resumes from the last epoch end', async () => {
    const runsDir = tempDir('mtl-every-');
    const failing: TrainListener = {
      onBatch: (info) => {
        if (info.epoch === 1 && info.batch === 6) throw new Error('stopped from outside');
      },
    };
    await expect(trainExperiment(parseConfigText(config({})), { runsDir, listeners: [failing] })).rejects.toThrow();
    const [stopped] = listRuns(runsDir);
    expect(trainingState(stopped?.dir ?? '')).toMatchObject({ epoch: 1, batch: 0 });
  });

  it('mtl train killed with SIGKILL mid-epoch resumes from the mid-epoch checkpoint to the same metrics', async () => {
    const dir = tempDir('mtl-every-kill-');
    // 2,400 composites → 1,680 training rows → 210 batches of 8 per epoch; a checkpoint every 10 steps.
    const text = config({ batch_size: 8, epochs: 2, checkpoint_every_steps: 10 }, 2400);
    const configFile = writeFile(dir, 'every.yaml', text);
    const alone = await trainExperiment(parseConfigText(text), { runsDir: path.join(dir, 'alone') });

    const runsDir = path.join(dir, 'killed');
    const child = spawn(process.execPath, [bin, 'train', configFile, '--runs-dir', runsDir], {
      cwd: root,
      env: { ...process.env, CI: 'true' },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let stateFile: string | undefined;
    for (let i = 0; i < 6000 && stateFile === undefined && child.exitCode === null; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      const [id] = existsSync(runsDir) ? readdirSync(runsDir) : [];
      const file = id ? path.join(runsDir, id, 'checkpoints', 'last', 'training-state.json') : undefined;
      if (file && existsSync(file)) stateFile = file;
    }
    child.kill('SIGKILL');
    await exited;
    const [run] = listRuns(runsDir);
    if (!run || !stateFile) throw new Error('the run wrote no checkpoint before it ended');
    expect(run.status).toBe('crashed');
    const at = trainingState(run.dir);
    expect(at.epoch).toBe(0); // the first checkpoint on disk is a mid-epoch one, long before the epoch's end
    expect(at.batch).toBeGreaterThan(0);
    const resumed = await resumeExperiment(run.dir);
    expect(readMeta(resumed.dir).resumes?.[0]).toMatchObject({ epoch: 0, batch: at.batch, from: 'crashed' });
    expect(resumed.status).toBe(alone.status);
    expect(resumed.test).toEqual(alone.test);
    expect(logs(resumed.dir)).toEqual(logs(alone.dir));
  }, 120_000);
});
