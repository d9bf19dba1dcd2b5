import type { TaskConfig } from '../../config/types.js';
import { UsageError } from '../../errors.js';
import { metricRegistry } from '../../metrics/registry.js';
import type { tf } from '../../tf.js';
import { enumOption, numberOption, stringOption, type Options } from '../../util/options.js';
import { suggest } from '../../util/suggest.js';
import type { LossWeightingDefinition } from '../types.js';
import { scaleOption, weightedSum, weightTotal } from './common.js';

const sources = ['validation', 'batch'] as const;

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
 * Where acc_i comes from (`source`; seed 003 §4.2.2 does not say, so the default stays the validation split):
 *
 *   validation (default): the latest validation value of `<task>/<metric>`. Before the first validation, and in runs
 *     without a validation split, all weights are S / T. Weights computed after epoch e are used throughout epoch
 *     e + 1.
 *   batch: the running accuracy on the training batches, an exponential moving average with decay β (`decay`,
 *     default 0.9, about the last 10 batches) of each batch's metric, bias-corrected as Adam's moments are:
 *         m_i ← β·m_i + (1 − β)·acc_i(batch),   k_i ← k_i + 1,   acc_i = m_i / (1 − β^{k_i}),
 *     so after one batch acc_i is that batch's value, and β = 0 uses the current batch alone. Each batch's metric is
 *     measured before the step trains on it (inference mode, the step's starting parameters; src/train/
 *     batch-metrics.ts) and the weights of that step already include it. An EMA rather than the mean over the
 *     epoch so far: it does not restart from one batch at each epoch's start and it follows the model as it learns.
 *     A batch where a task's metric is not finite (AUC on a batch of one class) leaves that task's average as it is.
 *     Costs one extra inference pass over each batch.
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
    source: {
      enum: [...sources],
      default: 'validation',
      description:
        'Where acc_i comes from: the latest validation metric (validation) or a running average of the metric on ' +
        'the training batches (batch).',
    },
    decay: {
      type: 'number',
      minimum: 0,
      exclusiveMaximum: 1,
      default: 0.9,
      description: 'source: batch: decay β of the moving average of the batch metric (0: the current batch only).',
    },
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
    const source = enumOption(options, 'strategy.source', sources, 'validation');
    const decay = numberOption(options, 'strategy.decay', 0.9, { minimum: 0, exclusiveMaximum: 1 });
    let weights = tasks.map(() => total / tasks.length);
    const running = new RunningMean(tasks.length, decay);
    const base = {
      name: 'accuracy',
      needs: 'losses' as const,
      combineLosses: (losses: tf.Scalar[]) => weightedSum(losses, weights),
      currentWeights: () => weights,
      restore(state: unknown) {
        const saved = state as { weights?: unknown; running?: unknown } | undefined;
        if (!isVector(saved?.weights, tasks.length)) {
          throw new Error(`accuracy strategy state does not match ${tasks.length} tasks: ${JSON.stringify(state)}`);
        }
        weights = [...saved.weights];
        if (source === 'batch') running.restore(saved?.running);
      },
    };
    if (source === 'batch') {
      return {
        ...base,
        onBatchMetrics(summary) {
          running.add(tasks.map((t) => summary.metrics[`${t.name}/${metric}`]));
          const accuracies = running.values();
          if (accuracies.some((a) => a !== undefined)) weights = accuracyWeights(accuracies, total);
        },
        state: () => ({ weights, running: running.state() }),
      };
    }
    return {
      ...base,
      onEpochEnd(summary) {
        const accuracies = tasks.map((t) => summary.validation[`${t.name}/${metric}`]);
        if (accuracies.some((a) => a !== undefined && Number.isFinite(a))) weights = accuracyWeights(accuracies, total);
      },
      state: () => ({ weights }),
    };
  },
};

function isVector(value: unknown, length: number): value is number[] {
  return Array.isArray(value) && value.length === length && value.every((v) => typeof v === 'number');
}

/**
 * Bias-corrected exponential moving averages, one per task: m ← β·m + (1 − β)·x, k ← k + 1, value m / (1 − β^k);
 * undefined until a task has had a finite value.
 */
export class RunningMean {
  private means: number[];
  private counts: number[];

  constructor(
    size: number,
    private readonly decay: number,
  ) {
    this.means = new Array<number>(size).fill(0);
    this.counts = new Array<number>(size).fill(0);
  }

  add(values: readonly (number | undefined)[]): void {
    values.forEach((value, i) => {
      if (value === undefined || !Number.isFinite(value)) return;
      this.means[i] = this.decay * this.means[i]! + (1 - this.decay) * value;
      this.counts[i]! += 1;
    });
  }

  values(): (number | undefined)[] {
    return this.means.map((m, i) => (this.counts[i]! > 0 ? m / (1 - this.decay ** this.counts[i]!) : undefined));
  }

  state(): { means: number[]; counts: number[] } {
    return { means: [...this.means], counts: [...this.counts] };
  }

  restore(state: unknown): void {
    const saved = state as { means?: unknown; counts?: unknown } | undefined;
    if (!isVector(saved?.means, this.means.length) || !isVector(saved?.counts, this.counts.length)) {
      throw new Error(`accuracy strategy running-mean state does not match: ${JSON.stringify(state)}`);
    }
    this.means = [...saved.means];
    this.counts = [...saved.counts];
  }
}

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
