/**
 * Δm, the one definition (metrics/aggregate.ts): per task the mean over its metrics of the signed relative change,
 * then the mean over tasks; undefined, never an improvement, when a value is missing or not finite. Checked against
 * hand computations, through `compareRuns` on run directories written by hand, and through `mtl compare`.
 */
import { describe, expect, it } from 'vitest';
import { compareRuns } from '../src/api/compare.js';
import { deltaM, deltaMBreakdown, type DeltaMTerm } from '../src/metrics/aggregate.js';
import { tempDir } from './helpers.js';
import { mtl } from './helpers/cli.js';
import { fakeRun } from './helpers/runs.js';

const term = (
  task: string,
  metric: string,
  value: number | undefined,
  baseline: number | undefined,
  higherIsBetter: boolean,
): DeltaMTerm => ({
  task,
  metric,
  value,
  baseline,
  higherIsBetter,
});

// Task a reports three metrics, task b one, so the mean per task then over tasks differs from the flat mean.
//   a/accuracy   0.8 → 0.9  (higher better): +0.1/0.8 = +0.125
//   a/macro-f1   0.5 → 0.55 (higher better): +0.05/0.5 = +0.1
//   a/log-loss   0.5 → 0.4  (lower better):  −(−0.1)/0.5 = +0.2
//   b/mse        0.5 → 0.6  (lower better):  −(+0.1)/0.5 = −0.2
// task a: (0.125 + 0.1 + 0.2)/3 = 0.425/3; task b: −0.2; Δm = (0.425/3 − 0.2)/2 = −0.175/6 ≈ −2.92 %
// (the flat mean over the four would be +0.225/4 = +5.63 %: a run worse on average per task would look better).
const twoTasks = [
  term('a', 'accuracy', 0.9, 0.8, true),
  term('a', 'macro-f1', 0.55, 0.5, true),
  term('a', 'log-loss', 0.4, 0.5, false),
  term('b', 'mse', 0.6, 0.5, false),
];

describe('Δm (metrics/aggregate.ts)', () => {
  it('averages per task over its metrics, then over tasks, with lower-is-better metrics negated', () => {
    const result = deltaMBreakdown(twoTasks);
    expect(result.perTask['a']).toBeCloseTo(0.425 / 3, 12);
    expect(result.perTask['b']).toBeCloseTo(-0.2, 12);
    expect(result.value).toBeCloseTo(-0.175 / 6, 12);
    expect(result.problems).toEqual([]);
    expect(deltaM(twoTasks)).toBeCloseTo(-0.175 / 6, 12);
  });

  it('divides by |baseline|, so a negative baseline (r2) keeps the orientation', () => {
    // r2 −0.2 → −0.1 is better: +0.1/0.2 = +0.5
    expect(deltaM([term('a', 'r2', -0.1, -0.2, true)])).toBeCloseTo(0.5, 12);
  });

  it('is undefined when the run lacks a metric the baseline has, naming it', () => {
    const result = deltaMBreakdown([...twoTasks.slice(0, 3), term('b', 'mse', undefined, 0.5, false)]);
    expect(result.value).toBeUndefined();
    expect(result.perTask['a']).toBeCloseTo(0.425 / 3, 12); // the other task is still shown
    expect(result.perTask['b']).toBeUndefined();
    expect(result.problems).toEqual(['b/mse: missing in the run']);
    expect(deltaM([...twoTasks.slice(0, 3), term('b', 'mse', undefined, 0.5, false)])).toBeNaN();
  });

  it('is undefined for a non-finite value in the run or the baseline, never an improvement', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      expect(
        deltaMBreakdown([term('a', 'accuracy', 0.9, 0.8, true), term('b', 'mse', bad, 0.5, false)]).problems,
      ).toEqual([`b/mse: not finite in the run (${bad})`]);
      expect(deltaM([term('a', 'accuracy', 0.9, 0.8, true), term('b', 'mse', 0.5, bad, false)])).toBeNaN();
    }
  });

  it('is undefined for a baseline of 0 (no scale for a relative change) and for nothing to compare', () => {
    expect(deltaMBreakdown([term('a', 'accuracy', 0.1, 0, true)]).problems).toEqual([
      'a/accuracy: the baseline is 0 (no scale for a relative change)',
    ]);
    expect(deltaMBreakdown([]).value).toBeUndefined();
    expect(deltaMBreakdown([]).problems).toEqual(['no task metric to compare']);
  });
});

