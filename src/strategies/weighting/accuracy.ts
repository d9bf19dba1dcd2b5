import type { TaskConfig } from '../../config/types.js';
import { UsageError } from '../../errors.js';
import { metricRegistry } from '../../metrics/registry.js';
import { stringOption, type Options } from '../../util/options.js';
import { suggest } from '../../util/suggest.js';
import type { LossWeightingDefinition } from '../types.js';
import { scaleOption, weightedSum, weightTotal } from './common.js';

/**
 * Accuracy-based weighting: tasks that are further from perfect on the validation split get more weight — the
 * "weights from accuracy" rule of seed document 003, §4.2.2, which for two tasks A, B reads
 *
 *     w_A = (1 − acc_A) / ((1 − acc_A) + (1 − acc_B)),   w_B = (1 − acc_B) / ((1 − acc_A) + (1 − acc_B)).
 *
 * Generalised to T tasks, with acc_i the latest validation value of `<task>/<metric>` (`metric`, default accuracy,
 * clamped to [0, 1]) and M the tasks that report it:
 *
 *     w_i = (S / T) · |M| · (1 − acc_i) / Σ_{j∈M} (1 − acc_j)    for i ∈ M,
 *     w_i = (S / T)                                                for i ∉ M (e.g. regression tasks without accuracy),
 *     L   = Σ_i w_i · L_i,
 *
 * so the weights sum to S = T (`scale: tasks`, default) or 1 (`scale: one`; with every task in M and S = 1 this is
 * the seed's formula exactly). If every task in M is perfect (Σ (1 − acc_j) = 0) they share the weight equally.
 * Before the first validation, and in runs without a validation split, all weights are S / T. Weights computed after
 * epoch e are used throughout epoch e + 1.
 */
export const accuracyWeighting: LossWeightingDefinition = {
  name: 'accuracy',
  family: 'loss-weighting',
  paper: 'seed 003 §4.2.2 (accuracy-based weights w_i ∝ 1 − acc_i)',
  cost: '1',
  optionsSchema: {
    metric: {
      type: 'string',
      default: 'accuracy',
      description:
        'Validation metric read as acc_i (`<task>/<metric>`); must be higher-is-better in [0, 1] (accuracy, ' +
        'macro-f1, auc, r2 clamped). Tasks that do not report it get weight 1.',
    },
    scale: scaleOption,
  },
  needs: () => 'losses',
  checkOptions(options, { tasks }) {
    const problem = metricProblem(readMetric(options), tasks);
    return problem === undefined ? [] : [{ path: ['strategy', 'metric'], message: problem }];
  },
  create(options, { tasks }) {
    const metric = readMetric(options);
    const problem = metricProblem(metric, tasks);
    if (problem !== undefined) throw new UsageError(`strategy.metric: ${problem}`);
    const total = weightTotal(options, tasks.length);
    let weights = tasks.map(() => total / tasks.length);
    return {
      name: 'accuracy',
      needs: 'losses',
      combineLosses: (losses) => weightedSum(losses, weights),
      currentWeights: () => weights,
      onEpochEnd(summary) {
        const accuracies = tasks.map((t) => summary.validation[`${t.name}/${metric}`]);
        if (accuracies.some((a) => a !== undefined && Number.isFinite(a))) weights = accuracyWeights(accuracies, total);
      },
      state: () => ({ weights }),
      restore(state) {
        const saved = (state as { weights?: unknown } | undefined)?.weights;
        if (!Array.isArray(saved) || saved.length !== tasks.length || !saved.every((w) => typeof w === 'number')) {
          throw new Error(`accuracy strategy state does not match ${tasks.length} tasks: ${JSON.stringify(state)}`);
        }
        weights = saved;
      },
    };
  },
};

function readMetric(options: Options): string {
  return stringOption(options, 'strategy.metric', 'accuracy');
}

/** Why `metric` cannot drive the weights of these tasks, or undefined when it can. */
function metricProblem(metric: string, tasks: readonly TaskConfig[]): string | undefined {
  const definition = metricRegistry.get(metric);
  if (!definition) {
    const hint = suggest(metric, [...metricRegistry.keys()]);
    return (
      `unknown metric "${metric}"${hint ? `; did you mean "${hint}"?` : ''} Known: ` +
      `${[...metricRegistry.keys()].join(', ')}.`
    );
  }
  if (!definition.higherIsBetter) {
    return `metric "${metric}" is lower-is-better; pick one where higher is better (accuracy, macro-f1, auc, r2).`;
  }
  if (!tasks.some((t) => t.metrics.includes(metric))) {
    return (
      `no task reports metric "${metric}", so every weight would stay equal; set strategy.metric to one a task ` +
      `lists (tasks report: ${[...new Set(tasks.flatMap((t) => t.metrics))].join(', ')}).`
    );
  }
  return undefined;
}

/**
 * The weights for the given per-task accuracies (`undefined` or NaN = the task does not report the metric), summing
 * to `total`. See the formula above.
 */
export function accuracyWeights(accuracies: readonly (number | undefined)[], total: number): number[] {
  const T = accuracies.length;
  const known = accuracies.map((a) => a !== undefined && Number.isFinite(a));
  const errors = accuracies.map((a, i) => (known[i] ? 1 - Math.min(1, Math.max(0, a as number)) : 0));
  const count = known.filter(Boolean).length;
  const errorSum = errors.reduce((s, e) => s + e, 0);
  return accuracies.map((_, i) => {
    if (!known[i] || errorSum <= 0) return total / T;
    return (total / T) * count * (errors[i]! / errorSum);
  });
}
