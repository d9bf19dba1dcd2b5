// biome-ignore-all lint/suspicious/noTemplateCurlyInString: shell text; ${…} is the shell's
/**
 * `--emit` of a successive-halving sweep: its rungs need every trial of a rung in one process, so the emitted
 * specification is one job (shard 1/1, which trains the whole sweep with its promotions), and more shards are refused.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkout, dryRun, mtlIn, shell, trialsOnDisk } from './helpers/emit.js';

const HALVING_SWEEP =
  'base: base.yaml\nsearch: halving\nhalving: { metric: loss, min_epochs: 1, max_epochs: 3, eta: 3 }\n' +
  'space:\n  training.lr: [0.001, 0.003, 0.01]\n';

describe('mtl sweep --emit of a halving sweep', () => {
  it('emits one job whose run trains every rung (3 trials at 1 epoch, the best extended to 3)', async () => {
    const dir = checkout(HALVING_SWEEP, 3);
    const emitted = await mtlIn(dir, ['sweep', 'sweep.yaml', '--emit', 'slurm']);
    expect(emitted.code).toBe(0);
    expect(emitted.stdout).toContain('#SBATCH --array=1-1');
    expect(emitted.stdout).toContain('--shard "${SLURM_ARRAY_TASK_ID}/1"');
    writeFileSync(path.join(dir, 'job.sbatch'), emitted.stdout);
    const job = await shell(dir, 'job.sbatch', { SLURM_ARRAY_TASK_ID: '1', SLURM_SUBMIT_DIR: dir }, { file: true });
    expect(job.code, job.stderr).toBe(0);
    const { id, trials } = await dryRun(dir);
    const onDisk = trialsOnDisk(path.join(dir, 'runs', id));
    expect(onDisk.size).toBe(trials.length);
    // Every trial completed; the one promoted to the last rung was continued once (an extension, in meta's resumes).
    expect([...onDisk.values()].map((trial) => trial.status)).toEqual(['completed', 'completed', 'completed']);
    expect([...onDisk.values()].map((trial) => trial.resumes).sort()).toEqual([0, 0, 1]);
    expect(job.stderr).toMatch(/3 trained, 0 resumed, 1 extended/);
  });

  it('refuses --shards 2: exit 2 naming the search, nothing printed on stdout', async () => {
    const dir = checkout(HALVING_SWEEP, 3);
    const result = await mtlIn(dir, ['sweep', 'sweep.yaml', '--emit', 'github-matrix', '--shards', '2']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('search: halving cannot be split with --shard');
  });
});
