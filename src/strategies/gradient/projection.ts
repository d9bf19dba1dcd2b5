/**
 * Orthogonal projection of conflicting gradients in a fixed task order — the "正交梯度投影" of the seed document
 * (§4.1.1), generalised from two tasks to T, i.e. PCGrad (Yu et al., NeurIPS 2020) without the random order.
 *
 * For every task j and then every other task i in index order, when they conflict,
 *   if g_iᵀ g_j' < 0:   g_j' ← g_j' − (g_iᵀ g_j' / ‖g_i‖²) g_i
 * where g_i is the ORIGINAL gradient of task i and g_j' the running projection of task j (g_j' = g_j at the
 * start). For two tasks this is exactly the document's g_B' = g_B − (g_Aᵀg_B/‖g_A‖²) g_A, applied both ways and
 * only when the gradients conflict. The update is Σ_j g_j'.
 *
 * The document applies the projection unconditionally; projecting only conflicting pairs is what leaves
 * cooperating gradients untouched, as in the published method.
 *
 * Gradient target (`grad_target: auto`): params. The other target: allowed when asked for explicitly, with a note. Why:
 * seed 003 §4.1.1 projects the task gradients of the shared parameters, like PCGrad, which it generalises; neither
 * defines a representation variant.
 */
import { columnSums, gram, linearCombination } from '../../numerics/index.js';
import { projectConflicting } from './pcgrad.js';
import { checkGrads, noOptions, stateless } from './support.js';
import type { CombinerDefinition } from './types.js';

export const projection: CombinerDefinition = {
  name: 'projection',
  paper: 'Seed document 003 §4.1.1; T. Yu et al., "Gradient Surgery for Multi-Task Learning", NeurIPS 2020',
  gradTarget: {
    paper: 'params',
    other: 'not-in-paper',
    reason:
      'seed 003 §4.1.1 projects the task gradients of the shared parameters, like PCGrad, which it generalises; ' +
      'neither defines a representation variant.',
  },
  optionsSchema: noOptions(),
  create(_options, _seed, taskCount) {
    const order = Array.from({ length: taskCount }, (_, i) => i);
    const orders = order.map(() => order);
    return stateless(({ grads }) => {
      checkGrads('projection', grads, taskCount);
      const weights = columnSums(projectConflicting(gram(grads), orders));
      return { combined: linearCombination(grads, weights), weights };
    });
  },
};
