/**
 * GradDrop — Z. Chen, J. Ngiam, Y. Huang, T. Luong, H. Kretzschmar, Y. Chai, D. Anguelov, "Just Pick a Sign:
 * Optimizing Deep Multitask Models with Gradient Sign Dropout", NeurIPS 2020.
 *
 * Per coordinate k:
 *   P_k = ½ (1 + Σ_i g_ik / Σ_i |g_ik|)                        (sign purity, in [0, 1])
 *   U_k ~ Uniform[0, 1)
 *   M_ik = 1[P_k > U_k]·1[g_ik > 0] + 1[P_k < U_k]·1[g_ik < 0]
 *   combined_k = Σ_i (ℓ + (1 − ℓ) M_ik) g_ik                   (ℓ = `leak`)
 * so each coordinate keeps only one sign, positive with probability P_k: conflicting signs are resolved in
 * proportion to how much gradient mass agrees with each. ℓ = 1 gives the plain sum.
 *
 * The paper applies this to gradients with respect to a shared activation, after its batch-marginalisation step
 * (multiplying by sign of the activation and summing over the batch); preparing those vectors is the trainer's
 * job — here P is computed on whatever per-task vectors come in. The mask is per coordinate, so there are no
 * per-task weights. One uniform draw per coordinate from a (seed, step) generator; state is the step counter.
 *
 * Gradient target (`grad_target: auto`): representation. The other target: allowed when asked for explicitly, with a
 * note. Why: Chen et al. apply GradDrop at a shared activation layer (§3), i.e. on the representation; the paper
 * defines no variant on the parameters, which runs only when a config asks for grad_target: params (or, on auto, where
 * the architecture has no shared representation).
 */
import { numberOption } from '../../util/options.js';
import { checkGrads, readStep, stepRng } from './support.js';
import type { CombinerDefinition } from './types.js';

export const graddrop: CombinerDefinition = {
  name: 'graddrop',
  paper:
    'Z. Chen et al., "Just Pick a Sign: Optimizing Deep Multitask Models with Gradient Sign Dropout", NeurIPS 2020',
  gradTarget: {
    paper: 'representation',
    other: 'not-in-paper',
    reason:
      'Chen et al. apply GradDrop at a shared activation layer (§3), i.e. on the representation; the paper defines ' +
      'no variant on the parameters, which runs only when a config asks for grad_target: params (or, on auto, where' +
      ' the architecture has no shared representation).',
  },
  optionsSchema: {
    type: 'object',
    properties: { leak: { type: 'number', minimum: 0, maximum: 1, default: 0 } },
    additionalProperties: false,
  },
  create(options, seed, taskCount) {
    const leak = numberOption(options, 'strategy.leak', 0);
    let step = 0;
    return {
      combine({ grads }) {
        const p = checkGrads('graddrop', grads, taskCount);
        const rng = stepRng(seed, 'graddrop', step);
        step += 1;
        const combined = new Float32Array(p);
        for (let k = 0; k < p; k++) {
          // Drawn for every coordinate, even all-zero ones, so a coordinate's draw never depends on the others.
          const u = rng.next();
          let signed = 0;
          let absolute = 0;
          for (let i = 0; i < taskCount; i++) {
            const v = grads[i]![k]!;
            signed += v;
            absolute += Math.abs(v);
          }
          if (absolute === 0) continue;
          const purity = 0.5 * (1 + signed / absolute);
          const keepPositive = purity > u;
          const keepNegative = purity < u;
          let out = 0;
          for (let i = 0; i < taskCount; i++) {
            const v = grads[i]![k]!;
            const kept = (v > 0 && keepPositive) || (v < 0 && keepNegative);
            out += kept ? v : leak * v;
          }
          combined[k] = out;
        }
        return { combined };
      },
      state: () => ({ step }),
      restore(state) {
        step = readStep('graddrop', state);
      },
    };
  },
};
