/**
 * The CI gates of `mtl compare` through the built CLI (issue #16): --fail-on-regression on runs and on seed groups
 * (exit 3 naming the metric, or 0), --tolerance, --confidence, --fail-if, the gate in --json, and the bad flags
 * (exit 2 naming the flag, nothing printed on stdout, the compared runs untouched).
 */
import { describe, expect, it } from 'vitest';
import { tempDir, writeFile } from './helpers.js';
import { mtl, mtlInProcess } from './helpers/cli.js';
import { fakeGroup, groupConfig } from './helpers/groups.js';
import { snapshotRun } from './helpers/run-snapshot.js';
import { fakeRun } from './helpers/runs.js';

const BASE = '20260101-000000-base-aaaaaa';
const NEW = '20260101-000100-new-bbbbbb';
const GROUP_BASE = '20260101-000200-corr-seeds-cccccc';
const GROUP_NOISE = '20260101-000300-corr-seeds-dddddd';
const GROUP_DROP = '20260101-000400-corr-seeds-eeeeee';

function store(): string {
  const runsDir = tempDir('mtl-gates-');
  fakeRun(runsDir, BASE, { test: { 'y1/mse': 0.5, 'y2/accuracy': 0.9, 'mean/accuracy': 0.9 } });
  fakeRun(runsDir, NEW, { test: { 'y1/mse': 0.8, 'y2/accuracy': 0.9, 'mean/accuracy': 0.9 } });
  fakeGroup(runsDir, GROUP_BASE, {
    0: { 'y1/mse': 0.5, 'y2/accuracy': 0.9 },
    1: { 'y1/mse': 0.6, 'y2/accuracy': 0.8 },
    2: { 'y1/mse': 0.55, 'y2/accuracy': 0.85 },
  });
  // Per seed: mse −0.02, +0.03, +0.01 (worse on average, not on every seed); accuracy +0.01, −0.01, 0.
  fakeGroup(runsDir, GROUP_NOISE, {
    0: { 'y1/mse': 0.48, 'y2/accuracy': 0.91 },
    1: { 'y1/mse': 0.63, 'y2/accuracy': 0.79 },
    2: { 'y1/mse': 0.56, 'y2/accuracy': 0.85 },
  });
  // Accuracy 0.05 lower on every seed; mse the same.
  fakeGroup(runsDir, GROUP_DROP, {
    0: { 'y1/mse': 0.5, 'y2/accuracy': 0.85 },
    1: { 'y1/mse': 0.6, 'y2/accuracy': 0.75 },
    2: { 'y1/mse': 0.55, 'y2/accuracy': 0.8 },
  });
  return runsDir;
}

/** `mtl compare` in-process (the CLI's `main`); the file's first comparison runs the built CLI as a child process. */
const compare = (runsDir: string, ...args: string[]) => mtlInProcess(['compare', ...args, '--runs-dir', runsDir]);
const compareSpawned = (runsDir: string, ...args: string[]) => mtl(['compare', ...args, '--runs-dir', runsDir]);

describe('mtl compare --fail-on-regression on runs', () => {
  it('passes a run against itself (exit 0), and says significance was not tested with one seed', () => {
    const result = compareSpawned(store(), BASE, BASE, '--fail-on-regression');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('gate: passed (2 of 2 checks passed)');
    expect(result.stdout).toContain('significance not tested (one seed per side): the plain difference decided');
  });

  it('fails a worse run with exit 3, naming the metric, base, new, difference and tolerance', async () => {
    const runsDir = store();
    const before = [snapshotRun(`${runsDir}/${BASE}`), snapshotRun(`${runsDir}/${NEW}`)];
    const result = await compare(runsDir, BASE, NEW, '--fail-on-regression');
    expect(result.code).toBe(3);
    expect(result.stdout).toContain('gate: FAILED (1 of 2 checks passed)');
    expect(result.stdout).toContain(
      `regression y1/mse ↓ in ${NEW}: base 0.5000, new 0.8000, difference +0.3000, CI not tested, tolerance 0`,
    );
    expect(result.stderr).toBe('mtl: gate failed: 1 check (exit 3)\n');
    expect([snapshotRun(`${runsDir}/${BASE}`), snapshotRun(`${runsDir}/${NEW}`)]).toEqual(before);
  });

  it('passes the same drop within --tolerance', async () => {
    const result = await compare(store(), BASE, NEW, '--fail-on-regression', '--tolerance', 'y1/mse=0.3');
    expect(result.code).toBe(0);
    expect((await compare(store(), BASE, NEW, '--fail-on-regression', '--tolerance', 'y1/mse=0.29')).code).toBe(3);
  });

  it('puts the gate, every check with its reason, in --json', async () => {
    const result = await compare(store(), BASE, NEW, '--fail-on-regression', '--json');
    expect(result.code).toBe(3);
    const { gate } = JSON.parse(result.stdout) as { gate: { passed: boolean; checks: { metric: string }[] } };
    expect(gate.passed).toBe(false);
    expect(gate.checks).toMatchObject([
      { kind: 'regression', metric: 'y1/mse', passed: false, baseValue: 0.5, newValue: 0.8, tolerance: 0 },
      { kind: 'regression', metric: 'y2/accuracy', passed: true, difference: 0 },
    ]);
    // The verdict on stderr too, where a CI log that keeps stderr sees it.
    expect(result.stderr).toBe('mtl: gate failed: 1 check (exit 3)\n');
    expect(JSON.parse((await compare(store(), BASE, NEW, '--json')).stdout)).not.toHaveProperty('gate');
  });
});