const baselineMetrics = {
  'a/accuracy': 0.8,
  'a/macro-f1': 0.5,
  'a/log-loss': 0.5,
  'b/mse': 0.5,
  'a/loss': 0.7,
  'b/loss': 0.3,
  'mean/accuracy': 0.8,
  'mean/loss': 0.5,
};
const betterMetrics = {
  'a/accuracy': 0.9,
  'a/macro-f1': 0.55,
  'a/log-loss': 0.4,
  'b/mse': 0.6,
  // Losses and means never enter Δm: these would move it a lot if they did.
  'a/loss': 7,
  'b/loss': 3,
  'mean/accuracy': 0.1,
  'mean/loss': 5,
};
const BASE = '20260101-000000-base-aaaaaa';
const OTHER = '20260101-000001-other-bbbbbb';
const DIVERGED = '20260101-000002-diverged-cccccc';

function store(): string {
  const dir = tempDir();
  fakeRun(dir, BASE, { test: baselineMetrics });
  fakeRun(dir, OTHER, { test: betterMetrics });
  // A run whose mse went NaN: summary.json holds null. Read as 0 it scored Δm +57 % here (b: −(0 − 0.5)/0.5 = +1).
  fakeRun(dir, DIVERGED, {
    test: { ...betterMetrics, 'b/mse': null, 'b/loss': null, 'mean/loss': null },
    meta: { status: 'diverged' },
  });
  return dir;
}

