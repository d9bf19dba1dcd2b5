/**
 * The CI gate rules (analysis/gate.ts) on metrics given by hand: the regression check with one seed per side (the
 * plain difference against the tolerance) and with seeds on both sides (the paired bootstrap interval must lie
 * beyond the tolerance on the worse side), --fail-if thresholds, and the flag parsers' errors.
 */
import { describe, expect, it } from 'vitest';
import {
  evaluateGate,
  parseConfidence,
  parseThreshold,
  parseTolerance,
  type GateInput,
  type GateOptions,
  type RegressionCheck,
} from '../src/analysis/gate.js';
import { usageError } from './helpers/expect.js';
import { gateGroupComparison } from '../src/api/compare-gate.js';
import type { GroupComparison } from '../src/api/compare-groups.js';

const regressionOnly: GateOptions = { failOnRegression: true, tolerances: {}, confidence: 0.95, failIf: [] };

/** Two subjects (base, new), one metric, values by seed. */
function pair(metric: string, higher: boolean, base: number[], candidate: number[]): GateInput {
  const bySeed = (values: number[]): Map<number, number> => new Map(values.map((v, seed) => [seed, v]));
  return {
    subjects: ['BASE', 'NEW'],
    metrics: [{ metric, higherIsBetter: higher, perTask: true, values: [bySeed(base), bySeed(candidate)] }],
  };
}

function onlyRegression(input: GateInput, options: GateOptions = regressionOnly): RegressionCheck {
  const [check] = evaluateGate(input, options).checks;
  if (check?.kind !== 'regression') throw new Error('expected one regression check');
  return check;
}

describe('regression gate, one seed per side', () => {
  it('passes a run against itself and fails a worse one, by direction', () => {
    expect(onlyRegression(pair('y/accuracy', true, [0.9], [0.9])).passed).toBe(true);
    const drop = onlyRegression(pair('y/accuracy', true, [0.9], [0.85]));
    expect(drop).toMatchObject({ passed: false, baseValue: 0.9, newValue: 0.85 });
    expect(drop.difference).toBeCloseTo(-0.05, 15);
    expect(drop.significance).toEqual({ tested: false, reason: 'one seed per side' });
    // Lower is better for mse: a higher value is the regression, a lower one is not.
    expect(onlyRegression(pair('y/mse', false, [0.5], [0.6])).passed).toBe(false);
    expect(onlyRegression(pair('y/mse', false, [0.5], [0.4])).passed).toBe(true);
  });

  it('allows a drop up to the tolerance, absolute in the metric units', () => {
    const options = { ...regressionOnly, tolerances: { 'y/accuracy': 0.06 } };
    expect(onlyRegression(pair('y/accuracy', true, [0.9], [0.85]), options).passed).toBe(true);
    expect(onlyRegression(pair('y/accuracy', true, [0.9], [0.83]), options).passed).toBe(false);
  });

  it('fails a diverged NEW, and a BASE with nothing finite to compare with', () => {
    const diverged = onlyRegression(pair('y/mse', false, [0.5], [NaN]));
    expect(diverged).toMatchObject({ passed: false, reason: "NEW's y/mse is not finite (seed 0)" });
    const baseGone = onlyRegression(pair('y/mse', false, [NaN], [0.5]));
    expect(baseGone).toMatchObject({ passed: false, reason: "BASE's y/mse is not finite: nothing to compare with" });
  });

  it('fails a BASE without the metric (a run that diverged before a good epoch), and a gate with no check', () => {
    const baseless = onlyRegression(pair('y/mse', false, [], [0.5]));
    expect(baseless).toMatchObject({ passed: false, reason: 'BASE has no y/mse: nothing to compare with' });
    const nothing: GateInput = { subjects: ['BASE', 'NEW'], metrics: [] };
    expect(evaluateGate(nothing, regressionOnly)).toMatchObject({ passed: false, checks: [] });
  });
});

describe('regression gate on seed groups with members that have no metrics', () => {
  /** Two groups of seeds 0–2 (y/accuracy 0.9 each), with the members of the given seeds left without metrics. */
  function groups(baseWithout: number[], newWithout: number[]): GroupComparison {
    const member = (without: number[]) =>
      Object.fromEntries([0, 1, 2].filter((s) => !without.includes(s)).map((s) => [s, 0.9]));
    const group = (id: string, without: number[]) => ({
      id,
      name: id,
      status: 'completed',
      seeds: [],
      seedsWithoutMetrics: without,
    });
    return {
      groups: [group('BASE', baseWithout), group('NEW', newWithout)],
      rows: [
        {
          metric: 'y/accuracy',
          higherIsBetter: true,
          stats: [],
          perSeed: [member(baseWithout), member(newWithout)],
          relative: [],
        },
      ],
    } as unknown as GroupComparison;
  }

  it('fails on seeds of NEW that diverged before a good epoch, rather than judging NEW on the rest', () => {
    const report = gateGroupComparison(groups([], [1, 2]), regressionOnly);
    expect(report.passed).toBe(false);
    expect(report.checks[0]).toMatchObject({ reason: "NEW's y/accuracy is not finite (seed 1, 2)" });
    const threshold = parseThreshold('y/accuracy < 0.05');
    const failIf = gateGroupComparison(groups([], [1, 2]), {
      ...regressionOnly,
      failOnRegression: false,
      failIf: [threshold],
    });
    expect(failIf.checks[0]).toMatchObject({ passed: false, reason: "NEW's y/accuracy is missing or not finite" });
  });

  it('fails on seeds of BASE without metrics: nothing to compare with; passes when every member has them', () => {
    expect(gateGroupComparison(groups([2], []), regressionOnly).checks[0]).toMatchObject({
      passed: false,
      reason: "BASE's y/accuracy is not finite: nothing to compare with",
    });
    expect(gateGroupComparison(groups([], []), regressionOnly).passed).toBe(true);
  });
});

