import type { Rng } from '../../util/rng.js';
import type { LossWeightingDefinition } from '../types.js';
import { scaleOption, weightedSum, weightTotal } from './common.js';

/**
 * Random Loss Weighting (RLW): Lin et al., "Reasonable Effectiveness of Random Weighting: A Litmus Test for
 * Multi-Task Learning", TMLR 2022 (arXiv 2111.10603, "A Closer Look at Loss Weighting in Multi-Task Learning").
 * Every step draws fresh weights from the normal-softmax distribution the paper and LibMTL use by default:
 *
 *     z ~ N(0, I_T),   λ = S · softmax(z),   L = Σ_i λ_i · L_i,
 *
 * with z drawn from the step context's seeded generator (so a seed gives the same weights on every backend) and
 * S = T (`scale: tasks`, default: E[Σ λ_i] = T keeps the loss on equal weighting's scale, so the same learning rate
 * fits) or 1 (`scale: one`, LibMTL's exact form).
 */
export const rlw: LossWeightingDefinition = {
  name: 'rlw',
  family: 'loss-weighting',
  paper: 'Lin et al. 2022, "Reasonable Effectiveness of Random Weighting" (TMLR), RLW',
  cost: '1',
  optionsSchema: { scale: scaleOption },
  needs: () => 'losses',
  create(options, { tasks }) {
    const total = weightTotal(options, tasks.length);
    let weights = tasks.map(() => total / tasks.length);
    return {
      name: 'rlw',
      needs: 'losses',
      combineLosses(losses, context) {
        weights = rlwWeights(context.rng, losses.length, total);
        return weightedSum(losses, weights);
      },
      currentWeights: () => weights,
      state: () => ({ weights }),
      restore(state) {
        const saved = (state as { weights?: unknown } | undefined)?.weights;
        if (!Array.isArray(saved) || saved.length !== tasks.length || !saved.every((w) => typeof w === 'number')) {
          throw new Error(`rlw strategy state does not match ${tasks.length} tasks: ${JSON.stringify(state)}`);
        }
        weights = [...saved];
      },
    };
  },
};

/** One draw of λ = total · softmax(z), z ~ N(0, I), from `rng` (T normal draws). */
export function rlwWeights(rng: Rng, taskCount: number, total: number): number[] {
  const z = Array.from({ length: taskCount }, () => rng.normal());
  const max = Math.max(...z);
  const exps = z.map((v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => (total * e) / sum);
}
