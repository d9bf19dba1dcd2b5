/**
 * MoCo — H. D. Fernando, H. Shen, M. Liu, S. Chaudhury, K. Murugesan, T. Chen, "Mitigating Gradient Bias in
 * Multi-objective Learning: A Provably Convergent Approach", ICLR 2023. Reference: LibMTL, LibMTL/weighting/MoCo.py
 * (read at commit 43368048; "based on the authors' sharing code"), whose defaults these are.
 *
 * MGDA on stochastic gradients is biased; MoCo tracks each task's gradient with a moving estimate y_i and lets the
 * task weights λ follow MGDA's objective by one projected-gradient step per iteration. At step k = 1, 2, …:
 *   ĝ_i = g_i / (‖g_i‖ + 1e-8) · L_i                     (normalize: loss, LibMTL's; none: ĝ_i = g_i, the paper's)
 *   y_i ← y_i − β_k (y_i − ĝ_i),            β_k = beta / k^beta_sigma
 *   λ  ← P(λ − γ_k (YYᵀ + ρI) λ),           γ_k = gamma / k^gamma_sigma   (Y: the T×P matrix of the y_i)
 *   d  = Σ_i λ_i y_i
 * with y = 0 and λ = 1/T before the first step. P is a softmax in LibMTL (lambda_update: softmax, the default) and
 * the Euclidean projection onto the simplex in the paper's Algorithm 1 (lambda_update: simplex). The paper's
 * projection of y_i onto a ball of bounded gradients is left out, as in LibMTL.
 * d mixes past gradients through the y_i, so no per-task weights on this step's gradients are reported.
 * State (checkpoints): the step counter, λ and the y_i (base64 of little-endian float64), so a resumed run
 * continues exactly.
 *
 * Gradient target (`grad_target: auto`): params. The other target: refused. Why: Fernando et al. track the gradient
 * of the shared parameters from step to step; on the representation the coordinates are batch rows, other examples
 * every step (and fewer in the last partial batch), so a running estimate of them means nothing (LibMTL refuses it
 * too).
 */
import { UsageError } from '../../errors.js';
import { projectOntoSimplex } from '../../numerics/index.js';
import { enumOption, numberOption } from '../../util/options.js';
import { checkGrads, decodeFloat64, encodeFloat64, readStep } from './support.js';
import type { CombinerDefinition } from './types.js';

const normalizations = ['loss', 'none'] as const;
const lambdaUpdates = ['softmax', 'simplex'] as const;

export interface MocoSettings {
  beta: number;
  betaSigma: number;
  gamma: number;
  gammaSigma: number;
  rho: number;
  normalize: (typeof normalizations)[number];
  lambdaUpdate: (typeof lambdaUpdates)[number];
}

/** The tracked state between steps. */
export interface MocoTrack {
  step: number;
  lambda: number[];
  /** The y_i, or null before the first step. */
  tracked: Float64Array[] | null;
}

function softmax(x: readonly number[]): number[] {
  const top = Math.max(...x);
  const e = x.map((v) => Math.exp(v - top));
  const total = e.reduce((s, v) => s + v, 0);
  return e.map((v) => v / total);
}

/** The factor of each ĝ_i = factor_i · g_i: L_i / (‖g_i‖ + 1e-8) for `normalize: loss`, else 1. */
export function mocoScales(grads: readonly Float32Array[], losses: readonly number[], normalize: string): number[] {
  if (normalize !== 'loss') return grads.map(() => 1);
  return grads.map((g, i) => losses[i]! / (Math.sqrt(g.reduce((s, v) => s + v * v, 0)) + 1e-8));
}

/** One MoCo step on `track` (updated in place), with ĝ_i = scales_i · g_i; returns d as float64. */
export function mocoStep(
  track: MocoTrack,
  grads: readonly Float32Array[],
  scales: readonly number[],
  settings: MocoSettings,
): Float64Array {
  const t = grads.length;
  const p = grads[0]?.length ?? 0;
  track.step += 1;
  const k = track.step;
  const tracked = track.tracked ?? grads.map(() => new Float64Array(p));
  if (tracked.some((y) => y.length !== p)) {
    throw new Error(`moco: the task gradients changed length (${tracked[0]?.length} → ${p}) between steps.`);
  }
  const betaK = settings.beta / k ** settings.betaSigma;
  grads.forEach((g, i) => {
    const factor = scales[i]!;
    const y = tracked[i]!;
    for (let c = 0; c < p; c++) y[c] = y[c]! - betaK * (y[c]! - factor * g[c]!);
  });
  const yy = tracked.map((a) => tracked.map((b) => a.reduce((s, v, c) => s + v * b[c]!, 0)));
  const gammaK = settings.gamma / k ** settings.gammaSigma;
  const moved = track.lambda.map(
    (l, i) => l - gammaK * yy[i]!.reduce((s, v, j) => s + (v + (i === j ? settings.rho : 0)) * track.lambda[j]!, 0),
  );
  track.lambda = settings.lambdaUpdate === 'softmax' ? softmax(moved) : projectOntoSimplex(moved);
  track.tracked = tracked;
  const d = new Float64Array(p);
  for (let i = 0; i < t; i++) {
    const y = tracked[i]!;
    const l = track.lambda[i]!;
    for (let c = 0; c < p; c++) d[c] = d[c]! + l * y[c]!;
  }
  return d;
}

