import { tf } from '../../tf.js';
import type { TaskConfig } from '../../config/types.js';
import type { LossWeightingDefinition } from '../types.js';
import { enumOption, numberOption } from '../../util/options.js';

/**
 * Uncertainty weighting (UW): Kendall, Gal & Cipolla, "Multi-Task Learning Using Uncertainty to Weigh Losses for
 * Scene Geometry and Semantics", CVPR 2018. Each task has a learned log-variance s_i = log σ_i², a `tf.Variable`
 * named `strategy/uncertainty/log_var_<task>` that the trainer optimises together with the model. The loss is
 *
 *     form: kendall (default)   L = Σ_i ( ½ · exp(−s_i) · L_i + ½ · s_i )
 *     form: simplified          L = Σ_i (     exp(−s_i) · L_i +     s_i )
 *
 * `kendall` is the paper's Gaussian-likelihood form, 1/(2σ²)·L + log σ, written in s = log σ² (as in LibMTL's `UW`);
 * `simplified` drops the ½ on both terms, the form many implementations use. The two differ only by an overall
 * factor ½, so they share the optimum s_i* = ln L_i (where each term's weight times its loss is the same constant)
 * and behave identically under Adam up to its ε; with plain SGD the simplified form takes steps twice as large.
 * Gradients: ∂L/∂s_i = c·(1 − exp(−s_i)·L_i), ∂L/∂L_i = c·exp(−s_i), with c = ½ or 1.
 *
 * s_i start at `init` (default 0, i.e. σ² = 1; LibMTL starts at −0.5). The task weights reported are c·exp(−s_i).
 * Note that the training config's weight decay also applies to s_i (it pulls them towards 0).
 */
export const uncertainty: LossWeightingDefinition = {
  name: 'uncertainty',
  family: 'loss-weighting',
  paper: 'Kendall, Gal & Cipolla 2018, "Multi-Task Learning Using Uncertainty to Weigh Losses" (CVPR)',
  cost: '1',
  optionsSchema: {
    form: {
      type: 'string',
      enum: ['kendall', 'simplified'],
      default: 'kendall',
      description:
        'kendall: Σ ½e^{−s}L + ½s (paper, LibMTL); simplified: Σ e^{−s}L + s (same optimum, twice the scale).',
    },
    init: { type: 'number', default: 0, description: 'Initial log-variance s_i of every task.' },
  },
  needs: () => 'losses',
  create(options, { tasks }) {
    const form = enumOption(options, 'strategy.form', ['kendall', 'simplified'] as const, 'kendall');
    const factor = form === 'kendall' ? 0.5 : 1;
    const variables = learnedScalars(tasks, 'strategy/uncertainty/log_var_', numberOption(options, 'strategy.init', 0));
    return {
      name: 'uncertainty',
      needs: 'losses',
      combineLosses: (losses) =>
        tf.tidy(() => {
          const s = tf.stack(variables);
          const terms = tf.add(tf.mul(tf.exp(tf.neg(s)), tf.stack(losses)), s);
          return tf.mul(tf.sum(terms), factor);
        }),
      variables: () => variables,
      currentWeights: () => readScalars(variables).map((s) => factor * Math.exp(-s)),
      state: () => ({ log_var: namedValues(tasks, variables) }),
      restore: (state) =>
        assignNamed('uncertainty', tasks, variables, (state as { log_var?: unknown } | undefined)?.log_var),
      dispose: () => variables.forEach((v) => v.dispose()),
    };
  },
};

/** One trainable scalar variable per task, named `<prefix><task>`. */
export function learnedScalars(tasks: readonly TaskConfig[], prefix: string, init: number): tf.Variable[] {
  return tasks.map((t) => tf.tidy(() => tf.variable(tf.scalar(init, 'float32'), true, `${prefix}${t.name}`)));
}

/** Reads scalar variables (a small sync; called once per epoch or checkpoint). */
export function readScalars(variables: readonly tf.Variable[]): number[] {
  return variables.map((v) => v.dataSync()[0]!);
}

function namedValues(tasks: readonly TaskConfig[], variables: readonly tf.Variable[]): Record<string, number> {
  const values = readScalars(variables);
  return Object.fromEntries(tasks.map((t, i) => [t.name, values[i]!]));
}

/** Sets each task's variable from a `{task: value}` record saved by `state()`. */
export function assignNamed(
  strategy: string,
  tasks: readonly TaskConfig[],
  variables: readonly tf.Variable[],
  saved: unknown,
): void {
  const record = saved as Record<string, unknown> | undefined;
  if (!record || typeof record !== 'object' || !tasks.every((t) => typeof record[t.name] === 'number')) {
    throw new Error(
      `${strategy} strategy state does not match tasks ${tasks.map((t) => t.name).join(', ')}: ` +
        `${JSON.stringify(saved)}`,
    );
  }
  tasks.forEach((t, i) => {
    tf.tidy(() => variables[i]!.assign(tf.scalar(record[t.name] as number, 'float32')));
  });
}
