/**
 * `mtl sweep` killed with SIGKILL in its second trial and run again (issue #16, "What must show"): no trial lost,
 * none trained twice (the first is skipped with its files unchanged, the second resumed from its checkpoint, the
 * third trained once), and every trial ends with the metrics of a sweep left alone (bit for bit, wasm in both). A
 * Ctrl-C exits 130 with the trial `interrupted`, and a re-run resumes it. The killed sweeps train one trial at a time
 * (`--jobs 1`, in process); the re-runs use the default (worker processes): test/sweep-jobs-kill.test.ts kills those.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';
import { bin, mtl, root } from './helpers/cli.js';
import { snapshotRun } from './helpers/run-snapshot.js';
import { KILLABLE_SWEEP_BASE, type SweepJsonRow } from './helpers/sweeps.js';

/**
 * Starts the sweep and SIGKILLs it once the second trial logged its third epoch (the epochs before it are
 * checkpointed by then); resolves with the signal it exited by.
 */
function killInSecondTrial(file: string, store: string): Promise<NodeJS.Signals | null> {
  const child = spawn(process.execPath, [bin, 'sweep', file, '--runs-dir', store, '--jobs', '1'], {
    cwd: root,
    env: { ...process.env, CI: 'true' },
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (/trial 2\/3 [^\n]*: training\n(?:[^\n]*\n)*?epoch 3\//.test(stderr)) child.kill('SIGKILL');
  });
  return new Promise((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
}

const summaryOf = (dir: string): unknown => JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8'));

describe('a sweep killed with SIGKILL', () => {
  it('re-run: the first trial skipped, the second resumed, the third trained; results as if left alone', async () => {
    const dir = tempDir('mtl-sweep-kill-');
    writeFileSync(path.join(dir, 'base.yaml'), KILLABLE_SWEEP_BASE);
    const file = path.join(dir, 'k.yaml');
    writeFileSync(file, 'base: base.yaml\nspace:\n  training.lr: [0.001, 0.002, 0.003]\n');

    const alone = path.join(dir, 'alone');
    const reference = mtl(['sweep', file, '--json', '--runs-dir', alone]);
    expect(reference.code, reference.stderr).toBe(0);
    const { id, trials } = JSON.parse(reference.stdout) as { id: string; trials: SweepJsonRow[] };

    const store = path.join(dir, 'killed');
    expect(await killInSecondTrial(file, store)).toBe('SIGKILL');
    const killed = JSON.parse(mtl(['sweep', 'status', id, '--json', '--runs-dir', store]).stdout) as {
      counts: Record<string, number>;
    };
    expect(killed.counts).toMatchObject({ completed: 1, crashed: 1, pending: 1 });
    const first = snapshotRun(path.join(store, id, trials[0]!.hash));

    const again = mtl(['sweep', file, '--json', '--runs-dir', store]);
    expect(again.code, again.stderr).toBe(0);
    const rows = (JSON.parse(again.stdout) as { trials: SweepJsonRow[] }).trials;
    expect(rows.map((r) => `${r.id} ${r.action} ${r.status}`)).toEqual([
      `${trials[0]!.id} skipped completed`,
      `${trials[1]!.id} resumed completed`,
      `${trials[2]!.id} trained completed`,
    ]);
    expect(snapshotRun(path.join(store, id, trials[0]!.hash))).toEqual(first);
    const resumed = JSON.parse(readFileSync(path.join(store, id, trials[1]!.hash, 'meta.json'), 'utf8')) as {
      resumes: { from: string }[];
    };
    expect(resumed.resumes.map((r) => r.from)).toEqual(['crashed']);
    for (const trial of trials) {
      expect(summaryOf(path.join(store, id, trial.hash))).toMatchObject({
        test: (summaryOf(path.join(alone, id, trial.hash)) as { test: unknown }).test,
      });
    }
  });

  it('Ctrl-C in a trial: exit 130, the trial interrupted with its checkpoint; a re-run resumes it', async () => {
    const dir = tempDir('mtl-sweep-int-');
    writeFileSync(path.join(dir, 'base.yaml'), KILLABLE_SWEEP_BASE);
    const file = path.join(dir, 'k.yaml');
    writeFileSync(file, 'base: base.yaml\nspace:\n  training.lr: [0.001, 0.002]\n');
    const store = path.join(dir, 'store');
    const child = spawn(process.execPath, [bin, 'sweep', file, '--runs-dir', store, '--jobs', '1'], {
      cwd: root,
      env: { ...process.env, CI: 'true' },
    });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!sent && /epoch 3\//.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (exit) => resolve(exit)));
    expect(code, stderr).toBe(130);
    const status = mtl(['sweep', 'status', file, '--json', '--runs-dir', store]);
    expect(JSON.parse(status.stdout)).toMatchObject({ counts: { interrupted: 1, pending: 1 } });
    const again = mtl(['sweep', file, '--json', '--runs-dir', store]);
    expect(again.code, again.stderr).toBe(0);
    const rows = (JSON.parse(again.stdout) as { trials: SweepJsonRow[] }).trials;
    expect(rows.map((r) => `${r.action} ${r.status}`)).toEqual(['resumed completed', 'trained completed']);
  });
});
