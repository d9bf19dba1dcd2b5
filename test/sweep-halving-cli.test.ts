/**
 * search: halving at the edges: the sweep file's errors at their line (schema, semantics, the base config's metric,
 * the schedule), and through the built CLI: --dry-run's rung plan, a run, `mtl sweep status` with the epochs per
 * trial and the rungs, --shard refused; bad input exits 2 with nothing written and an earlier run untouched.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planSweep } from '../src/api/sweep.js';
import { UsageError } from '../src/errors.js';
import { tempDir } from './helpers.js';
import { mtl, mtlInProcess } from './helpers/cli.js';
import { groupConfig } from './helpers/groups.js';
import { snapshotRun } from './helpers/run-snapshot.js';
import { fakeRun } from './helpers/runs.js';

function sweepDir(sweep: string, base = groupConfig({ epochs: 3 })): string {
  const dir = tempDir('mtl-halving-cli-');
  writeFileSync(path.join(dir, 'base.yaml'), base);
  const file = path.join(dir, 'h.yaml');
  writeFileSync(file, sweep);
  return file;
}

async function problem(sweep: string, base?: string): Promise<string> {
  const error = await planSweep(sweepDir(sweep, base)).catch((e: unknown) => e);
  if (!(error instanceof UsageError)) throw new Error(`expected a UsageError, got ${String(error)}`);
  return error.format();
}

const SPACE = 'space:\n  training.lr: [0.001, 0.01, 0.1]\n';
const HALVING = 'halving: { metric: y1/r2, min_epochs: 1, eta: 3 }\n';

describe('halving sweep files: errors at their line', () => {
  const cases: [string, string, string][] = [
    ['halving without its block', 'base: base.yaml\nsearch: halving\n', 'h.yaml:2:9: search: search: halving needs'],
    ['a halving block on a grid', `base: base.yaml\n${HALVING}`, 'h.yaml:2:1: halving: read only with search: halving'],
    ['no min_epochs', 'base: base.yaml\nsearch: halving\nhalving: { metric: loss }\n', 'h.yaml:3:10: halving:'],
    [
      'seed without trials',
      'base: base.yaml\nsearch: halving\nseed: 3\nhalving: { metric: loss, min_epochs: 1 }\n',
      'h.yaml:3:7: seed: without "trials: N" halving runs the grid and draws nothing',
    ],
    [
      'eta 1',
      'base: base.yaml\nsearch: halving\nhalving: { metric: loss, min_epochs: 1, eta: 1 }\n',
      'h.yaml:3:46: halving.eta: must be >= 2 (got 1)',
    ],
    [
      'max_epochs below min_epochs',
      'base: base.yaml\nsearch: halving\nhalving: { metric: loss, min_epochs: 4, max_epochs: 2 }\n',
      'h.yaml:3:53: halving.max_epochs: expected max_epochs ≥ min_epochs (4)',
    ],
    [
      'epochs swept in the space',
      `base: base.yaml\nsearch: halving\n${HALVING}space:\n  training.epochs: [1, 2]\n`,
      'h.yaml:5:3: space.training.epochs: halving gives each configuration its epochs',
    ],
    [
      'a range without trials',
      `base: base.yaml\nsearch: halving\n${HALVING}space:\n  training.lr: { min: 0.001, max: 0.1 }\n`,
      'h.yaml:5:16: space.training.lr: a range cannot be enumerated: list the values ([a, b, c]), or give "trials: N"',
    ],
  ];
  for (const [what, text, expected] of cases) {
    it(`${what}: a UsageError at its line`, async () => expect(await problem(text)).toContain(expected));
  }

  it("an unknown metric: at its line, with the base config's metrics", async () => {
    const message = await problem(
      `base: base.yaml\nsearch: halving\nhalving:\n  metric: y1/accuracy\n  min_epochs: 1\n`,
    );
    expect(message).toContain('h.yaml:4:11: halving.metric: task "y1" does not report "accuracy"');
    expect(message).toContain(
      "the base config's metrics: loss, mean/loss, mean/mse, mean/mae, mean/r2, y1/loss, y1/mse",
    );
  });

  it('min_epochs above the base epochs, a cosine schedule, a subset without the metric task: refused', async () => {
    expect(await problem('base: base.yaml\nsearch: halving\nhalving: { metric: loss, min_epochs: 5 }\n')).toContain(
      "h.yaml:3:38: halving.min_epochs: 5 is more than the base config's training.epochs (3)",
    );
    const cosine = groupConfig({ epochs: 3, extra: '  schedule: { type: cosine }' });
    expect(await problem(`base: base.yaml\nsearch: halving\n${HALVING}`, cosine)).toContain(
      'h.yaml:2:9: search: halving cannot use training.schedule cosine (trial 1)',
    );
    expect(await problem(`base: base.yaml\nsearch: halving\n${HALVING}tasks: leave-one-out\n`)).toMatch(
      /h\.yaml:3:20: halving\.metric: "y1\/r2" cannot rank the task subset y2: no task named "y1"/,
    );
  });

  it('trials: N draws random configurations; max_epochs enters each trial config (and its hash)', async () => {
    const file = sweepDir(
      'base: base.yaml\nsearch: halving\ntrials: 4\nseed: 7\n' +
        'halving: { metric: loss, min_epochs: 1, max_epochs: 9 }\n' +
        'space:\n  training.lr: { min: 0.001, max: 0.1, log: true }\n',
    );
    const plan = await planSweep(file);
    expect(plan.trials).toHaveLength(4);
    expect(plan.trials.map((t) => t.loaded.config.training.epochs)).toEqual([9, 9, 9, 9]);
    expect(plan.halving?.rungs.map((r) => [r.epochs, r.configurations])).toEqual([
      [1, 4],
      [3, 1],
      [9, 1],
    ]);
    expect(plan.monitor).toEqual({ metric: 'mean/loss', higherIsBetter: false });
  });
});

describe('mtl sweep with search: halving', () => {
  it('--dry-run shows the rung plan; a run, then status shows epochs per trial and the rungs', async () => {
    const file = sweepDir(`base: base.yaml\nsearch: halving\n${HALVING}${SPACE}seeds: [0, 1]\n`);
    const store = tempDir();
    const dry = mtl(['sweep', file, '--dry-run', '--runs-dir', store]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(
      '3 configurations × 2 trials (seeds, task subsets): 10 epochs in all, against 18 for the grid (56%)',
    );
    expect(dry.stdout).toMatch(/^0 +1 +3 +6 +6$/m); // rung 0: 1 epoch, 3 configurations, 6 trials, 6 epochs
    expect(dry.stdout).toMatch(/^1 +3 +1 +2 +4$/m); // rung 1: 3 epochs, 1 configuration, 2 trials, 2·2 epochs
    expect(readdirSync(store)).toEqual([]);

    const run = await mtlInProcess(['sweep', file, '--runs-dir', store]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('6 trained, 0 resumed, 2 extended, 0 skipped');
    expect(run.stderr).toContain('rung 0 (1 epoch): 3 configurations, 1 promoted');
    const status = await mtlInProcess(['sweep', 'status', file, '--runs-dir', store]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('rung 1 (3 epochs): 1 configuration at the last rung');
    const json = JSON.parse((await mtlInProcess(['sweep', 'status', file, '--json', '--runs-dir', store])).stdout) as {
      trials: { epochs: number }[];
      best: { epochs: number };
      halving: { rungs: unknown[] };
    };
    expect(json.trials.map((t) => t.epochs).sort()).toEqual([1, 1, 1, 1, 3, 3]);
    expect(json.best.epochs).toBe(3);
    expect(json.halving.rungs).toHaveLength(2);
  });

  const bad: [string, string, string[], string][] = [
    [
      'an unknown metric',
      'base: base.yaml\nsearch: halving\nhalving: { metric: y3/r2, min_epochs: 1 }\n',
      [],
      'h.yaml:3:20: halving.metric: no task named "y3"',
    ],
    [
      '--shard',
      `base: base.yaml\nsearch: halving\n${HALVING}${SPACE}`,
      ['--shard', '1/2'],
      'h.yaml:2:9: search: halving cannot be split with --shard',
    ],
  ];
  for (const [what, text, flags, message] of bad) {
    it(`${what}: exit 2, the message, nothing written, an earlier run untouched`, async () => {
      const store = tempDir();
      const earlier = fakeRun(store, '20260101-000000-earlier-aaaaaa', { test: { 'y1/mse': 1 } });
      const before = snapshotRun(earlier);
      const result = await mtlInProcess(['sweep', sweepDir(text), ...flags, '--runs-dir', store]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(readdirSync(store)).toEqual(['20260101-000000-earlier-aaaaaa']);
      expect(snapshotRun(earlier)).toEqual(before);
    });
  }
});
