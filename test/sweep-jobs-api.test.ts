/**
 * executeTrials with `jobs` (the library seam of `mtl sweep --jobs N`, api/sweep-jobs.ts): workers that cannot train
 * the coordinator's plan (its sweep file edited after planning) stop the sweep with a RunFailedError that says why,
 * before any trial is trained; the hidden worker command refuses to run by hand.
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { executeTrials, planSweep } from '../src/api/sweep.js';
import { RunFailedError } from '../src/errors.js';
import { tempDir } from './helpers.js';
import { mtl } from './helpers/cli.js';
import { groupConfig } from './helpers/groups.js';

describe('executeTrials in worker processes', () => {
  it('a sweep file edited after planning: the workers refuse it, RunFailedError, nothing trained', async () => {
    const dir = tempDir('mtl-sweep-jobs-api-');
    writeFileSync(path.join(dir, 'base.yaml'), groupConfig());
    const file = path.join(dir, 'lr.yaml');
    writeFileSync(file, 'base: base.yaml\nspace:\n  training.lr: [0.001, 0.003]\n');
    const plan = await planSweep(file);
    writeFileSync(file, 'base: base.yaml\nspace:\n  training.lr: [0.002, 0.004]\n');
    const runsDir = tempDir();
    const sweepDir = path.join(runsDir, plan.id);
    const requests = plan.trials.map((trial) => ({ trial }));
    const run = executeTrials(plan, sweepDir, requests, new Map(), { jobs: 2, runsDir });
    await expect(run).rejects.toThrow(RunFailedError);
    await expect(run).rejects.toThrow(
      /^mtl sweep --jobs: worker w\d exited with code 2 before it was ready: mtl: \S+lr\.yaml changed after mtl sweep /,
    );
    for (const trial of plan.trials) expect(existsSync(path.join(sweepDir, trial.hash))).toBe(false);
  });

  it('mtl sweep-worker run by hand: exit 2, says what starts it', () => {
    const result = mtl(['sweep-worker']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'mtl: mtl sweep-worker is started by `mtl sweep --jobs N`, not by hand.\n  - run mtl sweep SWEEP.yaml --jobs N\n',
    );
  });
});