describe('mtl compare --fail-on-regression on trained runs', () => {
  it('fails a run whose lr is too small to learn (exit 3), passes the good run against itself', async () => {
    const runsDir = tempDir('mtl-gates-train-');
    const config = writeFile(tempDir(), 'g.yaml', groupConfig({ epochs: 5 }));
    const train = (lr: string): string => {
      const result = mtl(['train', config, '--set', `training.lr=${lr}`, '--runs-dir', runsDir, '--quiet']);
      expect(result.code).toBe(0);
      return result.stdout.trim();
    };
    const good = train('0.01');
    const stalled = train('1e-7');
    const regressed = await compare(runsDir, good, stalled, '--fail-on-regression', '--fail-if', 'y1/mse > 100');
    expect(regressed.code).toBe(3);
    // Every per-task error metric is worse after 5 epochs at lr 1e-7; the loose --fail-if threshold passes.
    for (const metric of ['y1/mse ↓', 'y2/mse ↓', 'y1/mae ↓', 'y2/mae ↓'])
      expect(regressed.stdout).toContain(`regression ${metric} in ${stalled}: base`);
    expect(regressed.stdout).not.toContain('fail-if');
    expect((await compare(runsDir, good, good, '--fail-on-regression')).code).toBe(0);
  });
});

describe('mtl compare --fail-on-regression on seed groups', () => {
  it('passes noise across seeds: the bootstrap interval reaches 0', async () => {
    const result = await compare(store(), GROUP_BASE, GROUP_NOISE, '--fail-on-regression');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('gate: passed (2 of 2 checks passed)');
    expect(result.stdout).toContain('significance: paired percentile bootstrap over seeds');
  });

  it('fails a drop on every seed with exit 3 and the interval', async () => {
    const result = await compare(store(), GROUP_BASE, GROUP_DROP, '--fail-on-regression');
    expect(result.code).toBe(3);
    expect(result.stdout).toContain(
      `regression y2/accuracy ↑ in ${GROUP_DROP}: base 0.8500, new 0.8000, difference -0.0500, ` +
        '95% CI [-0.0500, -0.0500] over seeds 0,1,2, tolerance 0',
    );
  });

  it('fails a group with a diverged seed (its metric NaN, stored as null)', async () => {
    const runsDir = store();
    const diverged = '20260101-000500-corr-seeds-ffffff';
    fakeGroup(runsDir, diverged, {
      0: { 'y1/mse': 0.5, 'y2/accuracy': 0.9 },
      1: { 'y1/mse': NaN, 'y2/accuracy': 0.8 },
      2: { 'y1/mse': 0.55, 'y2/accuracy': 0.85 },
    });
    const result = await compare(runsDir, GROUP_BASE, diverged, '--fail-on-regression');
    expect(result.code).toBe(3);
    expect(result.stdout).toContain(`regression y1/mse ↓ in ${diverged}: ${diverged}'s y1/mse is not finite (seed 1)`);
  });

  it('passes a drop within the tolerance, at any level', async () => {
    const args = [GROUP_BASE, GROUP_DROP, '--fail-on-regression', '--tolerance', 'y2/accuracy=0.06'];
    expect((await compare(store(), ...args, '--confidence', '0.5')).code).toBe(0);
  });
});

