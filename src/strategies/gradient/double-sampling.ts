/**
 * The `sampling` option of the methods whose paper estimates a product of task gradients from independent samples
 * (SDMGrad, MoDo): the product GᵀG of one sample's gradients with themselves is a biased estimate of the true
 * product, the product of two independent samples' gradients an unbiased one.
 *
 * - `independent` (the papers'): three independent samples per step: the step's own batch and the two batches after
 *   it in the epoch's shuffled order (disjoint rows; with fewer than three batches per epoch a batch repeats), with
 *   the T task gradients on each: 3·T backward passes per step, LibMTL's cost. LibMTL draws three fresh batches per
 *   step, so its epoch passes over the data three times, ours once (the others serve as extra samples); the
 *   SDMGrad authors' code draws its two extra batches from a second loader, as here.
 * - `single-batch`: one sample serves all three roles (T backward passes on the whole batch). Neither the papers'
 *   algorithm nor LibMTL's: cheaper, but its product estimate is biased.
 */
import { enumOption } from '../../util/options.js';
import type { CombineInput, GradTargetSpec } from './types.js';

const samplings = ['independent', 'single-batch'] as const;
export type Sampling = (typeof samplings)[number];

export const samplingSchema: Record<string, unknown> = {
  enum: [...samplings],
  default: 'independent',
  description:
    "independent: three independent samples per step, the step's batch and the next two of the epoch (the " +
    'paper; 3T backward passes); single-batch: the step batch in all three roles (T passes, biased; neither the ' +
    'paper nor LibMTL).',
};

/** Both methods run on the shared parameters only: their samples' gradients must share their coordinates. */
export const independentSamplesTarget: GradTargetSpec = {
  paper: 'params',
  other: 'refused',
  reason:
    "it multiplies independent samples' gradients, which must share their coordinates (the shared parameters); " +
    "representation gradients of other batches' rows do not (LibMTL refuses them too).",
};

export function samplingOption(options: Record<string, unknown>): Sampling {
  return enumOption(options, 'strategy.sampling', samplings, 'independent');
}

/** Samples per step the trainer must provide for a sampling mode. */
export function samplesNeeded(sampling: Sampling): number {
  return sampling === 'independent' ? 3 : 1;
}

/** The three samples' task gradients (the step's batch, then the next two), or `grads` thrice on `single-batch`. */
export function threeSamples(
  method: string,
  sampling: Sampling,
  input: CombineInput,
): [Float32Array[], Float32Array[], Float32Array[]] {
  if (sampling === 'single-batch') return [input.grads, input.grads, input.grads];
  const [second, third] = input.extraSamples ?? [];
  if (!second || !third || second.length !== input.grads.length || third.length !== input.grads.length) {
    throw new Error(
      `${method} with sampling "independent" needs the task gradients on two more independent samples ` +
        '(`extraSamples`; `combineGradients` takes them as `extraSamples`), or sampling: single-batch.',
    );
  }
  return [input.grads, second, third];
}
