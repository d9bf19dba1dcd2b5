/**
 * `mtl compare` says why a run has no metrics: a run that diverged before any good epoch has a summary with none
 * (no checkpoint of its diverged weights), which once read "its test split was empty" although the split had rows;
 * a run with neither summary nor checkpoint says what it recorded of why it stopped (a failed run's error).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareRuns } from '../src/api/compare.js';
import { tempDir } from './helpers.js';
import { mtl, mtlInProcess } from './helpers/cli.js';
import { usageErrorAsync } from './helpers/expect.js';
import { fakeRun } from './helpers/runs.js';

const NO_STACK = /\n\s+at /;

describe('mtl compare of a run that diverged in its first epoch', () => {
  const runsDir = path.join(tempDir('mtl-compare-status-'), 'runs');
  let diverged = '';
  let completed = '';
  beforeAll(async () => {
    // The QA reproduction: penguins (50 test rows) at lr 1e9 diverges in epoch 1, before any good epoch.
    const bad = mtl([
      'train',
      'configs/penguins-pretrain.yaml',
      '--set',
      'training.lr=1e9',
      '--set',
      'training.epochs=3',
      '--runs-dir',
      runsDir,
    ]);
    expect(bad.code, bad.stderr).toBe(1);
    diverged = bad.stdout.trim();
    const good = await mtlInProcess([
      'train',
      'configs/penguins-pretrain.yaml',
      '--set',
      'training.epochs=2',
      '--runs-dir',
      runsDir,
    ]);
    expect(good.code, good.stderr).toBe(0);
    completed = good.stdout.trim();
  });

  it('warns that it diverged, with its reason, not that its test split was empty (text and --json)', async () => {
    const text = await mtlInProcess(['compare', completed, diverged, '--runs-dir', runsDir]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr).not.toContain('split was empty');
    expect(text.stderr).toMatch(
      new RegExp(
        `^warning: ${diverged} has no test metrics \\(run diverged: task species: training loss became NaN in ` +
          'epoch 1; .*no epoch before it was good, so there is no checkpoint and no final metrics\\); its column ' +
          'shows —$',
        'm',
      ),
    );
    expect(text.stderr).not.toMatch(NO_STACK);
    const json = await mtlInProcess(['compare', completed, diverged, '--runs-dir', runsDir, '--json']);
    expect(json.code, json.stderr).toBe(0);
    const comparison = JSON.parse(json.stdout) as { warnings: string[]; runs: { id: string; status: string }[] };
    expect(comparison.warnings).toHaveLength(1);
    expect(comparison.warnings[0]).toMatch(new RegExp(`^${diverged} has no test metrics \\(run diverged: task `));
    expect(comparison.runs.map((run) => run.status)).toEqual(['completed', 'diverged']);
  });

  it('alone: exit 2 saying it diverged and why, not that its split was empty', async () => {
    const alone = await mtlInProcess(['compare', diverged, '--runs-dir', runsDir]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toMatch(
      new RegExp(`^mtl: Run ${diverged} has no test metrics: it diverged \\(task species: training loss became NaN`),
    );
    expect(alone.stderr).toContain(`  - train ${diverged} again (the reason above says what to change)`);
    expect(alone.stderr).not.toContain('split was empty');
    expect(alone.stderr).not.toMatch(NO_STACK);
    expect(alone.stdout).toBe('');
  });
});

describe('mtl compare of runs that all lack metrics', () => {
  it('names how each ended: a diverged run is not taken for an empty split', async () => {
    const store = tempDir('mtl-compare-status-');
    fakeRun(store, 'empty', { test: {} });
    const dir = fakeRun(store, 'exploded', { test: {}, meta: { status: 'diverged' } });
    // As train writes it for a divergence before any good epoch: no checkpoint, the reason kept.
    const summary = JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8')) as Record<string, unknown>;
    delete summary['checkpoint'];
    summary['statusReason'] = 'task a: training loss became NaN in epoch 1';
    writeFileSync(path.join(dir, 'summary.json'), JSON.stringify(summary));
    const error = await usageErrorAsync(() => compareRuns(['empty', 'exploded'], { runsDir: store }));
    expect(error.message).toBe(
      'None of these runs has test metrics: empty: its test split was empty; exploded: it diverged (task a: ' +
        'training loss became NaN in epoch 1).',
    );
    expect(error.details).toEqual([
      'train exploded again (the reason above says what to change), or compare runs that completed',
    ]);
  });
});

describe('mtl compare of runs without a summary', () => {
  it("a failed run with no checkpoint: the warning and the base's error carry the run's recorded reason", async () => {
    const store = tempDir('mtl-compare-status-');
    const metrics = { 'a/accuracy': 0.9, 'mean/accuracy': 0.9 };
    fakeRun(store, 'done', { test: metrics });
    fakeRun(store, 'broke', { meta: { status: 'failed', statusReason: 'Cannot read data.csv: ENOENT' } });
    const comparison = await compareRuns(['done', 'broke'], { runsDir: store });
    expect(comparison.warnings).toEqual([
      'broke has neither a summary nor a best checkpoint (run failed: Cannot read data.csv: ENOENT; it stopped ' +
        'before its first epoch ended); its column shows —',
    ]);
    expect(comparison.runs[1]?.metricsFrom).toEqual({
      kind: 'none',
      status: 'failed',
      reason: 'Cannot read data.csv: ENOENT',
    });
    const base = await usageErrorAsync(() => compareRuns(['broke', 'done'], { runsDir: store }));
    expect(base.message).toMatch(/^Run broke has no summary and no best checkpoint \(status: failed; /);
    expect(base.details).toEqual([
      'it failed: Cannot read data.csv: ENOENT',
      'resume it with `mtl train --resume`, or train it again',
    ]);
  });
});
