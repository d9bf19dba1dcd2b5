/**
 * PCGrad — T. Yu, S. Kumar, A. Gupta, S. Levine, K. Hausman, C. Finn, "Gradient Surgery for Multi-Task Learning",
 * NeurIPS 2020 (Algorithm 1).
 *
 * For every task i, start from g_i^PC = g_i and visit the other tasks j in a random order; when they conflict,
 *   if g_i^PCᵀ g_j < 0:   g_i^PC ← g_i^PC − (g_i^PCᵀ g_j / ‖g_j‖²) g_j
 * — the running g_i^PC against the ORIGINAL g_j. The update is Σ_i g_i^PC.
 *
 * Each task gets its own permutation, drawn from a generator seeded by (seed, step), so a run is reproducible and a
 * resumed run continues with the orders an uninterrupted one would have used.
 *
 * Gradient target (`grad_target: auto`): params. The other target: allowed when asked for explicitly, with a note. Why:
 * Yu et al. project the gradients of the shared parameters θ_sh (Algorithm 1); the paper defines no representation
 * variant (LibMTL refuses representation gradients for PCGrad).
 */
import { columnSums, gram, linearCombination, type Matrix } from '../../numerics/index.js';
import { checkGrads, noOptions, readStep, stepRng } from './support.js';
import type { CombinerDefinition } from './types.js';

/**
 * The projections carried out on coefficients instead of P-long vectors: row i holds c_i with g_i^PC = Σ_k c_ik g_k,
 * so that g_i^PCᵀ g_j = Σ_k c_ik G_kj. `orders[i]` is the visiting order for task i (entries equal to i are
 * skipped). The column sums of the rows are the effective weights of the original gradients in the update.
 */
export function projectConflicting(g: Matrix, orders: readonly (readonly number[])[]): Matrix {
  const t = g.length;
  return g.map((_, i) => {
    const c = new Array<number>(t).fill(0);
    c[i] = 1;
    for (const j of orders[i]!) {
      // A zero gradient conflicts with nothing (and cannot be divided by).
      if (j === i || !(g[j]![j]! > 0)) continue;
      let conflict = 0;
      for (let k = 0; k < t; k++) conflict += c[k]! * g[k]![j]!;
      if (conflict < 0) c[j]! -= conflict / g[j]![j]!;
    }
    return c;
  });
}

export const pcgrad: CombinerDefinition = {
  name: 'pcgrad',
  paper: 'T. Yu et al., "Gradient Surgery for Multi-Task Learning", NeurIPS 2020',
  gradTarget: {
    paper: 'params',
    other: 'not-in-paper',
    reason:
      'Yu et al. project the gradients of the shared parameters θ_sh (Algorithm 1); the paper defines no ' +
      'representation variant (LibMTL refuses representation gradients for PCGrad).',
  },
  optionsSchema: noOptions(),
  create(_options, seed, taskCount) {
    let step = 0;
    return {
      combine({ grads }) {
        checkGrads('pcgrad', grads, taskCount);
        const rng = stepRng(seed, 'pcgrad', step);
        step += 1;
        const orders = grads.map(() => Array.from(rng.permutation(taskCount)));
        const weights = columnSums(projectConflicting(gram(grads), orders));
        return { combined: linearCombination(grads, weights), weights };
      },
      state: () => ({ step }),
      restore(state) {
        step = readStep('pcgrad', state);
      },
    };
  },
};
