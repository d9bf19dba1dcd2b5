/**
 * `mtl train` killed with SIGKILL at seeded random moments (while it trains, writes checkpoints, logs and meta.json):
 * every run directory stays readable, `mtl runs` shows each killed run as `crashed`, and resuming it completes with
 * the metrics of the same run left alone, bit for bit (wasm in both).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listRuns, readMeta, resumeExperiment } from '../src/index.js';
import { createRng } from '../src/util/rng.js';
import { tempDir, writeFile } from './helpers.js';
import { digitsConfig } from './helpers/configs.js';
import { bin, root } from './helpers/cli.js';

const KILLS = 20;

const CONFIG = `${digitsConfig({
  name: 'killed',
  seed: 3,
  samples: 300,
  trunk: ['{ type: dense, units: 16, activation: relu }', '{ type: dropout, rate: 0.1 }', '{ type: batch-norm }'],
  training: { lr: 0.01, batch_size: 16, epochs: 6, early_stopping: '{ metric: mean/accuracy }' },
})}strategy: { name: rlw }\n`;

interface Started {
  /** Resolves when the first epoch's line is on stderr (the run has a `last` checkpoint queued). */
  firstEpoch: Promise<void>;
  exited: Promise<number | null>;
  kill(): void;
  stdout(): string;
}

function start(configFile: string, runsDir: string): Started {
  const child = spawn(process.execPath, [bin, 'train', configFile, '--runs-dir', runsDir], {
    cwd: root,
    env: { ...process.env, CI: 'true' },
  });
  let stdout = '';
  let stderr = '';
  let onEpoch: () => void = () => undefined;
  const firstEpoch = new Promise<void>((resolve) => {
    onEpoch = resolve;
  });
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (/epoch\s+1\//.test(stderr)) onEpoch();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  void exited.then(() => onEpoch());
  return { firstEpoch, exited, kill: () => child.kill('SIGKILL'), stdout: () => stdout };
}

function summaryTest(runDir: string): unknown {
  const summary: unknown = JSON.parse(readFileSync(path.join(runDir, 'summary.json'), 'utf8'));
  return typeof summary === 'object' && summary !== null && 'test' in summary ? summary.test : undefined;
}

describe('SIGKILL at random moments', () => {
  it(`${KILLS} killed runs stay readable and resume to the uninterrupted metrics`, async () => {
    const dir = tempDir('mtl-kill-');
    const configFile = writeFile(dir, 'killed.yaml', CONFIG);
    const referenceDir = path.join(dir, 'reference');
    const reference = start(configFile, referenceDir);
    await reference.firstEpoch;
    const firstEpochAt = performance.now();
    expect(await reference.exited).toBe(0);
    const rest = performance.now() - firstEpochAt;
    const [referenceRun] = listRuns(referenceDir);
    expect(referenceRun?.status).toBe('completed');
    const expected = summaryTest(referenceRun?.dir ?? '');

    const rng = createRng(14);
    const runsDir = path.join(dir, 'killed');
    const delays = Array.from({ length: KILLS }, () => rng.next() * rest * 1.1);
    const killAfterFirstEpoch = async (delay: number): Promise<void> => {
      const run = start(configFile, runsDir);
      await run.firstEpoch;
      // Anywhere from just after the first epoch to the end of the run (the final writes included).
      await new Promise((resolve) => setTimeout(resolve, delay));
      run.kill();
      await run.exited;
    };
    for (let k = 0; k < KILLS; k += 2) await Promise.all(delays.slice(k, k + 2).map(killAfterFirstEpoch));

    const runs = listRuns(runsDir); // every run directory reads
    expect(runs).toHaveLength(KILLS);
    let resumed = 0;
    for (const run of runs) {
      const meta = readMeta(run.dir);
      if (run.status === 'completed') {
        expect(summaryTest(run.dir)).toEqual(expected);
        continue;
      }
      expect(run.status).toBe('crashed');
      expect(meta.status).toBe('running');
      if (!existsSync(path.join(run.dir, 'checkpoints', 'last', 'training-state.json'))) {
        // Killed before its first `last` checkpoint reached the disk: refused with the reason, the run untouched.
        await expect(resumeExperiment(run.dir)).rejects.toThrow(/has no checkpoint to resume from/);
        expect(readMeta(run.dir)).toEqual(meta);
        continue;
      }
      const summary = await resumeExperiment(run.dir);
      expect(summary.status).toBe('completed');
      expect(summaryTest(summary.dir)).toEqual(expected);
      expect(listRuns(runsDir).find((r) => r.id === run.id)?.status).toBe('completed');
      resumed++;
    }
    expect(resumed).toBeGreaterThanOrEqual(KILLS / 2);
    expect(reference.stdout()).toContain(referenceRun?.id);
  }, 170_000);
});