describe('compareRuns', () => {
  it("gives Δm per task then over tasks over the baseline's per-task metrics", async () => {
    const comparison = await compareRuns([BASE, OTHER], { runsDir: store() });
    expect(comparison.deltaMMetrics).toEqual(['a/accuracy', 'a/log-loss', 'a/macro-f1', 'b/mse']);
    expect(comparison.runs[0]?.deltaM).toBeUndefined(); // the baseline itself
    expect(comparison.runs[1]?.deltaM).toBeCloseTo(-0.175 / 6, 12);
    expect(comparison.runs[1]?.deltaMPerTask?.['a']).toBeCloseTo(0.425 / 3, 12);
    expect(comparison.runs[1]?.deltaMProblems).toBeUndefined();
    const mse = comparison.rows.find((r) => r.metric === 'b/mse');
    expect(mse).toMatchObject({ higherIsBetter: false, values: [0.5, 0.6] });
    expect(mse?.relative[1]).toBeCloseTo(-0.2, 12);
  });

  it('gives a diverged run (mse stored as null) no Δm instead of a +57 % one', async () => {
    const comparison = await compareRuns([BASE, DIVERGED], { runsDir: store() });
    const run = comparison.runs[1];
    expect(run?.status).toBe('diverged');
    expect(run?.deltaM).toBeNull();
    expect(run?.deltaMProblems).toEqual(['b/mse: not finite in the run (NaN)']);
    expect(run?.deltaMPerTask).toEqual({ a: expect.closeTo(0.425 / 3, 12), b: null });
    expect(comparison.rows.find((r) => r.metric === 'b/mse')?.values[1]).toBeNaN();
  });

  it('gives every run no Δm when the baseline itself diverged', async () => {
    const comparison = await compareRuns([DIVERGED, OTHER], { runsDir: store() });
    expect(comparison.runs[1]?.deltaM).toBeNull();
    expect(comparison.runs[1]?.deltaMProblems).toEqual(['b/mse: not finite in the baseline (NaN)']);
  });

  it('gives a run that lacks a metric of the baseline no Δm, and ignores metrics only the run reports', async () => {
    const dir = store();
    const { 'a/macro-f1': _dropped, ...fewer } = betterMetrics;
    fakeRun(dir, 'fewer', { test: fewer });
    fakeRun(dir, 'more', { test: { ...betterMetrics, 'b/mae': 100 } });
    const comparison = await compareRuns([BASE, 'fewer', 'more'], { runsDir: dir });
    expect(comparison.runs[1]?.deltaMProblems).toEqual(['a/macro-f1: missing in the run']);
    expect(comparison.runs[2]?.deltaM).toBeCloseTo(-0.175 / 6, 12);
  });

  it("lists the tasks' metrics, then their means, then the tasks' losses and the mean loss last", async () => {
    const dir = store();
    const metrics = { 'z/loss': 1, 'mean/loss': 1, 'a/loss': 1, 'mean/mse': 1, 'z/mse': 1, 'a/mse': 1, 'a/mae': 1 };
    // Task z sorts after "mean": its loss once came after the mean loss, though its other metrics come before.
    fakeRun(dir, 'losses', { test: metrics });
    const comparison = await compareRuns(['losses'], { runsDir: dir });
    expect(comparison.rows.map((r) => r.metric)).toEqual([
      'a/mae',
      'a/mse',
      'z/mse',
      'mean/mse',
      'a/loss',
      'z/loss',
      'mean/loss',
    ]);
  });

  it('restricts Δm to --metric', async () => {
    // accuracy only: a +0.125 (task b reports none)
    const comparison = await compareRuns([BASE, OTHER], { runsDir: store(), metric: 'accuracy' });
    expect(comparison.rows.map((r) => r.metric)).toEqual(['a/accuracy', 'mean/accuracy']);
    expect(comparison.runs[1]?.deltaM).toBeCloseTo(0.125, 12);
  });
});

describe('mtl compare (built CLI)', () => {
  it('prints the table with Δm, and --json with the numbers, the rule and why a Δm is n/a', () => {
    const runsDir = store();
    const text = mtl(['compare', BASE, OTHER, DIVERGED, '--runs-dir', runsDir]);
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^metric +${BASE} \\(base\\) +${OTHER} +${DIVERGED}$`));
    expect(lines.find((l) => l.startsWith('b/mse'))).toMatch(/^b\/mse ↓ +0\.5000 +0\.6000 \(-20\.00%\) +NaN \(—\)$/);
    expect(lines.find((l) => l.startsWith('Δm'))).toMatch(/^Δm +— +-2\.92% +n\/a$/);
    expect(text.stdout).toContain(`Δm n/a for ${DIVERGED}: b/mse: not finite in the run (NaN)`);

    const json = mtl(['compare', BASE, OTHER, DIVERGED, '--runs-dir', runsDir, '--json']);
    expect(json.code, json.stderr).toBe(0);
    const comparison = JSON.parse(json.stdout);
    // What tells runs apart comes along (these hand-written runs have no config.resolved.json: the seed only).
    expect(comparison.runs[0]).toEqual({
      id: BASE,
      name: 'fake',
      status: 'completed',
      metricsFrom: { kind: 'summary' },
      seed: 1,
    });
    expect(comparison.runs[1].deltaM).toBeCloseTo(-0.175 / 6, 12);
    expect(comparison.runs[2]).toMatchObject({
      deltaM: null,
      deltaMPerTask: { b: null },
      deltaMProblems: ['b/mse: not finite in the run (NaN)'],
    });
    expect(comparison.deltaMDefinition).toMatch(
      /mean over tasks .* undefined \(null\) when any metric .* missing or not finite/,
    );
    expect(comparison.rows.find((r: { metric: string }) => r.metric === 'b/mse').values).toEqual([0.5, 0.6, null]);
  });
});
