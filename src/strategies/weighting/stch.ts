import { tf } from '../../tf.js';
import type { LossWeightingDefinition } from '../types.js';
import { integerOption, numberOption } from '../../util/options.js';
import { LastWeights, stopGradient } from './common.js';

/** ε inside the logarithms (the reference's 1e-20). */
const LOG_EPSILON = 1e-20;

/**
 * Smooth Tchebycheff scalarisation (STCH): X. Lin, X. Zhang, Z. Yang, F. Liu, Z. Wang, Q. Zhang, "Smooth Tchebycheff
 * Scalarization for Multi-Objective Optimization", ICML 2024, as in the authors' multi-task code
 * (github.com/Xi-L/STCH, STCH_MTL/LibMTL/weighting/STCH.py, commit a510c1e) and LibMTL's identical copy
 * (weighting/STCH.py, commit 4336804).
 *
 * The paper's scalarisation of objectives f_i with reference point z* and preference λ:
 *     g_μ(x) = μ · log Σ_i exp(λ_i (f_i(x) − z*_i) / μ),
 * a smooth upper bound of the Tchebycheff max_i λ_i (f_i − z*_i) that tends to it as μ → 0. The multi-task code
 * uses f_i = log L_i, z*_i = log n_i with n the nadir vector (each task's mean loss over one epoch), λ_i = 1, and
 * multiplies by T:
 *     L = T · μ · log Σ_i exp(log(L_i / n_i + ε) / μ),   ε = 1e-20,
 * (computed with the largest term, a constant, taken out of the exponentials), so task i's gradient gets the
 * weight w_i = T · softmax_i(log(L_i/n_i + ε) / μ) / (L_i + ε n_i): the weights reported. Before that, in epochs
 * 0 … W−1 (W = `warmup_epochs`) and in epoch W, it trains on Σ_i log(L_i + ε) (weights 1/(L_i + ε)) while epoch W
 * records n = the mean of its steps' losses; STCH proper starts at epoch W+1. Defaults μ = 1, W = 4 (the
 * reference's `STCH_mu`, `STCH_warmup_epoch`). Should a run reach epoch W+1 without a recorded nadir (a checkpoint
 * of an older format), that step's losses are taken as n.
 * State: the nadir sums and count, and n once fixed.
 */
export const stch: LossWeightingDefinition = {
  name: 'stch',
  family: 'loss-weighting',
  paper:
    'Lin, Zhang, Yang, Liu, Wang & Zhang 2024, "Smooth Tchebycheff Scalarization for Multi-Objective Optimization"',
  cost: '1',
  optionsSchema: {
    mu: {
      type: 'number',
      exclusiveMinimum: 0,
      default: 1,
      description: 'Smoothing μ: smaller = closer to the Tchebycheff max over tasks (LibMTL STCH_mu).',
    },
    warmup_epochs: {
      type: 'integer',
      minimum: 0,
      default: 4,
      description:
        'Epochs of log-loss training before the nadir epoch W (which records each task mean loss); STCH from ' +
        'epoch W+1 (LibMTL STCH_warmup_epoch).',
    },
  },
  needs: () => 'losses',
  notes(options, _model, { epochs }) {
    const warmup = integerOption(options, 'strategy.warmup_epochs', 4, { minimum: 0 });
    if (epochs > warmup + 1) return [];
    // Allowed (a short trial run), but its numbers are those of the warm-up's log-loss weighting, not of STCH.
    return [
      {
        path: ['strategy', 'warmup_epochs'],
        message:
          `with training.epochs ${epochs} every epoch is warm-up (Σ log L_i; epoch ${warmup + 1} records the ` +
          `nadir), so STCH itself never trains: it starts at epoch ${warmup + 2}. Lower warmup_epochs or train ` +
          'longer for STCH.',
      },
    ];
  },
  create(options, { tasks }) {
    const T = tasks.length;
    const mu = numberOption(options, 'strategy.mu', 1, { exclusiveMinimum: 0 });
    const warmup = integerOption(options, 'strategy.warmup_epochs', 4, { minimum: 0 });
    let sum: tf.Tensor | undefined;
    let count = 0;
    let nadir: tf.Tensor | undefined;
    const last = new LastWeights(tasks.map(() => 1));

    /** Σ log(L_i + ε), recording the losses for the nadir in epoch W. */
    const warmupLoss = (stacked: tf.Tensor1D, detached: tf.Tensor1D, record: boolean): tf.Scalar => {
      if (record) {
        const previous = sum;
        sum = tf.keep(previous ? tf.add(previous, detached) : tf.clone(detached));
        previous?.dispose();
        count += 1;
      }
      last.set(tf.div(1, tf.add(detached, LOG_EPSILON)));
      return tf.sum(tf.log(tf.add(stacked, LOG_EPSILON)));
    };

    const stchLoss = (stacked: tf.Tensor1D, detached: tf.Tensor1D): tf.Scalar => {
      const reference = nadir ?? tf.keep(sum && count > 0 ? tf.div(sum, count) : tf.clone(detached));
      if (!nadir) {
        nadir = reference;
        sum?.dispose();
        sum = undefined;
      }
      const logRatio = tf.log(tf.add(tf.div(stacked, reference), LOG_EPSILON));
      const largest = tf.max(stopGradient(logRatio));
      const shifted = tf.div(tf.sub(logRatio, largest), mu);
      const shares = tf.softmax(stopGradient(shifted));
      last.set(tf.div(tf.mul(shares, T), tf.add(detached, tf.mul(reference, LOG_EPSILON))));
      return tf.mul(tf.log(tf.sum(tf.exp(shifted))), mu * T);
    };

    const read = (t: tf.Tensor | undefined): number[] | null => (t ? Array.from(t.dataSync()) : null);

    return {
      name: 'stch',
      needs: 'losses',
      combineLosses: (losses, { epoch }) =>
        tf.tidy(() => {
          const stacked = tf.stack(losses) as tf.Tensor1D;
          const detached = stopGradient(stacked);
          if (epoch <= warmup) return warmupLoss(stacked, detached, epoch === warmup);
          return stchLoss(stacked, detached);
        }),
      currentWeights: () => last.read(),
      state: () => ({ sum: read(sum), count, nadir: read(nadir) }),
      restore(state) {
        const s = state as { sum?: unknown; count?: unknown; nadir?: unknown } | undefined;
        const isVectorOrNull = (x: unknown): x is number[] | null =>
          x === null || (Array.isArray(x) && x.length === T && x.every((n) => typeof n === 'number'));
        if (
          !s ||
          !isVectorOrNull(s.sum) ||
          !isVectorOrNull(s.nadir) ||
          typeof s.count !== 'number' ||
          !Number.isInteger(s.count) ||
          s.count < 0
        ) {
          throw new Error(`stch strategy state does not match ${T} tasks: ${JSON.stringify(state)}`);
        }
        tf.dispose([sum, nadir].filter((t): t is tf.Tensor => t !== undefined));
        sum = s.sum ? tf.keep(tf.tensor1d(s.sum)) : undefined;
        nadir = s.nadir ? tf.keep(tf.tensor1d(s.nadir)) : undefined;
        count = s.count;
      },
      dispose() {
        tf.dispose([sum, nadir].filter((t): t is tf.Tensor => t !== undefined));
        sum = undefined;
        nadir = undefined;
        last.dispose();
      },
    };
  },
};
