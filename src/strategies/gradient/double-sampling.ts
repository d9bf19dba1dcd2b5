/**
 * The `sampling` option of the methods whose paper estimates a product of task gradients from independent samples
 * (SDMGrad, MoDo): the product GᵀG of one sample's gradients with themselves is a biased estimate of the true
 * product, the product of two independent samples' gradients an unbiased one.
 *
 * - `independent` (the papers'): three independent samples per step. The trainer cuts each batch into three
 *   disjoint parts of (nearly) equal size and computes the T task gradients on each (3·T backward passes on
 *   batches a third the size, about the cost of T full ones). LibMTL draws three whole batches of `batch_size` per
 *   step instead: `batch_size: 3B` here gives each sample the B rows of LibMTL's, while an epoch here still passes
 *   over the data once (LibMTL's three times).
 * - `single-batch`: one sample serves all three roles (T backward passes on the whole batch). Neither the papers'
 *   algorithm nor LibMTL's: cheaper, but its product estimate is biased.
 */
import { enumOption } from '../../util/options.js';
import type { CombineInput } from './types.js';

const samplings = ['independent', 'single-batch'] as const;
export type Sampling = (typeof samplings)[number];

export const samplingSchema: Record<string, unknown> = {
  enum: [...samplings],
  default: 'independent',
  description:
    'independent: three independent samples per step, from three disjoint parts of the batch (the paper); ' +
    'single-batch: the whole batch for all three roles (cheaper, biased; neither the paper nor LibMTL).',
};

export function samplingOption(options: Record<string, unknown>): Sampling {
  return enumOption(options, 'strategy.sampling', samplings, 'independent');
}

/** Samples per step the trainer must provide for a sampling mode. */
export function samplesNeeded(sampling: Sampling): number {
  return sampling === 'independent' ? 3 : 1;
}

/** The three samples' task gradients (in the order the trainer cut them), or `grads` thrice on `single-batch`. */
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