describe('regression gate, several seeds on both sides', () => {
  it('fails a drop on every seed: the interval lies below 0', () => {
    const check = onlyRegression(pair('y/accuracy', true, [0.9, 0.8, 0.85], [0.85, 0.76, 0.8]));
    expect(check.passed).toBe(false);
    expect(check.significance.tested).toBe(true);
    if (!check.significance.tested) return;
    expect(check.significance.seeds).toEqual([0, 1, 2]);
    // Differences −0.05, −0.04, −0.05: every resampled mean lies in [−0.05, −0.04].
    expect(check.significance.interval.high).toBeLessThanOrEqual(-0.04 + 1e-12);
    expect(check.significance.interval.low).toBeGreaterThanOrEqual(-0.05 - 1e-12);
    expect(check.difference).toBeCloseTo(-0.14 / 3, 12);
  });

  it('passes noise: a mean drop whose interval reaches 0', () => {
    // Differences −0.03, +0.02, −0.02: the mean is worse (−0.01) but the interval spans 0.
    const check = onlyRegression(pair('y/accuracy', true, [0.9, 0.8, 0.85], [0.87, 0.82, 0.83]));
    expect(check.difference).toBeCloseTo(-0.01, 12);
    expect(check.passed).toBe(true);
    if (!check.significance.tested) throw new Error('expected a tested significance');
    expect(check.significance.interval.low).toBeLessThan(0);
    expect(check.significance.interval.high).toBeGreaterThan(0);
  });

  it('needs the whole interval beyond the tolerance', () => {
    // A constant drop of 0.05 on every seed: the interval is [−0.05, −0.05].
    const input = pair('y/accuracy', true, [0.5, 0.75, 0.5], [0.45, 0.7, 0.45]);
    expect(onlyRegression(input).passed).toBe(false);
    expect(onlyRegression(input, { ...regressionOnly, tolerances: { 'y/accuracy': 0.06 } }).passed).toBe(true);
  });

  it('compares the means, untested, when the sides share fewer than two seeds', () => {
    const input: GateInput = {
      subjects: ['BASE', 'NEW'],
      metrics: [
        {
          metric: 'y/mse',
          higherIsBetter: false,
          perTask: true,
          values: [
            new Map([
              [0, 1],
              [1, 2],
            ]),
            new Map([
              [5, 1],
              [6, 3],
            ]),
          ],
        },
      ],
    };
    const check = onlyRegression(input);
    expect(check).toMatchObject({ passed: false, baseValue: 1.5, newValue: 2, difference: 0.5 });
    expect(check.significance).toEqual({ tested: false, reason: 'fewer than two seeds in common' });
  });
});

