/**
 * GradVac — Z. Wang, Y. Tsvetkov, O. Firat, Y. Cao, "Gradient Vaccine: Investigating and Improving Multi-task
 * Optimization in Massively Multilingual Models", ICLR 2021.
 *
 * Keeps an EMA target φ̂_ij of the cosine similarity of every ordered task pair. For every task i, start from
 * g_i' = g_i and visit the other tasks j in a random order:
 *   φ_ij = cos(g_i', g_j)
 *   if φ_ij < φ̂_ij:  g_i' ← g_i' + ‖g_i'‖ (φ̂_ij √(1 − φ_ij²) − φ_ij √(1 − φ̂_ij²)) / (‖g_j‖ √(1 − φ̂_ij²)) · g_j
 *   φ̂_ij ← (1 − β) φ̂_ij + β φ_ij
 * so that the corrected g_i' has cosine exactly φ̂_ij with g_j. The update is Σ_i g_i'. With φ̂ = 0 (the
 * start) the correction is PCGrad's projection; as φ̂ learns how aligned a pair usually is, GradVac also pulls
 * positively-correlated but under-aligned gradients together. One φ̂ per pair for the whole model (the paper's
 * per-layer granularity would need the layer boundaries, which a flattened gradient does not carry).
 * State: the step counter (random orders) and the φ̂ matrix.
 *
 * Gradient target (`grad_target: auto`): params. The other target: allowed when asked for explicitly, with a note. Why:
 * Wang et al. align the gradients of the shared parameters (Algorithm 1, per parameter group in their experiments); the
 * paper defines no representation variant (LibMTL refuses one).
 */
import { columnSums, gram, linearCombination, type Matrix } from '../../numerics/index.js';
import { numberOption } from '../../util/options.js';
import { checkGrads, readMatrix, readStep, stepRng } from './support.js';
import type { CombinerDefinition } from './types.js';

/**
 * One GradVac step on coefficients (row i: g_i' = Σ_k c_ik g_k). Updates `targets` in place and returns the rows.
 */
export function gradVacCoefficients(
  g: Matrix,
  targets: Matrix,
  orders: readonly (readonly number[])[],
  beta: number,
): Matrix {
  const t = g.length;
  return g.map((_, i) => {
    const c = new Array<number>(t).fill(0);
    c[i] = 1;
    for (const j of orders[i]!) {
      if (j === i || !(g[j]![j]! > 0)) continue;
      let cross = 0;
      let normSq = 0;
      for (let k = 0; k < t; k++) {
        cross += c[k]! * g[k]![j]!;
        for (let l = 0; l < t; l++) normSq += c[k]! * g[k]![l]! * c[l]!;
      }
      if (!(normSq > 0)) continue;
      const normI = Math.sqrt(normSq);
      const normJ = Math.sqrt(g[j]![j]!);
      const phi = Math.min(1, Math.max(-1, cross / (normI * normJ)));
      const target = targets[i]![j]!;
      if (phi < target) {
        // A target of ±1 would divide by zero: the pair is then treated as "almost" parallel.
        const sinTarget = Math.sqrt(Math.max(1 - target * target, 1e-12));
        c[j]! += (normI * (target * Math.sqrt(1 - phi * phi) - phi * sinTarget)) / (normJ * sinTarget);
      }
      targets[i]![j] = (1 - beta) * target + beta * phi;
    }
    return c;
  });
}

export const gradvac: CombinerDefinition = {
  name: 'gradvac',
  paper:
    'Z. Wang et al., "Gradient Vaccine: Investigating and Improving Multi-task Optimization in Massively ' +
    'Multilingual Models", ICLR 2021',
  gradTarget: {
    paper: 'params',
    other: 'not-in-paper',
    reason:
      'Wang et al. align the gradients of the shared parameters (Algorithm 1, per parameter group in their ' +
      'experiments); the paper defines no representation variant (LibMTL refuses one).',
  },
  optionsSchema: {
    type: 'object',
    properties: { beta: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: 0.01 } },
    additionalProperties: false,
  },
  create(options, seed, taskCount) {
    const beta = numberOption(options, 'strategy.beta', 0.01);
    let step = 0;
    let targets: Matrix = Array.from({ length: taskCount }, () => new Array<number>(taskCount).fill(0));
    return {
      combine({ grads }) {
        checkGrads('gradvac', grads, taskCount);
        const rng = stepRng(seed, 'gradvac', step);
        step += 1;
        const orders = grads.map(() => Array.from(rng.permutation(taskCount)));
        const rows = gradVacCoefficients(gram(grads), targets, orders, beta);
        const weights = columnSums(rows);
        return { combined: linearCombination(grads, weights), weights };
      },
      state: () => ({ step, targets: targets.map((row) => [...row]) }),
      restore(state) {
        step = readStep('gradvac', state);
        targets =
          state === null || state === undefined
            ? targets.map((row) => row.map(() => 0))
            : readMatrix('gradvac', (state as { targets?: unknown }).targets, taskCount);
      },
    };
  },
};
