/**
 * `mtl runs` lists the sweeps of the store beside its runs and groups: one line each with the trials by status and the
 * best trial so far (as `mtl sweep status` ranks them); `--json` carries them with `kind: "sweep"`. A store holding
 * only a sweep is not "no runs yet".
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';
import { mtl } from './helpers/cli.js';
import { groupConfig } from './helpers/groups.js';

interface Listed {
  kind?: string;
  id: string;
  total?: number;
  counts?: Record<string, number>;
  best?: { id: string; value: number };
}

describe('mtl runs with a sweep in the store', () => {
  const dir = tempDir('mtl-runs-sweeps-');
  const store = path.join(dir, 'runs');
  let sweepId = '';
  let best: { id: string; value: number } | undefined;

  beforeAll(() => {
    writeFileSync(path.join(dir, 'base.yaml'), groupConfig({ epochs: 2 }));
    writeFileSync(path.join(dir, 'sweep.yaml'), 'base: base.yaml\nspace:\n  training.lr: [0.001, 0.01, 0.03]\n');
    // Shard 1 of 2: trials 1 and 3 trained, trial 2 pending.
    const trained = mtl(['sweep', path.join(dir, 'sweep.yaml'), '--shard', '1/2', '--jobs', '1', '--runs-dir', store]);
    expect(trained.code, trained.stderr).toBe(0);
    sweepId = trained.stdout.trim();
    const status = mtl(['sweep', 'status', sweepId, '--runs-dir', store, '--json']);
    const parsed = JSON.parse(status.stdout) as { best?: { id: string; value: number } };
    best = parsed.best;
    expect(best).toBeDefined();
  });

  it('lists the sweep with 3 trials, 2 completed, 1 pending and the best trial so far', () => {
    const listed = mtl(['runs', '--runs-dir', store]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stderr).not.toContain('no runs yet');
    const line = listed.stdout.split('\n').find((l) => l.startsWith(sweepId));
    expect(line).toBeDefined();
    expect(line?.split(/\s{2,}/)).toEqual([
      sweepId,
      'sweep',
      '3',
      '2',
      '1 pending',
      `${best?.id} (val mean/loss ${best?.value.toFixed(4)})`,
    ]);
  });

  it('--json carries the sweep with kind "sweep", its counts and its best trial', () => {
    const listed = mtl(['runs', '--runs-dir', store, '--json']);
    const entries = JSON.parse(listed.stdout) as Listed[];
    const sweep = entries.find((entry) => entry.kind === 'sweep');
    expect(sweep?.id).toBe(sweepId);
    expect(sweep?.total).toBe(3);
    expect(sweep?.counts).toMatchObject({ completed: 2, pending: 1 });
    expect(sweep?.best).toEqual({ id: best?.id, value: best?.value });
  });
});
