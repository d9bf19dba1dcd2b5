import { describe, expect, it } from 'vitest';
import {
  NEGATIVE_TRANSFER_RULE,
  pairedTTest,
  seedStatistic,
  transferVerdict,
} from '../src/analysis/seed-statistics.js';

describe('mean and sample std over seeds', () => {
  it('is the hand-computed mean and (n − 1) standard deviation', () => {
    // 1, 2, 6: mean 3, squares 4 + 1 + 9 = 14, / 2 = 7.
    const stat = seedStatistic([1, 2, 6]);
    expect(stat.mean).toBe(3);
    expect(stat.std).toBeCloseTo(Math.sqrt(7), 14);
    expect(stat.n).toBe(3);
  });
  it('has no spread with one seed, and leaves out a diverged seed', () => {
    expect(seedStatistic([0.4])).toEqual({ mean: 0.4, std: NaN, n: 1 });
    expect(seedStatistic([1, NaN, 3])).toEqual({ mean: 2, std: Math.SQRT2, n: 2 });
    expect(seedStatistic([])).toEqual({ mean: NaN, std: NaN, n: 0 });
  });
});

describe('paired t-test on per-seed gains', () => {
  it('is t = d̄ / (s_d / √n) with df = n − 1 and the two-sided p', () => {
    // d = 0.1, 0.2, 0.3: d̄ = 0.2, s_d = 0.1, t = 0.2 / (0.1/√3) = 2√3 ≈ 3.4641, df 2; p = 1 − t/√(2 + t²) (df 2).
    const test = pairedTTest([0.1, 0.2, 0.3]);
    expect(test?.t).toBeCloseTo(2 * Math.sqrt(3), 12);
    expect(test?.df).toBe(2);
    expect(test?.p).toBeCloseTo(1 - (2 * Math.sqrt(3)) / Math.sqrt(2 + 12), 12);
  });
  it('needs two seeds; equal differences have t = ±∞, p = 0 (or t = 0, p = 1 when all are 0)', () => {
    expect(pairedTTest([0.3])).toBeUndefined();
    expect(pairedTTest([-0.1, -0.1])).toEqual({ t: Number.NEGATIVE_INFINITY, df: 1, p: 0, n: 2 });
    expect(pairedTTest([0, 0, 0])).toEqual({ t: 0, df: 2, p: 1, n: 3 });
  });
});

describe('the negative-transfer rule', () => {
  it('flags a mean loss larger than the seed-to-seed spread', () => {
    // mean −0.1, std 0.01: worse by more than the spread.
    expect(transferVerdict([-0.09, -0.1, -0.11])).toBe('negative-transfer');
  });
  it('calls a loss within the spread no difference', () => {
    // mean −0.01, std ≈ 0.0954: the seeds disagree more than MTL loses.
    expect(transferVerdict([-0.1, 0.1, -0.03])).toBe('no-difference');
  });
  it('calls a gain beyond the spread positive, and the boundary |ḡ| = s no difference', () => {
    expect(transferVerdict([0.05, 0.06, 0.07])).toBe('positive');
    // −1, 0: mean −0.5, std √0.5 ≈ 0.707 > 0.5 → no difference; −1, −2: mean −1.5, std ≈ 0.707 → flagged.
    expect(transferVerdict([-1, 0])).toBe('no-difference');
    expect(transferVerdict([-1, -2])).toBe('negative-transfer');
  });
  it('with one seed, leaves a negative gain unconfirmed', () => {
    expect(transferVerdict([-0.2])).toBe('negative-transfer-unconfirmed');
    expect(transferVerdict([0.2])).toBe('positive');
    expect(transferVerdict([0])).toBe('no-difference');
    expect(transferVerdict([NaN])).toBeUndefined();
  });
  it('states the rule it applies', () => {
    expect(NEGATIVE_TRANSFER_RULE).toContain('|ḡ| > s_g');
    expect(NEGATIVE_TRANSFER_RULE).toContain('negative-transfer-unconfirmed');
  });
});