describe('--fail-if', () => {
  const input = pair('y/accuracy', true, [0.9], [0.8]);
  const gate = (expression: string): boolean =>
    evaluateGate(input, { ...regressionOnly, failOnRegression: false, failIf: [parseThreshold(expression)] }).passed;

  it('fails when the condition holds for the compared run (not the base)', () => {
    expect(gate('y/accuracy < 0.85')).toBe(false);
    expect(gate('y/accuracy < 0.8')).toBe(true);
    expect(gate('y/accuracy <= 0.8')).toBe(false);
    expect(gate('y/accuracy > 0.8')).toBe(true);
    expect(gate('y/accuracy >= 0.8')).toBe(false);
    // 0.9 is the base's value: not checked.
    expect(gate('y/accuracy > 0.85')).toBe(true);
  });

  it('checks the one run given alone, and a group by its mean over seeds', () => {
    const alone: GateInput = {
      subjects: ['RUN'],
      metrics: input.metrics.map((m) => ({ ...m, values: [m.values[1]!] })),
    };
    const report = evaluateGate(alone, {
      ...regressionOnly,
      failOnRegression: false,
      failIf: [parseThreshold('y/accuracy<0.85')],
    });
    expect(report.checks).toMatchObject([{ run: 'RUN', value: 0.8, passed: false }]);
    const group = pair('y/accuracy', true, [0.9], [0.8, 0.9]);
    const [check] = evaluateGate(group, {
      ...regressionOnly,
      failOnRegression: false,
      failIf: [parseThreshold('y/accuracy < 0.86')],
    }).checks;
    expect(check).toMatchObject({
      value: expect.closeTo(0.85, 12),
      passed: false,
      reason: 'y/accuracy = 0.85 (mean of 2 seeds), which is < 0.86',
    });
  });

  it('refuses a metric the runs do not report, naming the flag', () => {
    const error = usageError(() =>
      evaluateGate(input, { ...regressionOnly, failIf: [parseThreshold('y/acuracy < 0.8')] }),
    );
    expect(error.message).toBe('--fail-if: no metric "y/acuracy" in the compared runs; did you mean "y/accuracy"?');
    const tolerance = usageError(() => evaluateGate(input, { ...regressionOnly, tolerances: { 'z/mse': 0.1 } }));
    expect(tolerance.message).toBe('--tolerance: no metric "z/mse" in the compared runs.');
  });

  it('says a well-formed KEY that is not TASK/METRIC is not, listing the metrics (not a syntax error)', () => {
    const failIf = (expression: string) =>
      usageError(() => evaluateGate(input, { ...regressionOnly, failIf: [parseThreshold(expression)] }));
    const foo = failIf('foo < 1');
    expect(foo.message).toBe('--fail-if: "foo" is not TASK/METRIC.');
    expect(foo.details).toEqual(['compared metrics: y/accuracy']);
    // A bare metric name: the task's key with that metric.
    expect(failIf('accuracy < 0.8').message).toBe(
      '--fail-if: "accuracy" is not TASK/METRIC; did you mean "y/accuracy"?',
    );
    const [key, value] = parseTolerance('accuracy=0.1');
    const tolerance = usageError(() => evaluateGate(input, { ...regressionOnly, tolerances: { [key]: value } }));
    expect(tolerance.message).toBe('--tolerance: "accuracy" is not TASK/METRIC; did you mean "y/accuracy"?');
    expect(tolerance.details).toEqual(['per-task metrics of the base: y/accuracy']);
  });
});

describe('gate flag parsers', () => {
  it('read a threshold, a tolerance and a level', () => {
    expect(parseThreshold(' y1/accuracy>=0.5 ')).toEqual({
      expression: ' y1/accuracy>=0.5 ',
      metric: 'y1/accuracy',
      operator: '>=',
      value: 0.5,
    });
    expect(parseTolerance('y1/mse=0.01')).toEqual(['y1/mse', 0.01]);
    expect(parseConfidence('0.9')).toBe(0.9);
    expect(parseThreshold('y1/mse < 1e-3').value).toBe(0.001);
    expect(parseThreshold('y1/r2 > -.5').value).toBe(-0.5);
    expect(parseTolerance('y1/mse=5')).toEqual(['y1/mse', 5]);
    expect(parseConfidence('.95')).toBe(0.95);
  });

  it('refuse malformed ones with the flag, what was expected and an example', () => {
    const malformed = ['y1/accuracy 0.8', 'y1/accuracy == 0.8', 'y1/accuracy < high', '< 0.8'];
    // Hexadecimal or binary: `Number` reads them (0x1 = 1), a person meant no such number.
    for (const bad of [...malformed, 'y1/accuracy < 0x1', 'y1/accuracy < 0b1']) {
      const error = usageError(() => parseThreshold(bad));
      expect(error.message).toBe(`--fail-if "${bad}": expected TASK/METRIC OP VALUE, OP one of < <= > >=.`);
      expect(error.details[0]).toContain("--fail-if 'y1/accuracy < 0.8'");
    }
    for (const bad of ['y1/mse', 'y1/mse=', 'y1/mse=-1', '=0.1', 'y1/mse=abc', 'y1/mse=0x1'])
      expect(usageError(() => parseTolerance(bad)).message).toBe(
        `--tolerance "${bad}": expected TASK/METRIC=VALUE with VALUE a number ≥ 0.`,
      );
    for (const bad of ['0', '1', '95', '', 'x', '0x0'])
      expect(usageError(() => parseConfidence(bad)).message).toBe(
        `--confidence "${bad}": expected a number between 0 and 1 (exclusive).`,
      );
  });
});

describe('regression gate, one side with one seed', () => {
  it('compares the means untested, and says which side has one seed', () => {
    const check = onlyRegression(pair('y/accuracy', true, [0.75, 1], [0.8]));
    expect(check).toMatchObject({ passed: false, baseValue: 0.875, newValue: 0.8 });
    expect(check.significance).toEqual({ tested: false, reason: 'one seed in NEW' });
    expect(onlyRegression(pair('y/accuracy', true, [0.8], [0.8, 0.9])).significance).toEqual({
      tested: false,
      reason: 'one seed in BASE',
    });
  });
});
