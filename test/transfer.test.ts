import { describe, expect, it } from 'vitest';
import { pairGains, singleSeedVerdict, transferReport } from '../src/index.js';
import { transferLines } from '../src/cli/transfer-table.js';

describe('transferReport: MTL against its baselines, by hand', () => {
  const report = transferReport({
    baseline: 'single-task',
    split: 'test',
    tasks: ['cls', 'reg'],
    mtl: { 'cls/accuracy': 0.9, 'cls/loss': 0.3, 'reg/mse': 2, 'reg/r2': 0.5, 'mean/loss': 1 },
    baselines: {
      cls: { 'cls/accuracy': 0.8, 'cls/loss': 0.4, 'mean/accuracy': 0.8 },
      reg: { 'reg/mse': 1.6, 'reg/r2': 0.4, 'mean/loss': 1.6 },
    },
    baselineRuns: { cls: 'baselines/cls', reg: 'baselines/reg' },
  });

  it('per metric: s·(M − B)/|B|, losses and means left out', () => {
    const cls = report.tasks[0];
    expect(cls?.metrics.map((m) => m.key)).toEqual(['cls/accuracy']);
    expect(cls?.metrics[0]?.relativeGain).toBeCloseTo(0.1 / 0.8, 15);
    const reg = report.tasks[1];
    expect(reg?.metrics.map((m) => [m.key, m.higherIsBetter])).toEqual([
      ['reg/mse', false],
      ['reg/r2', true],
    ]);
    expect(reg?.metrics[0]?.relativeGain).toBeCloseTo(-0.4 / 1.6, 15); // mse rose: worse
    expect(reg?.metrics[1]?.relativeGain).toBeCloseTo(0.1 / 0.4, 15);
  });

  it("per task: the mean of its metrics' gains; Δm: the mean over tasks", () => {
    expect(report.tasks[0]?.gain).toBeCloseTo(0.125, 15);
    expect(report.tasks[1]?.gain).toBeCloseTo((-0.25 + 0.25) / 2, 15);
    expect(report.deltaM).toBeCloseTo((0.125 + 0) / 2, 15);
    expect(report.tasks.map((t) => t.verdict)).toEqual(['positive', 'no-difference']);
  });

  it('a metric missing or not finite makes its task gain, verdict and Δm undefined, never a gain', () => {
    const broken = transferReport({
      baseline: 'towers',
      split: 'val',
      tasks: ['a', 'b'],
      mtl: { 'a/mse': Number.NaN, 'b/mse': 1 },
      baselines: { a: { 'a/mse': 1, 'b/mse': 2 }, b: { 'a/mse': 1, 'b/mse': 2 } },
      baselineRuns: { a: 'baselines/towers', b: 'baselines/towers' },
    });
    expect(broken.tasks[0]).toMatchObject({ gain: null });
    expect(broken.tasks[0]?.verdict).toBeUndefined();
    expect(broken.tasks[1]).toMatchObject({ gain: 0.5, verdict: 'positive' });
    expect(broken.deltaM).toBeNull();
  });
});

describe('singleSeedVerdict', () => {
  it('below 0 is unconfirmed negative transfer, above 0 positive, 0 no difference, undefined nothing', () => {
    expect(singleSeedVerdict(-1e-9)).toBe('negative-transfer-unconfirmed');
    expect(singleSeedVerdict(0.2)).toBe('positive');
    expect(singleSeedVerdict(0)).toBe('no-difference');
    expect(singleSeedVerdict(null)).toBeUndefined();
  });
});

describe('pairGains', () => {
  it("keys the effect of j on i as 'j>i': task i's gain in the pair's run over its single-task run", () => {
    const pairs = pairGains(
      [{ tasks: ['a', 'b'], metrics: { 'a/accuracy': 0.6, 'b/accuracy': 0.45 }, run: 'pairs/a+b' }],
      { a: { 'a/accuracy': 0.5 }, b: { 'b/accuracy': 0.5 } },
    );
    expect(pairs.gains['b>a']).toBeCloseTo(0.2, 15);
    expect(pairs.gains['a>b']).toBeCloseTo(-0.1, 15);
    expect(pairs.runs).toEqual({ 'a+b': 'pairs/a+b' });
    expect(pairs.undefinedGains).toBeUndefined();
    expect(pairs.rule).toContain("gains['j>i'] is the effect of adding task j on task i");
  });
});

describe('the "Did MTL help?" table', () => {
  it('shows each task metric, the gain and verdict on the task row, Δm, and why one seed cannot confirm', () => {
    const report = transferReport({
      baseline: 'single-task',
      split: 'test',
      tasks: ['a'],
      mtl: { 'a/accuracy': 0.899999, 'a/macro-f1': 0.9 },
      baselines: { a: { 'a/accuracy': 0.9, 'a/macro-f1': 0.9 } },
      baselineRuns: { a: 'baselines/a' },
    });
    const lines = transferLines(report).join('\n');
    expect(lines).toMatch(/^a +accuracy ↑ +0\.9000 +0\.9000 +-<0\.01% +-<0\.01% +negative-transfer-unconfirmed$/m);
    expect(lines).toMatch(/^ +macro-f1 ↑ +0\.9000 +0\.9000 +\+0\.00%$/m);
    expect(lines).toContain('\nΔm -<0.01%\n');
    expect(lines).toContain('One seed cannot confirm negative transfer');
    // A member of a seed group: its group's summary confirms or not, so no hint to train more seeds.
    expect(transferLines(report, { inSeedGroup: true }).join('\n')).not.toContain('One seed cannot confirm');
  });
});
