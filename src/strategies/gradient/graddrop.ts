/**
 * GradDrop — Z. Chen, J. Ngiam, Y. Huang, T. Luong, H. Kretzschmar, Y. Chai, D. Anguelov, "Just Pick a Sign:
 * Optimizing Deep Multitask Models with Gradient Sign Dropout", NeurIPS 2020, Algorithm 1.
 *
 * With A the shared activation (B rows × U units) and ∇_i = ∂L_i/∂A (same shape), per unit u:
 *   G_iu = Σ_b sign(A_bu) ∇_i,bu                                (batch marginalisation, one value per unit)
 *   P_u  = ½ (1 + Σ_i G_iu / Σ_i |G_iu|)                        (sign purity, in [0, 1])
 *   U_u  ~ Uniform[0, 1)                                        (one draw per unit for the whole batch)
 *   M_iu = 1[P_u > U_u]·1[G_iu > 0] + 1[P_u < U_u]·1[G_iu < 0]
 *   combined_bu = Σ_i (ℓ_i + (1 − ℓ_i) M_iu) ∇_i,bu             (ℓ = `leak`, one number or one per task)
 * so each unit keeps the tasks of one sign only, positive with probability P_u: conflicting signs are resolved in
 * proportion to how much gradient mass agrees with each, and the mask is the same for every example of the batch.
 * ℓ = 1 gives the plain sum. A unit with Σ_i |G_iu| = 0 has no sign to keep: M = 0 there (only the leak passes),
 * as LibMTL's P = ½ with its 1e-7 in the denominator gives.
 *
 * The trainer passes A and B (`activations`, `rows` of the combine input). Without them (a `combineGradients` call
 * that gives no activations) each input vector is taken as G_i itself: one row, sign(A) = +1, so purity and mask
 * are per coordinate. The mask is per unit, so there are no per-task weights. One uniform draw per unit from a
 * (seed, step) generator; state is the step counter.
 *
 * Gradient target (`grad_target: auto`): representation, and only it. The other target: refused. Why: the algorithm
 * reads the shared activation itself (the sign of A and the batch rows it sums over), which parameter gradients do not
 * have; LibMTL refuses parameter gradients for GradDrop too. A run on an architecture without a shared
 * representation is refused at validation.
 */
import { UsageError } from '../../errors.js';
import { OptionError, type Options } from '../../util/options.js';
import { checkGrads, readStep, stepRng } from './support.js';
import type { CombinerDefinition, CombineInput } from './types.js';

/** ℓ_i per task from `leak`: one number for every task, or a list with one per task, each in [0, 1]. */
function readLeaks(options: Options, taskCount: number): number[] {
  const value = options['leak'] ?? 0;
  const inRange = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1;
  if (inRange(value)) return new Array<number>(taskCount).fill(value);
  if (Array.isArray(value) && value.length === taskCount && value.every(inRange)) return [...value];
  throw new OptionError(
    'strategy.leak',
    `a number in [0, 1] or a list of ${taskCount} such numbers (one per task)`,
    value,
  );
}

/** The batch layout of one step: B rows of U units, and sign(A) per coordinate (+1 everywhere without activations). */
function batchLayout(input: CombineInput, length: number): { rows: number; units: number; sign: Float32Array } {
  const { activations, rows } = input;
  if (activations === undefined && rows === undefined) {
    return { rows: 1, units: length, sign: new Float32Array(length).fill(1) };
  }
  if (activations === undefined || activations.length !== length) {
    throw new UsageError(
      `graddrop: activations must have the length of each task gradient (${length}), got ` +
        `${activations === undefined ? 'none' : activations.length}; give both activations and rows, or neither.`,
    );
  }
  if (rows === undefined || !Number.isInteger(rows) || rows < 1 || length % rows !== 0) {
    throw new UsageError(
      `graddrop: rows must be a whole number ≥ 1 that divides the gradient length ${length} (rows × units), ` +
        `got ${String(rows)}.`,
    );
  }
  return { rows, units: length / rows, sign: activations.map(Math.sign) };
}

export const graddrop: CombinerDefinition = {
  name: 'graddrop',
  paper:
    'Z. Chen et al., "Just Pick a Sign: Optimizing Deep Multitask Models with Gradient Sign Dropout", NeurIPS 2020',
  gradTarget: {
    paper: 'representation',
    other: 'refused',
    reason:
      'Chen et al. define GradDrop on a shared activation (Algorithm 1): it reads the sign of the activation and ' +
      'sums over the batch rows, which parameter gradients do not have (LibMTL refuses them too).',
  },
  optionsSchema: {
    type: 'object',
    properties: {
      leak: {
        type: ['number', 'array'],
        minimum: 0,
        maximum: 1,
        items: { type: 'number', minimum: 0, maximum: 1 },
        default: 0,
        description: 'ℓ: the share of each task gradient that passes whatever the mask; one number or one per task.',
      },
    },
    additionalProperties: false,
  },
  checkOptions: (options, taskCount) => void readLeaks(options, taskCount),
  create(options, seed, taskCount) {
    const leaks = readLeaks(options, taskCount);
    let step = 0;
    return {
      combine(input) {
        const { grads } = input;
        const length = checkGrads('graddrop', grads, taskCount);
        const { rows, units, sign } = batchLayout(input, length);
        const rng = stepRng(seed, 'graddrop', step);
        step += 1;
        const combined = new Float32Array(length);
        const marginal = new Float64Array(taskCount);
        const scale = new Float64Array(taskCount);
        for (let u = 0; u < units; u++) {
          // Drawn for every unit, even one without gradient, so a unit's draw never depends on the others.
          const draw = rng.next();
          let signed = 0;
          let absolute = 0;
          for (let i = 0; i < taskCount; i++) {
            const grad = grads[i]!;
            let sum = 0;
            for (let b = 0, k = u; b < rows; b++, k += units) sum += sign[k]! * grad[k]!;
            marginal[i] = sum;
            signed += sum;
            absolute += Math.abs(sum);
          }
          const purity = absolute > 0 ? 0.5 * (1 + signed / absolute) : 0.5;
          for (let i = 0; i < taskCount; i++) {
            const g = absolute > 0 ? marginal[i]! : 0;
            const kept = (purity > draw && g > 0) || (purity < draw && g < 0);
            scale[i] = kept ? 1 : leaks[i]!;
          }
          for (let b = 0, k = u; b < rows; b++, k += units) {
            let out = 0;
            for (let i = 0; i < taskCount; i++) out += scale[i]! * grads[i]![k]!;
            combined[k] = out;
          }
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
