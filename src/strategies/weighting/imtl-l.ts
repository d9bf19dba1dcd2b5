import { tf } from '../../tf.js';
import type { TaskConfig } from '../../config/types.js';
import type { LossWeightingDefinition, LossWeightingStrategy } from '../types.js';
import { numberOption } from '../../util/options.js';
import { assignNamed, learnedScalars, readScalars } from './uncertainty.js';

/**
 * IMTL-L, the loss-balancing half of Impartial Multi-Task Learning: Liu et al., "Towards Impartial Multi-task
 * Learning", ICLR 2021. Each task has a learned log-scale s_i (a `tf.Variable`
 * named `strategy/imtl-l/scale_<task>`, optimised with the model, starting at `init`, default 0):
 *
 *     L = Σ_i ( exp(s_i) · L_i − s_i ).
 *
 * ∂L/∂s_i = exp(s_i)·L_i − 1, so at the optimum every scaled loss exp(s_i)·L_i equals 1 (the tasks' losses are made
 * equal, "impartial"); ∂L/∂L_i = exp(s_i), the weights reported. This is also LibMTL's `IMTL` loss-scale part. (The
 * gradient half alone is `imtl-g`; the paper's IMTL, both halves in one run, is `imtl`.) The training config's weight
 * decay also applies to s_i.
 */
export const imtlL: LossWeightingDefinition = {
  name: 'imtl-l',
  family: 'loss-weighting',
  paper: 'Liu et al. 2021, "Towards Impartial Multi-task Learning" (ICLR), IMTL-L',
  cost: '1',
  optionsSchema: {
    init: { type: 'number', default: 0, description: 'Initial log-scale s_i of every task (weight exp(s_i)).' },
  },
  needs: () => 'losses',
  create: (options, { tasks }) =>
    imtlLossScales(tasks, numberOption(options, 'strategy.init', 0), 'imtl-l', 'strategy/imtl-l/scale_'),
};

/**
 * L = Σ_i (exp(s_i)·L_i − s_i) with one learned s_i per task (variables `<prefix><task>`, starting at `init`): the
 * strategy `imtl-l`, and the loss half of the full `imtl`.
 */
export function imtlLossScales(
  tasks: readonly TaskConfig[],
  init: number,
  name: string,
  prefix: string,
): LossWeightingStrategy {
  const variables = learnedScalars(tasks, prefix, init);
  return {
    name,
    needs: 'losses',
    combineLosses: (losses) =>
      tf.tidy(() => {
        const s = tf.stack(variables);
        return tf.sum(tf.sub(tf.mul(tf.exp(s), tf.stack(losses)), s));
      }),
    variables: () => variables,
    currentWeights: () => readScalars(variables).map((s) => Math.exp(s)),
    state: () => {
      const values = readScalars(variables);
      return { scale: Object.fromEntries(tasks.map((t, i) => [t.name, values[i]!])) };
    },
    restore: (state) => assignNamed(name, tasks, variables, (state as { scale?: unknown } | undefined)?.scale),
    dispose: () => variables.forEach((v) => v.dispose()),
  };
}