describe('mtl compare --fail-if', () => {
  it('exits 3 when the compared run meets the condition, 0 otherwise; a group by its mean', async () => {
    const runsDir = store();
    const failed = await compare(runsDir, BASE, NEW, '--fail-if', 'y1/mse > 0.7');
    expect(failed.code).toBe(3);
    expect(failed.stdout).toContain(`fail-if y1/mse > 0.7: ${NEW}: y1/mse = 0.8, which is > 0.7`);
    expect(
      (await compare(runsDir, BASE, NEW, '--fail-if', 'y1/mse > 0.8', '--fail-if', 'y2/accuracy < 0.9')).code,
    ).toBe(0);
    expect((await compare(runsDir, NEW, '--fail-if', 'y1/mse >= 0.8')).code).toBe(3);
    const group = await compare(runsDir, GROUP_BASE, GROUP_DROP, '--fail-if', 'y2/accuracy < 0.81');
    expect(group.code).toBe(3);
    expect(group.stdout).toContain('y2/accuracy = 0.8 (mean of 3 seeds), which is < 0.81');
  });
});

describe('bad gate flags', () => {
  const cases: [string, string[], string][] = [
    [
      'a malformed --fail-if',
      [BASE, NEW, '--fail-if', 'y1/mse 0.7'],
      'mtl: --fail-if "y1/mse 0.7": expected TASK/METRIC OP VALUE, OP one of < <= > >=.',
    ],
    [
      'an unknown metric in --fail-if',
      [BASE, NEW, '--fail-if', 'y1/mae > 0.7'],
      'mtl: --fail-if: no metric "y1/mae" in the compared runs; did you mean "y1/mse"?',
    ],
    [
      'a bad --tolerance',
      [BASE, NEW, '--fail-on-regression', '--tolerance', 'y1/mse=-1'],
      'mtl: --tolerance "y1/mse=-1": expected TASK/METRIC=VALUE with VALUE a number ≥ 0.',
    ],
    [
      '--tolerance of a metric that is not compared',
      [BASE, NEW, '--fail-on-regression', '--tolerance', 'mean/accuracy=0.1'],
      'mtl: --tolerance: no metric "mean/accuracy" in the compared runs; did you mean "y2/accuracy"?',
    ],
    [
      '--confidence out of range',
      [BASE, NEW, '--fail-on-regression', '--confidence', '95'],
      'mtl: --confidence "95": expected a number between 0 and 1 (exclusive).',
    ],
    [
      '--tolerance without --fail-on-regression',
      [BASE, NEW, '--tolerance', 'y1/mse=0.1'],
      'mtl: --tolerance only applies with --fail-on-regression.',
    ],
    [
      '--tolerance and --confidence without --fail-on-regression',
      [BASE, NEW, '--tolerance', 'y1/mse=0.1', '--confidence', '0.9'],
      'mtl: --tolerance and --confidence only apply with --fail-on-regression.',
    ],
    [
      'a metric given twice to --tolerance',
      [BASE, NEW, '--fail-on-regression', '--tolerance', 'y1/mse=0.1', '--tolerance', 'y1/mse=0.2'],
      'mtl: --tolerance: y1/mse is given twice.',
    ],
    [
      '--confidence given twice',
      [BASE, NEW, '--fail-on-regression', '--confidence', '0.95', '--confidence', '0.9'],
      'mtl: --confidence is given twice (0.95, 0.9).',
    ],
    [
      'a --fail-if KEY that is not TASK/METRIC',
      [BASE, NEW, '--fail-if', 'foo < 1'],
      'mtl: --fail-if: "foo" is not TASK/METRIC.',
    ],
    [
      'a --fail-if metric without its task',
      [BASE, NEW, '--fail-if', 'accuracy < 0.8'],
      'mtl: --fail-if: "accuracy" is not TASK/METRIC; did you mean "y2/accuracy"?',
    ],
    [
      'a --tolerance metric without its task',
      [BASE, NEW, '--fail-on-regression', '--tolerance', 'mse=0.1'],
      'mtl: --tolerance: "mse" is not TASK/METRIC; did you mean "y1/mse"?',
    ],
    [
      '--fail-on-regression with one run',
      [BASE, '--fail-on-regression'],
      'mtl: --fail-on-regression needs BASE and NEW: mtl compare BASE NEW --fail-on-regression.',
    ],
    [
      'a gate with --baseline',
      [BASE, '--baseline', 'single-task', '--fail-if', 'y1/mse > 1'],
      'mtl: --fail-on-regression and --fail-if compare runs or seed groups, not --baseline.',
    ],
  ];
  for (const [what, args, message] of cases) {
    it(`${what}: exit 2, the flag named, no table, the runs untouched`, async () => {
      const runsDir = store();
      const before = snapshotRun(runsDir);
      const result = await compare(runsDir, ...args);
      expect(result.code).toBe(2);
      expect(result.stderr.split('\n')[0]).toBe(message);
      expect(result.stdout).toBe('');
      expect(snapshotRun(runsDir)).toEqual(before);
    });
  }
});
