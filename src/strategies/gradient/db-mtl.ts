/**
 * DB-MTL — B. Lin, W. Jiang, F. Ye, Y. Zhang, P. Chen, Y.-C. Chen, S. Liu, I. W. Tsang, J. T. Kwok, "Dual-Balancing
 * for Multi-Task Learning", arXiv:2308.12029, 2023 (Neural Networks, 2025), as in LibMTL's weighting/DB_MTL.py (the
 * first author's library; commit 4336804847eaa5e0b924b743d76beec7ac3fdc97 read).
 *
 * Two balancings. Loss scale: each task trains on log L_i, whose gradient is ∇log(L_i + ε) = g_i / (L_i + ε)
 * (ε = 1e-8, the reference's). Gradient magnitude: an EMA of those gradients, started at 0, at step k = 1, 2, …
 *   β_k = β / k^σ
 *   ĝ_i ← β_k ĝ_i + (1 − β_k) g_i / (L_i + ε)
 * and every task's EMA scaled up to the largest norm:
 *   α_i = max_j ‖ĝ_j‖ / (‖ĝ_i‖ + 1e-8),   d = Σ_i α_i ĝ_i.
 * Defaults β = 0.9, σ = 0 (the reference's `DB_beta`, `DB_beta_sigma`). Task-specific parameters get the gradient of
 * their log loss, ∇L_i / (L_i + ε) (`taskScales`), as the reference's backward of log L_i gives them. The update mixes
 * past steps' gradients, so it has no per-task weights on this step's gradients: none are reported.
 * State: the step counter and the T EMA vectors (P numbers each), so a resumed run continues exactly.
 *
 * Gradient target (`grad_target: auto`): params. The other target: refused. Why: the EMA runs across steps, and a
 * representation gradient's coordinates are the current batch's examples, which change every step (LibMTL refuses
 * representation gradients for DB-MTL).
 */
import { UsageError } from '../../errors.js';
import { numberOption } from '../../util/options.js';
import { checkLength, readCount, readVectors, stateRecord } from './saved-state.js';
import { checkGrads } from './support.js';
import type { CombinerDefinition } from './types.js';

/** ε added to each loss before its logarithm (the reference's). */
const LOG_EPSILON = 1e-8;

/**
 * One DB-MTL step: updates the EMAs `ema` in place from the gradients and losses (step k, 1-based) and returns the
 * update d = Σ α_i ĝ_i.
 */
export function dbMtlStep(
  grads: readonly Float32Array[],
  losses: readonly number[],
  ema: Float64Array[],
  k: number,
  beta: number,
  betaSigma: number,
): Float32Array {
  const p = grads[0]?.length ?? 0;
  const betaK = beta / k ** betaSigma;
  const norms = ema.map((buffer, i) => {
    const grad = grads[i]!;
    const scale = 1 / (losses[i]! + LOG_EPSILON);
    let normSq = 0;
    for (let c = 0; c < p; c++) {
      const logGrad = grad[c]! * scale;
      const next = logGrad + betaK * (buffer[c]! - logGrad);
      buffer[c] = next;
      normSq += next * next;
    }
    return Math.sqrt(normSq);
  });
  const largest = Math.max(...norms);
  const alpha = norms.map((norm) => largest / (norm + 1e-8));
  const combined = new Float32Array(p);
  for (let c = 0; c < p; c++) {
    let sum = 0;
    for (const [i, buffer] of ema.entries()) sum += alpha[i]! * buffer[c]!;
    combined[c] = sum;
  }
  return combined;
}

export const dbMtl: CombinerDefinition = {
  name: 'db-mtl',
  paper: 'B. Lin et al., "Dual-Balancing for Multi-Task Learning", arXiv:2308.12029, 2023',
  gradTarget: {
    paper: 'params',
    other: 'refused',
    reason:
      "its EMA of the task gradients runs across steps, and a representation gradient's coordinates are the " +
      "current batch's examples, which change every step (LibMTL refuses it too).",
  },
  optionsSchema: {
    type: 'object',
    properties: {
      beta: {
        type: 'number',
        minimum: 0,
        exclusiveMaximum: 1,
        default: 0.9,
        description: 'EMA factor β of the log-loss gradients (LibMTL DB_beta).',
      },
      beta_sigma: {
        type: 'number',
        minimum: 0,
        default: 0,
        description: 'Decay σ of the EMA factor: β_k = β / k^σ at step k (LibMTL DB_beta_sigma).',
      },
    },
    additionalProperties: false,
  },
  create(options, _seed, taskCount) {
    const beta = numberOption(options, 'strategy.beta', 0.9, { minimum: 0, exclusiveMaximum: 1 });
    const betaSigma = numberOption(options, 'strategy.beta_sigma', 0, { minimum: 0 });
    let step = 0;
    let ema: Float64Array[] | null = null;
    return {
      combine({ grads, losses }) {
        const p = checkGrads('db-mtl', grads, taskCount);
        if (!losses || losses.length !== taskCount) {
          throw new UsageError('db-mtl needs the task losses (it balances the gradients of log L_i): pass `losses`.');
        }
        if (ema) checkLength('db-mtl', ema, p);
        const buffers = ema ?? grads.map(() => new Float64Array(p));
        ema = buffers;
        step += 1;
        const combined = dbMtlStep(grads, losses, buffers, step, beta, betaSigma);
        return { combined, taskScales: losses.map((loss) => 1 / (loss + LOG_EPSILON)) };
      },
      state: () => ({ step, ema: ema ? ema.map((buffer) => Array.from(buffer)) : null }),
      restore(state) {
        const saved = stateRecord('db-mtl', state);
        step = saved ? readCount('db-mtl', saved['step']) : 0;
        ema = saved ? readVectors('db-mtl', saved['ema'], taskCount) : null;
      },
    };
  },
};