function badState(): UsageError {
  return new UsageError('Checkpoint state for gradient method "moco" does not match this run\'s configuration.');
}

export const moco: CombinerDefinition = {
  name: 'moco',
  paper:
    'H. D. Fernando et al., "Mitigating Gradient Bias in Multi-objective Learning: A Provably Convergent ' +
    'Approach", ICLR 2023',
  gradTarget: {
    paper: 'params',
    other: 'refused',
    reason:
      'Fernando et al. track the gradient of the shared parameters from step to step; on the representation the ' +
      'coordinates are batch rows, other examples every step, so a running estimate of them means nothing (LibMTL ' +
      'refuses it too).',
  },
  optionsSchema: {
    type: 'object',
    properties: {
      beta: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: 0.5, description: 'Step of the y_i.' },
      beta_sigma: { type: 'number', minimum: 0, default: 0.5, description: 'Decay: β_k = beta / k^beta_sigma.' },
      gamma: { type: 'number', exclusiveMinimum: 0, default: 0.1, description: 'Step of λ.' },
      gamma_sigma: { type: 'number', minimum: 0, default: 0.5, description: 'Decay: γ_k = gamma / k^gamma_sigma.' },
      rho: { type: 'number', minimum: 0, default: 0, description: 'ℓ2 regularisation of the λ step.' },
      normalize: {
        enum: [...normalizations],
        default: 'loss',
        description: "loss: track g_i / ‖g_i‖ · L_i (LibMTL); none: track g_i (the paper's Algorithm 1).",
      },
      lambda_update: {
        enum: [...lambdaUpdates],
        default: 'softmax',
        description: "softmax (LibMTL) or simplex (Euclidean projection, the paper's Algorithm 1).",
      },
    },
    additionalProperties: false,
  },
  create(options, _seed, taskCount) {
    const settings: MocoSettings = {
      beta: numberOption(options, 'strategy.beta', 0.5, { exclusiveMinimum: 0, maximum: 1 }),
      betaSigma: numberOption(options, 'strategy.beta_sigma', 0.5, { minimum: 0 }),
      gamma: numberOption(options, 'strategy.gamma', 0.1, { exclusiveMinimum: 0 }),
      gammaSigma: numberOption(options, 'strategy.gamma_sigma', 0.5, { minimum: 0 }),
      rho: numberOption(options, 'strategy.rho', 0, { minimum: 0 }),
      normalize: enumOption(options, 'strategy.normalize', normalizations, 'loss'),
      lambdaUpdate: enumOption(options, 'strategy.lambda_update', lambdaUpdates, 'softmax'),
    };
    const fresh = (): MocoTrack => ({
      step: 0,
      lambda: new Array<number>(taskCount).fill(1 / taskCount),
      tracked: null,
    });
    let track = fresh();
    return {
      combine({ grads, losses }) {
        checkGrads('moco', grads, taskCount);
        if (settings.normalize === 'loss' && losses?.length !== taskCount) {
          throw new UsageError(`moco with normalize: loss needs the ${taskCount} task losses.`);
        }
        const scales = mocoScales(grads, losses ?? [], settings.normalize);
        return { combined: Float32Array.from(mocoStep(track, grads, scales, settings)) };
      },
      state: () => ({
        step: track.step,
        lambda: [...track.lambda],
        dimension: track.tracked?.[0]?.length ?? 0,
        tracked: track.tracked?.map(encodeFloat64) ?? null,
      }),
      restore(state) {
        if (state === null || state === undefined) {
          track = fresh();
          return;
        }
        const step = readStep('moco', state);
        const saved = state as { lambda?: unknown; dimension?: unknown; tracked?: unknown };
        const lambda = saved.lambda;
        const okLambda = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x >= 0;
        if (!Array.isArray(lambda) || lambda.length !== taskCount || !lambda.every(okLambda)) throw badState();
        const dimension = saved.dimension;
        if (typeof dimension !== 'number' || !Number.isInteger(dimension) || dimension < 0) throw badState();
        let tracked: Float64Array[] | null = null;
        if (saved.tracked !== null) {
          if (!Array.isArray(saved.tracked) || saved.tracked.length !== taskCount) throw badState();
          tracked = saved.tracked.map((text: unknown) => decodeFloat64('moco', text, dimension));
        }
        if ((tracked === null) !== (step === 0)) throw badState();
        track = { step, lambda: [...(lambda as number[])], tracked };
      },
    };
  },
};
