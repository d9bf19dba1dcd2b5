/**
 * The pure measures of `mtl analyze` against known answers: linear CKA (Kornblith et al. 2019), target association
 * and Miller–Madow mutual information, and the grouping rule (Fifty et al. 2021, restricted to partitions).
 */
import { describe, expect, it } from 'vitest';
import { linearCka, type RowMatrix } from '../src/analysis/cka.js';
import { harmfulByAffinity, harmfulByGradients, matrixOf, suggestGrouping } from '../src/analysis/grouping.js';
import {
  correlationRatio,
  cramersV,
  mutualInformation,
  pearson,
  quantileBins,
  targetPair,
} from '../src/analysis/target-relatedness.js';
import { createRng } from '../src/util/rng.js';

function randomMatrix(rows: number, cols: number, seed: number): RowMatrix {
  const rng = createRng(seed);
  return { rows, cols, data: Float64Array.from({ length: rows * cols }, () => rng.normal()) };
}

/** X·Q for a row-major X and a cols×cols Q. */
function times(x: RowMatrix, q: number[][]): RowMatrix {
  const data = new Float64Array(x.rows * x.cols);
  for (let r = 0; r < x.rows; r++)
    for (let c = 0; c < x.cols; c++)
      for (let k = 0; k < x.cols; k++) data[r * x.cols + c]! += x.data[r * x.cols + k]! * q[k]![c]!;
  return { rows: x.rows, cols: x.cols, data };
}

describe('linear CKA', () => {
  it('is 1 for a representation with itself', () => {
    const x = randomMatrix(50, 4, 1);
    expect(linearCka(x, x)).toBeCloseTo(1, 12);
  });

  it('is invariant to an orthogonal transform and to isotropic scaling', () => {
    const x = randomMatrix(40, 3, 2);
    const y = randomMatrix(40, 5, 3);
    const t = 0.7;
    // A rotation in the (0, 1) plane, then a reflection of axis 2: orthogonal.
    const q = [
      [Math.cos(t), -Math.sin(t), 0],
      [Math.sin(t), Math.cos(t), 0],
      [0, 0, -1],
    ];
    const rotated = times(x, q);
    const scaled: RowMatrix = { ...rotated, data: Float64Array.from(rotated.data, (v) => v * 3.5) };
    expect(linearCka(scaled, y)).toBeCloseTo(linearCka(x, y), 12);
    expect(linearCka(x, rotated)).toBeCloseTo(1, 12);
  });

  it('matches a hand computation: one column each is the squared correlation', () => {
    // x centred = (−1, 0, 1), y centred = (0, −1, 1): ‖yᵀx‖² = 1, ‖xᵀx‖ = 2, ‖yᵀy‖ = 2 → 1/4.
    const x = { rows: 3, cols: 1, data: [1, 2, 3] };
    const y = { rows: 3, cols: 1, data: [1, 0, 2] };
    expect(linearCka(x, y)).toBeCloseTo(0.25, 14);
  });

  it('is near 0 for independent representations and NaN for a constant one', () => {
    expect(linearCka(randomMatrix(4000, 2, 4), randomMatrix(4000, 2, 5))).toBeLessThan(0.01);
    expect(linearCka({ rows: 3, cols: 1, data: [2, 2, 2] }, { rows: 3, cols: 1, data: [1, 0, 2] })).toBeNaN();
  });
});

describe('target association and mutual information', () => {
  it('Pearson, correlation ratio and Cramér’s V on hand-computed data', () => {
    expect(pearson([1, 2, 3], [1, 0, 2])).toBeCloseTo(0.5, 14);
    // Groups a = {1, 3} (mean 2) and b = {5, 7} (mean 6), overall 4: between 2·4 + 2·4 = 16, total 20 → √0.8.
    expect(correlationRatio([0, 0, 1, 1], [1, 3, 5, 7])).toBeCloseTo(Math.sqrt(0.8), 14);
    // Table [[2, 1], [1, 2]], n = 6: χ² = 4·(0.5²/1.5) = 2/3 → V = √(2/3 / 6) = 1/3.
    expect(cramersV([0, 0, 0, 1, 1, 1], [0, 0, 1, 0, 1, 1])).toBeCloseTo(1 / 3, 14);
  });

  it('mutual information of a hand-computed 2×2 table, plug-in and Miller–Madow', () => {
    const information = mutualInformation([0, 0, 0, 1, 1, 1], [0, 0, 1, 0, 1, 1]);
    const plugin = (2 / 3) * Math.log(4 / 3) + (1 / 3) * Math.log(2 / 3);
    expect(information.plugin).toBeCloseTo(plugin, 14);
    // m_x = m_y = 2, m_xy = 4: correction (2 + 2 − 4 − 1)/(2·6) = −1/12.
    expect(information.nats).toBeCloseTo(plugin - 1 / 12, 14);
  });

  it('identical targets: MI = the (corrected) entropy, normalised 1; independent targets: MI ≈ 0', () => {
    const rng = createRng(7);
    const x = Array.from({ length: 3000 }, () => rng.normal());
    const y = Array.from({ length: 3000 }, () => rng.normal());
    const bins = quantileBins(x);
    const same = mutualInformation(bins, bins);
    // Ten equal-count bins: H = ln 10, plus (10 − 1)/(2·3000).
    expect(same.nats).toBeCloseTo(Math.log(10) + 9 / 6000, 10);
    expect(same.normalised).toBeCloseTo(1, 12);
    const independent = targetPair([{ kind: 'numeric', values: x }], [{ kind: 'numeric', values: y }]);
    expect(Math.abs(independent.mutualInformation)).toBeLessThan(0.01);
    expect(Math.abs(independent.association)).toBeLessThan(0.05);
    expect(independent.measure).toBe('pearson');
  });

  it('quantile bins keep ties together and few distinct values as their own bins', () => {
    expect(Array.from(quantileBins([3, 1, 2, 1]))).toEqual([2, 0, 1, 0]);
    const values = Array.from({ length: 20 }, (_, i) => (i < 12 ? 0 : i));
    const bins = quantileBins(values);
    expect(new Set(Array.from(bins.subarray(0, 12))).size).toBe(1);
    expect(Math.max(...bins)).toBeLessThan(10);
  });
});

