import type { LossWeightingDefinition } from '../types.js';
import { numberOption } from '../../util/options.js';
import { weightedSum } from './common.js';

/**
 * Dynamic Weight Average (DWA): Liu, Johns & Davison, "End-to-End Multi-Task Learning with Attention" (MTAN),
 * CVPR 2019, eq. 7. With L_i(e) the mean training loss of task i over epoch e (what the trainer reports at the end of
 * each epoch) and temperature τ (`temperature`, default 2):
 *
 *     r_i(t−1) = L_i(t−1) / L_i(t−2),
 *     w_i(t)   = T · exp(r_i(t−1) / τ) / Σ_j exp(r_j(t−1) / τ),      L = Σ_i w_i(t) · L_i,
 *
 * and w_i(t) = 1 for the first two epochs (t = 0, 1), as in the paper and LibMTL. The weights are fixed for a whole
 * epoch; they sum to T. A ratio that is not finite (L_i(t−2) = 0) is taken as 1.
 */
export const dwa: LossWeightingDefinition = {
  name: 'dwa',
  family: 'loss-weighting',
  paper: 'Liu, Johns & Davison 2019, "End-to-End Multi-Task Learning with Attention" (CVPR), DWA',
  cost: '1',
  optionsSchema: {
    temperature: {
      type: 'number',
      exclusiveMinimum: 0,
      default: 2,
      description: 'Softmax temperature τ; larger = weights closer to equal.',
    },
  },
  needs: () => 'losses',
  create(options, { tasks }) {
    const temperature = numberOption(options, 'strategy.temperature', 2);
    if (!(temperature > 0)) throw new Error(`dwa: temperature must be > 0, got ${temperature}`);
    let history: number[][] = [];
    let weights = tasks.map(() => 1);
    return {
      name: 'dwa',
      needs: 'losses',
      combineLosses: (losses) => weightedSum(losses, weights),
      currentWeights: () => weights,
      onEpochEnd(summary) {
        history = [...history, [...summary.trainLosses]].slice(-2);
        if (history.length === 2) weights = dwaWeights(history[0]!, history[1]!, temperature);
      },
      state: () => ({ history, weights }),
      restore(state) {
        const s = state as { history?: unknown; weights?: unknown } | undefined;
        const isVector = (v: unknown): v is number[] =>
          Array.isArray(v) && v.length === tasks.length && v.every((x) => typeof x === 'number');
        if (
          !s ||
          !Array.isArray(s.history) ||
          s.history.length > 2 ||
          !s.history.every(isVector) ||
          !isVector(s.weights)
        ) {
          throw new Error(`dwa strategy state does not match ${tasks.length} tasks: ${JSON.stringify(state)}`);
        }
        history = s.history.map((h) => [...h]);
        weights = [...s.weights];
      },
    };
  },
};

/** DWA weights from the epoch losses two epochs back (`older`) and one epoch back (`newer`). */
export function dwaWeights(older: readonly number[], newer: readonly number[], temperature: number): number[] {
  const T = newer.length;
  const ratios = newer.map((l, i) => {
    const r = l / older[i]!;
    return Number.isFinite(r) ? r : 1;
  });
  const scaled = ratios.map((r) => r / temperature);
  const max = Math.max(...scaled);
  const exps = scaled.map((x) => Math.exp(x - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => (T * e) / sum);
}
