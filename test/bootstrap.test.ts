/**
 * The paired percentile bootstrap (analysis/bootstrap.ts) on cases whose interval is known by hand: a constant
 * difference, a symmetric one, the quantile rule, and its determinism.
 */
import { describe, expect, it } from 'vitest';
import { pairedBootstrapInterval, quantile } from '../src/analysis/bootstrap.js';

describe('paired bootstrap interval', () => {
  it('is degenerate at the value when every seed differs by the same amount', () => {
    const interval = pairedBootstrapInterval([0.25, 0.25, 0.25]);
    expect(interval).toEqual({ mean: 0.25, low: 0.25, high: 0.25, confidence: 0.95, n: 3, resamples: 10_000 });
  });

  it('is the one difference itself with one seed', () => {
    expect(pairedBootstrapInterval([-0.5], { confidence: 0.99 })).toMatchObject({ low: -0.5, high: -0.5 });
  });

  it('spans both signs for differences symmetric about 0', () => {
    // Resampled means of {−1, 1}: −1 (¼), 0 (½), 1 (¼). The 2.5 % and 97.5 % quantiles fall in the outer quarters,
    // the 30 % and 70 % ones (level 0.4) in the middle half.
    expect(pairedBootstrapInterval([-1, 1])).toMatchObject({ mean: 0, low: -1, high: 1 });
    expect(pairedBootstrapInterval([-1, 1], { confidence: 0.4 })).toMatchObject({ low: 0, high: 0 });
    const wide = pairedBootstrapInterval([-2, -1, 1, 2]);
    expect(wide.mean).toBe(0);
    // The resampling distribution is symmetric: the two ends agree up to sampling noise of 10 000 resamples.
    expect(Math.abs(wide.low + wide.high)).toBeLessThan(0.05);
    expect(wide.low).toBeLessThan(-1);
  });

  it('lies below 0 for a drop on every seed, and narrows as the level falls', () => {
    const drops = [-0.04, -0.05, -0.06, -0.05, -0.05];
    const at95 = pairedBootstrapInterval(drops);
    const at50 = pairedBootstrapInterval(drops, { confidence: 0.5 });
    expect(at95.mean).toBeCloseTo(-0.05, 15);
    expect(at95.high).toBeLessThan(0);
    // Every resampled mean lies within [min, max] of the differences.
    expect(at95.low).toBeGreaterThanOrEqual(-0.06);
    expect(at50.low).toBeGreaterThanOrEqual(at95.low);
    expect(at50.high).toBeLessThanOrEqual(at95.high);
  });

  it('gives the same interval every time (seeded resampling), another with another seed', () => {
    const differences = [0.3, -0.1, 0.7, 0.2, -0.4, 0.05];
    const first = pairedBootstrapInterval(differences);
    expect(pairedBootstrapInterval(differences)).toEqual(first);
    expect(pairedBootstrapInterval(differences, { seed: 7 })).not.toEqual(first);
  });

  it('takes the type-7 quantile', () => {
    expect(quantile([0, 1, 2, 3], 0.5)).toBe(1.5);
    expect(quantile([0, 1, 2, 3], 0)).toBe(0);
    expect(quantile([0, 1, 2, 3], 1)).toBe(3);
    expect(quantile([10, 20], 0.25)).toBe(12.5);
  });

  it('refuses no differences, non-finite ones and a level outside (0, 1)', () => {
    expect(() => pairedBootstrapInterval([])).toThrow('at least one');
    expect(() => pairedBootstrapInterval([1, NaN])).toThrow('finite');
    expect(() => pairedBootstrapInterval([1], { confidence: 1 })).toThrow('(0, 1)');
  });
});
