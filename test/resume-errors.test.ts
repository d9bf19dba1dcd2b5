/**
 * What cannot be resumed is refused with the reason and a way on, leaving the run as it was; a damaged checkpoint is
 * found by its checksums; a run whose process is gone shows as `crashed`.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateRun, listRuns, resumeExperiment, trainExperiment } from '../src/index.js';
import { crashReason } from '../src/runs/liveness.js';
import { tempDir } from './helpers.js';
import { mtl } from './helpers/cli.js';
import { tinyRegressionConfig } from './helpers/configs.js';
import { interruptedRun } from './helpers/interrupted-run.js';
import { snapshotRun } from './helpers/run-snapshot.js';

const TRAINING = { epochs: 4, batch_size: 8, lr: 0.01 };

function setMeta(runDir: string, patch: Record<string, unknown>): void {
  const file = path.join(runDir, 'meta.json');
  const meta: unknown = JSON.parse(readFileSync(file, 'utf8'));
  writeFileSync(file, JSON.stringify({ ...(typeof meta === 'object' ? meta : {}), ...patch }));
}

describe('resume refuses what it cannot continue', () => {
  it('a completed run: nothing to resume, the run untouched', async () => {
    const runsDir = tempDir('mtl-runs-');
    const run = await trainExperiment(tinyRegressionConfig(tempDir(), TRAINING), { runsDir });
    const before = snapshotRun(run.dir);
    await expect(resumeExperiment(run.id, { runsDir })).rejects.toThrow(/is completed; there is nothing to resume/);
    expect(snapshotRun(run.dir)).toEqual(before);
  });

  it('a run whose process is alive: still running, the run untouched', async () => {
    const runsDir = tempDir('mtl-runs-');
    const run = await interruptedRun(runsDir);
    setMeta(run.dir, { status: 'running', process: { pid: process.pid, host: hostname() } });
    const before = snapshotRun(run.dir);
    await expect(resumeExperiment(run.id, { runsDir })).rejects.toThrow(/is still running \(pid \d+ on /);
    expect(snapshotRun(run.dir)).toEqual(before);
  });

  it('a truncated or altered checkpoint file is named by its checksum, for resume and eval alike', async () => {
    const runsDir = tempDir('mtl-runs-');
    const run = await interruptedRun(runsDir);
    const weights = path.join(run.dir, 'checkpoints', 'last', 'weights.bin');
    writeFileSync(weights, readFileSync(weights).subarray(0, 20));
    const before = snapshotRun(run.dir);
    const damaged = /weights\.bin does not match its checksum in checksums\.json \(20 bytes\)/;
    await expect(resumeExperiment(run.id, { runsDir })).rejects.toThrow(damaged);
    await expect(evaluateRun(run.id, { runsDir, checkpoint: 'last' })).rejects.toThrow(damaged);
    expect(snapshotRun(run.dir)).toEqual(before);

    const optimizer = path.join(run.dir, 'checkpoints', 'last', 'optimizer.bin');
    const bytes = readFileSync(optimizer);
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    writeFileSync(optimizer, bytes);
    writeFileSync(weights, readFileSync(path.join(run.dir, 'checkpoints', 'best', 'weights.bin')));
    await expect(resumeExperiment(run.id, { runsDir })).rejects.toThrow(/does not match its checksum/);
  });

  it('a checkpoint without training state: no checkpoint to resume from', async () => {
    const runsDir = tempDir('mtl-runs-');
    const run = await interruptedRun(runsDir);
    // As an mtl without --resume wrote it (before checksums); a damaged training-state.json is another case
    // (test/checkpoint-damage.test.ts).
    rmSync(path.join(run.dir, 'checkpoints', 'last', 'training-state.json'));
    rmSync(path.join(run.dir, 'checkpoints', 'last', 'checksums.json'));
    const before = snapshotRun(run.dir);
    await expect(resumeExperiment(run.id, { runsDir })).rejects.toThrow(/has no checkpoint to resume from/);
    expect(snapshotRun(run.dir)).toEqual(before);
  });

  it('the CLI: --set with --resume and a damaged checkpoint exit 2 with the message, no stack trace', async () => {
    const runsDir = tempDir('mtl-runs-');
    const run = await interruptedRun(runsDir);
    const withSet = mtl(['train', '--resume', run.id, '--runs-dir', runsDir, '--set', 'training.lr=1']);
    expect(withSet.code).toBe(2);
    expect(withSet.stderr).toContain("--set cannot change a resumed run's config (training.lr=1)");
    const weights = path.join(run.dir, 'checkpoints', 'last', 'weights.bin');
    writeFileSync(weights, readFileSync(weights).subarray(0, 20));
    const damaged = mtl(['train', '--resume', run.id, '--runs-dir', runsDir]);
    expect(damaged.code).toBe(2);
    expect(damaged.stderr).toContain('weights.bin does not match its checksum');
    expect(`${withSet.stderr}${damaged.stderr}`).not.toMatch(/^\s+at /m);
  }, 60_000);
});

describe('a run whose process is gone shows as crashed', () => {
  const base = { status: 'running' as const, updatedAt: new Date().toISOString() };
  it('same host, no such pid; any host, a stale heartbeat; alive or recent otherwise', async () => {
    expect(crashReason({ ...base, process: { pid: 2 ** 22 + 12345, host: hostname() } })).toMatch(/is gone/);
    const old = new Date(Date.now() - 6 * 60_000).toISOString();
    expect(crashReason({ ...base, process: { pid: 1, host: 'elsewhere' }, heartbeatAt: old })).toMatch(/no heartbeat/);
    expect(crashReason({ ...base, process: { pid: 1, host: 'elsewhere' } })).toBeUndefined();
    expect(crashReason({ ...base, process: { pid: process.pid, host: hostname() } })).toBeUndefined();
    expect(crashReason({ ...base, status: 'interrupted', heartbeatAt: old })).toBeUndefined();

    const runsDir = tempDir('mtl-runs-');
    const run = await interruptedRun(runsDir);
    setMeta(run.dir, { status: 'running', process: { pid: 2 ** 22 + 12345, host: hostname() } });
    const [listed] = listRuns(runsDir);
    expect(listed?.status).toBe('crashed');
    expect(listed?.statusReason).toContain(`mtl train --resume ${run.id}`);
  });
});
