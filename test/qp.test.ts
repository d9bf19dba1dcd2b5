import { describe, expect, it } from 'vitest';
import { projectOntoDualCone, solveNonNegativeQp, type Matrix } from '../src/numerics/index.js';
import { createRng } from '../src/util/rng.js';
import { expectClose } from './helpers/expect.js';

/** T random rows of length `dims` (the Jacobian J) and their Gramian JJᵀ. */
function randomJacobian(seed: number, tasks: number, dims: number): { rows: number[][]; gramian: Matrix } {
  const rng = createRng(seed);
  const rows = Array.from({ length: tasks }, () => Array.from({ length: dims }, () => rng.normal()));
  const gramian = rows.map((a) => rows.map((b) => a.reduce((s, v, k) => s + v * b[k]!, 0)));
  return { rows, gramian };
}

/** Asserts the KKT conditions of min ½xᵀHx + cᵀx s.t. x ≥ 0 at x, relative to the problem's scale. */
function expectKkt(h: Matrix, c: readonly number[], x: readonly number[]): void {
  const scale = Math.max(1, ...c.map(Math.abs), ...h.flat().map(Math.abs));
  const w = h.map((row, i) => row.reduce((s, v, j) => s + v * x[j]!, c[i]!));
  const xScale = Math.max(1, ...x);
  x.forEach((xi, i) => {
    expect(xi, `x_${i} ≥ 0`).toBeGreaterThanOrEqual(0);
    expect(w[i], `w_${i} ≥ 0`).toBeGreaterThanOrEqual(-1e-9 * scale * xScale);
    expect(Math.abs(xi * w[i]!), `x_${i} w_${i} = 0`).toBeLessThan(1e-9 * scale * xScale * xScale);
  });
}

describe('solveNonNegativeQp (Lawson–Hanson active set on H, c)', () => {
  it('solves a hand-computed case: H = I, c = (−1, 2) → x = (1, 0), multipliers (0, 2)', () => {
    const { x, multipliers } = solveNonNegativeQp(
      [
        [1, 0],
        [0, 1],
      ],
      [-1, 2],
    );
    expectClose(x, [1, 0], 12);
    expectClose(multipliers, [0, 2], 12);
  });

  it('returns the unconstrained minimiser when it is feasible: H = [[2, 1], [1, 2]], c = (−3, −3) → (1, 1)', () => {
    const { x } = solveNonNegativeQp(
      [
        [2, 1],
        [1, 2],
      ],
      [-3, -3],
    );
    expectClose(x, [1, 1], 12);
  });

  it('meets the KKT conditions on random positive definite problems (2–8 variables)', () => {
    for (let seed = 0; seed < 60; seed++) {
      const tasks = 2 + (seed % 7);
      const { gramian } = randomJacobian(seed, tasks, tasks + 3);
      const rng = createRng(1000 + seed);
      const c = Array.from({ length: tasks }, () => rng.normal() * 3);
      const { x } = solveNonNegativeQp(gramian, c);
      expectKkt(gramian, c, x);
    }
  });

  it('meets the KKT conditions on rank-deficient Gramians (fewer dimensions than tasks, c in the range of H)', () => {
    for (let seed = 0; seed < 60; seed++) {
      const tasks = 3 + (seed % 5);
      const dims = 1 + (seed % (tasks - 1));
      const { rows, gramian } = randomJacobian(seed, tasks, dims);
      const rng = createRng(2000 + seed);
      const b = Array.from({ length: dims }, () => rng.normal());
      const c = rows.map((row) => row.reduce((s, v, k) => s + v * b[k]!, 0)); // c = Jb lies in range(JJᵀ)
      const { x } = solveNonNegativeQp(gramian, c);
      expect(x.every(Number.isFinite)).toBe(true);
      expectKkt(gramian, c, x);
    }
  });

  it('handles H = 0 with c ≥ 0 (x = 0) and duplicated rows', () => {
    expect(
      solveNonNegativeQp(
        [
          [0, 0],
          [0, 0],
        ],
        [0, 1],
      ).x,
    ).toEqual([0, 0]);
    const same = [
      [1, 1],
      [1, 1],
    ];
    const { x } = solveNonNegativeQp(same, [-1, -1]);
    expectKkt(same, [-1, -1], x);
    expect(x[0]! + x[1]!).toBeCloseTo(1, 12);
  });
});

describe('projectOntoDualCone', () => {
  it('projects g1 = (1, 0) onto the dual cone of g1, g2 = (−1, 1): d = (½, ½), v = (1, ½) (hand-computed)', () => {
    const v = projectOntoDualCone(
      [
        [1, -1],
        [-1, 2],
      ],
      [1, 0],
    );
    expectClose(v, [1, 0.5], 12);
  });

  it('lands in the dual cone (every row has a non-negative inner product with Jᵀv) and v ≥ u', () => {
    for (let seed = 0; seed < 60; seed++) {
      const tasks = 2 + (seed % 5);
      const dims = seed % 3 === 0 ? Math.max(1, tasks - 1) : tasks + 2;
      const { gramian } = randomJacobian(seed, tasks, dims);
      const rng = createRng(3000 + seed);
      const u = Array.from({ length: tasks }, () => Math.abs(rng.normal()));
      const v = projectOntoDualCone(gramian, u);
      const scale = Math.max(...gramian.flat().map(Math.abs)) * Math.max(1, ...v);
      v.forEach((vi, i) => expect(vi).toBeGreaterThanOrEqual(u[i]! - 1e-12));
      const gv = gramian.map((row) => row.reduce((s, x, j) => s + x * v[j]!, 0)); // J(Jᵀv)
      gv.forEach((value) => expect(value).toBeGreaterThanOrEqual(-1e-9 * scale));
      // Complementarity: where v_i > u_i the constraint of row i is tight (row i ⟂ the projection).
      v.forEach((vi, i) => {
        if (vi > u[i]! + 1e-9) expect(Math.abs(gv[i]!)).toBeLessThan(1e-8 * scale);
      });
    }
  });
});