describe('grouping rule', () => {
  const tasks = ['a', 'b', 'c', 'd'];

  it('groups tasks that help each other and separates those that hurt', () => {
    // a and b help each other, c and d help each other, across the two pairs everything hurts.
    const s = [
      [NaN, 0.5, -0.2, -0.3],
      [0.4, NaN, -0.1, -0.2],
      [-0.2, -0.4, NaN, 0.3],
      [-0.1, -0.3, 0.2, NaN],
    ];
    const grouping = suggestGrouping(tasks, s);
    expect(grouping.groups).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    expect(grouping.score).toBeCloseTo(0.5 + 0.4 + 0.3 + 0.2, 12);
    expect(grouping.search).toBe('exhaustive');
    expect(harmfulByAffinity(tasks, s).map((p) => p.tasks.join('+'))).toEqual(['a+c', 'a+d', 'b+c', 'b+d']);
  });

  it('ties go to fewer groups; all-zero matrices keep every task together', () => {
    const zeros = tasks.map(() => tasks.map(() => 0));
    expect(suggestGrouping(tasks, zeros).groups).toEqual([tasks]);
  });

  it('greedy above eight tasks finds the planted blocks', () => {
    const names = Array.from({ length: 10 }, (_, i) => `t${i}`);
    const block = (i: number): number => (i < 5 ? 0 : 1);
    const s = names.map((_, i) => names.map((__, j) => (i === j ? NaN : block(i) === block(j) ? 1 : -1)));
    const grouping = suggestGrouping(names, s);
    expect(grouping.search).toBe('greedy');
    expect(grouping.groups).toEqual([names.slice(0, 5), names.slice(5)]);
  });

  it('never groups a pair the warnings flag, and names the flagged pairs the score alone would group', () => {
    const abc = ['a', 'b', 'c'];
    // a and b each gain a lot from c, and hurt each other a little: the score alone puts all three in one group.
    const s = [
      [NaN, -0.1, 0.5],
      [-0.05, NaN, 0.3],
      [0.4, 0.3, NaN],
    ];
    expect(suggestGrouping(abc, s).groups).toEqual([abc]);
    const warned = harmfulByAffinity(abc, s).map((p) => p.tasks);
    expect(warned).toEqual([['a', 'b']]);
    const grouping = suggestGrouping(abc, s, warned);
    expect(grouping.groups).toEqual([['a', 'c'], ['b']]);
    expect(grouping.score).toBeCloseTo(0.9, 12);
    expect(grouping.keptApart).toEqual([['a', 'b']]);
    // Flagged twice (by two measures) or named in the other order: the same pair, once.
    expect(suggestGrouping(abc, s, [['b', 'a'], ...warned]).keptApart).toEqual([['a', 'b']]);
  });

  it('a pair whose gradients conflict most steps is kept apart though its mean cosine is positive', () => {
    const cosine = { 'a|b': 0.1 };
    const warned = harmfulByGradients(['a', 'b'], cosine, { 'a|b': 0.6 }).map((p) => p.tasks);
    const grouping = suggestGrouping(['a', 'b'], matrixOf(['a', 'b'], cosine), warned);
    expect(grouping.groups).toEqual([['a'], ['b']]);
    expect(grouping.keptApart).toEqual([['a', 'b']]);
  });

  it('flagged pairs the score keeps apart anyway change nothing and are not named', () => {
    const s = [
      [NaN, 0.5, -0.2, -0.3],
      [0.4, NaN, -0.1, -0.2],
      [-0.2, -0.4, NaN, 0.3],
      [-0.1, -0.3, 0.2, NaN],
    ];
    const grouping = suggestGrouping(
      tasks,
      s,
      harmfulByAffinity(tasks, s).map((p) => p.tasks),
    );
    expect(grouping.groups).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    expect(grouping.keptApart).toEqual([]);
  });

  it('greedy above eight tasks keeps a flagged pair apart too', () => {
    const names = Array.from({ length: 10 }, (_, i) => `t${i}`);
    const block = (i: number): number => (i < 5 ? 0 : 1);
    const s = names.map((_, i) => names.map((__, j) => (i === j ? NaN : block(i) === block(j) ? 1 : -1)));
    const grouping = suggestGrouping(names, s, [['t0', 't1']]);
    expect(grouping.search).toBe('greedy');
    expect(grouping.groups.some((g) => g.includes('t0') && g.includes('t1'))).toBe(false);
    expect(grouping.groups.filter((g) => g.some((t) => block(Number(t.slice(1))) === 1))).toEqual([names.slice(5)]);
    expect(grouping.keptApart).toEqual([['t0', 't1']]);
  });

  it('gradient warnings: mean cosine below 0 or conflict above one half', () => {
    const pairs = harmfulByGradients(['a', 'b', 'c'], { 'a|b': -0.1, 'a|c': 0.2, 'b|c': 0.3 }, { 'a|c': 0.6 });
    expect(pairs.map((p) => p.tasks.join('+'))).toEqual(['a+b', 'a+c']);
    expect(pairs[1]?.reason).toContain('60.0% of steps');
    expect(matrixOf(['a', 'b'], { 'a|b': 0.5 })).toEqual([
      [NaN, 0.5],
      [0.5, NaN],
    ]);
  });
});
