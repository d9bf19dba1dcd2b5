/** More refusals of `mtl train --resume`: flags that contradict it, a diverged run, data changed since the start. */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { trainCommand } from '../src/cli/commands.js';
import { acquireRunLock, readMeta, resumeExperiment, trainExperiment } from '../src/index.js';
import { tempDir } from './helpers.js';
import { tinyRegressionConfig } from './helpers/configs.js';

const TRAINING = { epochs: 4, batch_size: 8, lr: 0.01 };

async function interruptedRun(dir: string, runsDir: string): Promise<{ id: string; dir: string }> {
  const controller = new AbortController();
  return trainExperiment(tinyRegressionConfig(dir, TRAINING), {
    runsDir,
    signal: controller.signal,
    listeners: [{ onBatch: (info) => info.epoch === 1 && info.batch === 1 && controller.abort() }],
  });
}

describe('resume refusals', () => {
  it('a config and --resume together, or neither', async () => {
    await expect(trainCommand('configs/quickstart.yaml', { resume: 'x' })).rejects.toThrow(
      /give a config or --resume x, not both/,
    );
    await expect(trainCommand(undefined, {})).rejects.toThrow(/missing the config file/);
  });

  it('a diverged run: resuming would diverge again, the run untouched', async () => {
    const runsDir = tempDir('mtl-runs-');
    const run = await interruptedRun(tempDir(), runsDir);
    const file = path.join(run.dir, 'meta.json');
    const meta: unknown = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...(typeof meta === 'object' ? meta : {}), status: 'diverged' }));
    const before = readFileSync(file, 'utf8');
    await expect(resumeExperiment(run.id, { runsDir })).rejects.toThrow(/diverged; resuming would diverge again/);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('data changed since the run started: refused, the run untouched', async () => {
    const runsDir = tempDir('mtl-runs-');
    const dataDir = tempDir();
    const run = await interruptedRun(dataDir, runsDir);
    const csv = path.join(dataDir, 'tiny.csv');
    appendFileSync(csv, `${readFileSync(csv, 'utf8').split('\n')[1] ?? ''}\n`);
    const before = readMeta(run.dir);
    await expect(resumeExperiment(run.id, { runsDir })).rejects.toThrow(/its data has changed since the run started/);
    expect(readMeta(run.dir)).toEqual(before);
  });

  it('a run another command is changing: resume waits for its lock, then gives up naming it', async () => {
    const runsDir = tempDir('mtl-runs-');
    const run = await interruptedRun(tempDir(), runsDir);
    const held = await acquireRunLock(run.dir, { command: 'mtl eval' });
    try {
      const before = readMeta(run.dir);
      await expect(resumeExperiment(run.id, { runsDir, lock: { timeoutMs: 300 } })).rejects.toThrow(
        /is busy: mtl eval \(pid \d+ on .*\) has been changing it since/,
      );
      expect(readMeta(run.dir)).toEqual(before);
    } finally {
      held.release();
    }
    const resumed = await resumeExperiment(run.id, { runsDir });
    expect(resumed.status).toBe('completed');
  });
});
