/**
 * `mtl sweep` through the built CLI: --dry-run lists the trials and trains nothing; two shards cover the sweep, each
 * trial once, with the ids the dry run gave; a re-run skips every trial (files and mtimes unchanged); eval and compare
 * take `<sweep>/<hash>`; `mtl sweep status` counts; bad sweep files and flags exit 2 at their line, with nothing
 * created and an earlier run untouched.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';
import { mtl, mtlInProcess } from './helpers/cli.js';
import { groupConfig } from './helpers/groups.js';
import { snapshotRun } from './helpers/run-snapshot.js';
import { fakeRun } from './helpers/runs.js';

interface TrialRow {
  index: number;
  trial: number;
  id: string;
  hash: string;
  seed: number;
  overrides: string[];
  action?: string;
  status: string;
}

function sweepDir(sweep: string): { dir: string; file: string } {
  const dir = tempDir('mtl-sweep-cli-');
  writeFileSync(path.join(dir, 'base.yaml'), groupConfig());
  const file = path.join(dir, 'lr.yaml');
  writeFileSync(file, sweep);
  return { dir, file };
}

const GRID = 'base: base.yaml\nspace:\n  training.lr: [0.001, 0.003]\nseeds: [0, 1]\n';

describe('mtl sweep', () => {
  const { file } = sweepDir(GRID);
  const store = tempDir();
  // The dry runs' own folder, so that it is still empty whatever order the tests run in.
  const dryStore = tempDir();
  let planned: TrialRow[] = [];
  let sweepId = '';
  /** The sweep trained as two shards (once, by whichever test needs it first): each shard's trial rows. */
  let shards: TrialRow[][] | undefined;
  const trainShards = (): TrialRow[][] => {
    shards ??= ['1/2', '2/2'].map((shard) => {
      const result = mtl(['sweep', file, '--shard', shard, '--json', '--runs-dir', store]);
      expect(result.code).toBe(0);
      return (JSON.parse(result.stdout) as { trials: TrialRow[] }).trials;
    });
    return shards;
  };

  beforeAll(async () => {
    const dry = await mtlInProcess(['sweep', file, '--dry-run', '--json', '--runs-dir', dryStore]);
    expect(dry.code).toBe(0);
    const parsed = JSON.parse(dry.stdout) as { id: string; total: number; trials: TrialRow[] };
    planned = parsed.trials;
    sweepId = parsed.id;
  });

  it('--dry-run lists every trial, pending, and writes nothing', async () => {
    expect(sweepId).toMatch(/^lr-[0-9a-f]{8}$/);
    expect(planned.map((t) => [t.index, t.seed, t.overrides, t.status])).toEqual([
      [0, 0, ['training.lr=0.001'], 'pending'],
      [1, 1, ['training.lr=0.001'], 'pending'],
      [2, 0, ['training.lr=0.003'], 'pending'],
      [3, 1, ['training.lr=0.003'], 'pending'],
    ]);
    for (const trial of planned) expect(trial.id).toBe(`${sweepId}/${trial.hash}`);
    // `trial` numbers them as the text output does (1-based), `index` as sweep.json does.
    expect(planned.map((t) => t.trial)).toEqual([1, 2, 3, 4]);
    expect(new Set(planned.map((t) => t.hash)).size).toBe(4);
    expect(readdirSync(dryStore)).toEqual([]);
    const text = await mtlInProcess(['sweep', file, '--dry-run', '--shard', '2/2', '--runs-dir', dryStore]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(planned[1]!.id);
    expect(text.stdout).not.toContain(planned[0]!.id);
    expect(text.stderr).toContain('2 of 4 trials (shard 2/2); nothing trained (--dry-run)');
  });

  it('two shards train the whole sweep, each trial once; a re-run skips all and changes no file', async () => {
    const byShard = trainShards();
    expect(byShard.map((rows) => rows.map((r) => r.index))).toEqual([
      [0, 2],
      [1, 3],
    ]);
    const trained = byShard.flat();
    expect(trained.every((r) => r.action === 'trained' && r.status === 'completed')).toBe(true);
    expect(trained.map((r) => r.id).sort()).toEqual(planned.map((t) => t.id).sort());
    expect(readdirSync(path.join(store, sweepId)).sort()).toEqual(
      [...planned.map((t) => t.hash), 'locks', 'sweep.json'].sort(),
    );

    const before = planned.map((t) => snapshotRun(path.join(store, sweepId, t.hash)));
    const again = await mtlInProcess(['sweep', file, '--runs-dir', store]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(`${sweepId}\n`);
    expect(again.stderr).toContain('0 trained, 0 resumed, 4 skipped, 0 left to another process; 0 failed or diverged');
    expect(planned.map((t) => snapshotRun(path.join(store, sweepId, t.hash)))).toEqual(before);
  });

  it('status counts the trials; eval and compare take <sweep>/<hash>', async () => {
    trainShards();
    const status = await mtlInProcess(['sweep', 'status', file, '--json', '--runs-dir', store]);
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.stdout) as {
      total: number;
      counts: Record<string, number>;
      best?: { id: string };
    };
    expect(parsed.total).toBe(4);
    expect(parsed.counts).toEqual({
      completed: 4,
      diverged: 0,
      failed: 0,
      interrupted: 0,
      crashed: 0,
      damaged: 0,
      running: 0,
      pending: 0,
    });
    expect(planned.map((t) => t.id)).toContain(parsed.best?.id);
    const byId = await mtlInProcess(['sweep', 'status', sweepId.slice(0, 5), '--runs-dir', store]);
    expect(byId.code).toBe(0);
    expect(byId.stdout).toContain('4 trials: 4 completed');

    const [a, b] = planned;
    const evaluated = await mtlInProcess(['eval', `${sweepId}/${a!.hash.slice(0, 6)}`, '--json', '--runs-dir', store]);
    expect(evaluated.code).toBe(0);
    const compared = await mtlInProcess(['compare', a!.id, b!.id, '--json', '--runs-dir', store]);
    expect(compared.code).toBe(0);
    const noRun = await mtlInProcess(['eval', sweepId, '--runs-dir', store]);
    expect(noRun.code).toBe(2);
    expect(noRun.stderr).toContain(`mtl: ${sweepId} is a sweep, not a run.`);
    // compare takes several runs: the message points at its sweep form instead of saying "one run".
    const comparedSweep = await mtlInProcess(['compare', sweepId, '--runs-dir', store]);
    expect(comparedSweep.code).toBe(2);
    expect(comparedSweep.stderr).toContain(`\`mtl compare --sweep ${sweepId}\` compares its configurations`);
    expect(comparedSweep.stderr).not.toContain('takes one run');
  });
});

