/**
 * Opt-in (MTL_TEST_SLURM=1, on a machine with a running single-node Slurm: Debian's `slurm-wlm`, set up as
 * docs/notes/sweep-emit.md says): the emitted sbatch script is submitted with `sbatch --wait` from the checkout, and
 * its array tasks, sharing one runs folder, complete every trial once.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkout, dryRun, FOUR_TRIALS, MTL, mtlIn, trialsOnDisk } from './helpers/emit.js';

describe.skipIf(process.env['MTL_TEST_SLURM'] !== '1')('mtl sweep --emit slurm on Slurm (MTL_TEST_SLURM=1)', () => {
  it('sbatch --wait runs the array; every trial completes once in the shared runs folder', async () => {
    const repo = checkout(FOUR_TRIALS);
    const emitted = await mtlIn(repo, ['sweep', 'sweep.yaml', '--emit', 'slurm', '--shards', '2']);
    expect(emitted.code, emitted.stderr).toBe(0);
    writeFileSync(path.join(repo, 'sweep.sbatch'), emitted.stdout);
    // sbatch passes the submitting environment on (--export=ALL, its default), MTL included.
    const submitted = spawnSync('sbatch', ['--wait', 'sweep.sbatch'], {
      cwd: repo,
      encoding: 'utf8',
      env: { ...process.env, CI: 'true', MTL },
      timeout: 170_000,
    });
    expect(submitted.status, `${submitted.stdout}\n${submitted.stderr}`).toBe(0);
    const plan = await dryRun(repo);
    expect(plan.trials.map((t) => t.status)).toEqual(Array(4).fill('completed'));
    const trials = trialsOnDisk(path.join(repo, 'runs', plan.id));
    expect(trials.size).toBe(4);
    expect([...trials.values()].every((t) => t.resumes === 0)).toBe(true);
  });
});
