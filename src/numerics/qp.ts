/**
 * Small convex quadratic programs with non-negativity constraints (T×T, T the task count), in float64:
 *   minimise ½ xᵀHx + cᵀx   subject to  x ≥ 0,        H symmetric positive semi-definite.
 * Its KKT conditions, which the answer meets to rounding: with w = Hx + c,
 *   x ≥ 0,   w ≥ 0,   x_i w_i = 0 for every i.
 *
 * Solver: the primal active-set method of Lawson & Hanson's NNLS (1974, ch. 23) written on H and c instead of a
 * least-squares matrix (Bro & de Jong's "fast NNLS", 1997): start at x = 0 with every variable held at its bound;
 * repeatedly free the variable whose multiplier w_i is most negative, solve the equality-constrained problem on the
 * free set (H_FF z_F = −c_F), and while that solution leaves the feasible region walk towards it until the first free
 * variable reaches 0 and hold it again. Each outer step strictly lowers the objective, so no free set repeats and the
 * method ends exactly after finitely many steps (for T ≤ 20, a handful). The free subsystems are solved through the
 * pseudo-inverse, so a singular H (fewer gradient dimensions than tasks, parallel gradients) still gives a finite
 * minimiser (the problem is then bounded whenever c lies in H's range, as in the dual-cone projection below).
 */
import type { Matrix } from './matrix.js';
import { pseudoSolve } from './solve.js';

export interface NonNegativeQpResult {
  /** The minimiser. */
  x: number[];
  /** The multipliers w = Hx + c (≥ 0 at the optimum, 0 where x > 0). */
  multipliers: number[];
  /** Outer iterations used (variables freed). */
  iterations: number;
}

/** Solves min ½xᵀHx + cᵀx s.t. x ≥ 0 exactly (see the file header). */
export function solveNonNegativeQp(
  h: Matrix,
  c: readonly number[],
  maxIterations = 10 * c.length + 10,
): NonNegativeQpResult {
  const n = c.length;
  const x = new Array<number>(n).fill(0);
  const free = new Array<boolean>(n).fill(false);
  // Rounding of multipliers is relative to the problem's own scale.
  const scale = Math.max(1e-300, ...c.map(Math.abs), ...h.map((row, i) => Math.abs(row[i]!)));
  const tolerance = 1e-12 * scale;
  const multipliersAt = (point: readonly number[]): number[] =>
    h.map((row, i) => row.reduce((s, v, j) => s + v * point[j]!, c[i]!));
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    const w = multipliersAt(x);
    let entering = -1;
    for (let i = 0; i < n; i++) {
      if (!free[i] && w[i]! < -tolerance && (entering < 0 || w[i]! < w[entering]!)) entering = i;
    }
    if (entering < 0) break;
    free[entering] = true;
    let first = true;
    for (;;) {
      const z = freeSolution(h, c, free);
      // Rounding can make the entering variable come out non-positive right after it is freed; it then cannot lower
      // the objective and the current point is optimal to rounding (Lawson & Hanson's safeguard).
      if (first && !(z[entering]! > 0)) {
        free[entering] = false;
        return { x, multipliers: multipliersAt(x), iterations: iterations + 1 };
      }
      first = false;
      if (free.every((isFree, i) => !isFree || z[i]! > 0)) {
        for (let i = 0; i < n; i++) x[i] = free[i] ? z[i]! : 0;
        break;
      }
      // Walk from x towards z until the first free variable reaches 0, then hold every free variable at 0 at its
      // bound: the free set shrinks, so this inner loop ends.
      // (x_i > 0 for every free variable but the one just freed, which has z_i > 0.)
      const reach = (i: number): number => (z[i]! <= 0 ? x[i]! / Math.max(x[i]! - z[i]!, 1e-300) : 1);
      let step = 1;
      for (let i = 0; i < n; i++) if (free[i]) step = Math.min(step, reach(i));
      for (let i = 0; i < n; i++) {
        if (!free[i]) continue;
        const moved = x[i]! + step * (z[i]! - x[i]!);
        x[i] = reach(i) <= step || moved <= 0 ? 0 : moved;
        if (x[i] === 0) free[i] = false;
      }
    }
  }
  return { x, multipliers: multipliersAt(x), iterations };
}

/** The minimiser over the free variables with the others at 0: H_FF z_F = −c_F (pseudo-inverse), z = 0 elsewhere. */
function freeSolution(h: Matrix, c: readonly number[], free: readonly boolean[]): number[] {
  const indices = free.flatMap((isFree, i) => (isFree ? [i] : []));
  const sub = indices.map((i) => indices.map((j) => h[i]![j]!));
  const solved = pseudoSolve(
    sub,
    indices.map((i) => -c[i]!),
  );
  const z = new Array<number>(free.length).fill(0);
  indices.forEach((i, k) => (z[i] = solved[k]!));
  return z;
}

/**
 * Weights of the projection of Jᵀu onto the dual cone {d : Jd ≥ 0} of the rows of J, given only the Gramian
 * G = JJᵀ (Quinton & Rey 2024, Proposition 1): the projection is Jᵀv with
 *   v = argmin_v vᵀGv   subject to  v ≥ u,
 * solved as the non-negative QP in x = v − u: min ½xᵀGx + (Gu)ᵀx, x ≥ 0.
 */
export function projectOntoDualCone(g: Matrix, u: readonly number[]): number[] {
  const gu = g.map((row) => row.reduce((s, v, j) => s + v * u[j]!, 0));
  const { x } = solveNonNegativeQp(g, gu);
  return x.map((xi, i) => xi + u[i]!);
}