describe('bad sweeps and flags', () => {
  const cases: [string, string, string[], string][] = [
    ['an unknown key', 'base: base.yaml\nsearh: random\n', [], 'lr.yaml:2:1: searh:'],
    [
      'a value the config refuses',
      'base: base.yaml\nspace:\n  training.lr: [0.001, -1]\n',
      [],
      'lr.yaml: trial 2 of 2 (training.lr=-1, seed 0) would not be a valid config:',
    ],
    [
      'a base that does not exist',
      'base: nope.yaml\n',
      [],
      'lr.yaml:1:7: base: the base config is not valid: Config file not found',
    ],
    ['a shard past n', GRID, ['--shard', '3/2'], '--shard "3/2": expected i/n with whole numbers 1 ≤ i ≤ n'],
    ['both --fail-fast and --keep-going', GRID, ['--fail-fast', '--keep-going'], 'contradict each other'],
  ];
  for (const [what, text, flags, message] of cases) {
    it(`${what}: exit 2, the message, nothing trained, an earlier run untouched`, async () => {
      const { file } = sweepDir(text);
      const store = tempDir();
      const earlier = fakeRun(store, '20260101-000000-earlier-aaaaaa', { test: { 'y1/mse': 1 } });
      const before = snapshotRun(earlier);
      const result = await mtlInProcess(['sweep', file, ...flags, '--runs-dir', store]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(readdirSync(store)).toEqual(['20260101-000000-earlier-aaaaaa']);
      expect(snapshotRun(earlier)).toEqual(before);
    });
  }

  it('a refused value is reported at the sweep file line that asked for it', async () => {
    const { file } = sweepDir('base: base.yaml\nspace:\n  training.lr: [0.001, -1]\n');
    const result = await mtlInProcess(['sweep', file, '--dry-run']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/\n {2}- .*lr\.yaml:3:16: space\.training\.lr: training\.lr: /);
  });

  it('status of a sweep that never ran, or of no sweep: exit 2', async () => {
    const { file } = sweepDir(GRID);
    const store = tempDir();
    const never = await mtlInProcess(['sweep', 'status', file, '--runs-dir', store]);
    expect(never.code).toBe(2);
    expect(never.stderr).toMatch(/^mtl: Sweep lr-[0-9a-f]{8} \(from .*lr\.yaml\) has not run in .* yet\./);
    const none = await mtlInProcess(['sweep', 'status', 'nope', '--runs-dir', store]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('mtl: No sweep "nope" in');
  });
});
