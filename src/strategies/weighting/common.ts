import { tf } from '../../tf.js';
import { enumOption, type Options } from '../../util/options.js';

/**
 * Pieces shared by the loss-weighting strategies: a stop-gradient, the `scale` option, and a holder for the last
 * step's weights that is read lazily (so logging the weights costs one small read per epoch, not one per step).
 */

type CustomGradientFunc = Parameters<typeof tf.customGrad>[0];

const detach = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.clone(x),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as unknown as CustomGradientFunc);

/**
 * Identity in the forward pass, zero gradient in the backward pass (PyTorch's `.detach()`, TF's `stop_gradient`).
 * TF.js 4 has no such op; a `tf.customGrad` whose gradient is zero gives the same result without reading the value
 * back from the backend, so weights built from it stay on the device and cost no sync per step (the alternative,
 * `tf.tensor(x.dataSync())`, would block on every step).
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  return detach(x) as T;
}

/** The `scale` option of strategies whose weights are normalised: they sum to T (the task count) or to 1. */
const weightScales = ['tasks', 'one'] as const;
export type WeightScale = (typeof weightScales)[number];

export const scaleOption: Record<string, unknown> = {
  type: 'string',
  enum: [...weightScales],
  default: 'tasks',
  description:
    'What the weights sum to: "tasks" = T, the number of tasks (keeps the loss on the scale of equal weighting), ' +
    '"one" = 1.',
};

/** The sum the weights are normalised to. */
export function weightTotal(options: Options, taskCount: number): number {
  const scale: WeightScale = enumOption(options, 'strategy.scale', weightScales, 'tasks');
  return scale === 'tasks' ? taskCount : 1;
}

/**
 * The weights of the last step as a kept tensor, read back only when asked (`currentWeights()` is called once per
 * epoch). Setting a new tensor disposes the previous one, so exactly one tensor is held at any time.
 */
export class LastWeights {
  private tensor: tf.Tensor | undefined;
  private cache: number[] | undefined;

  constructor(private readonly initial: number[]) {}

  /** Keeps `weights` (it may be created inside a tidy or a gradient tape) and releases the previous one. */
  set(weights: tf.Tensor): void {
    const kept = tf.keep(weights);
    if (this.tensor && this.tensor !== kept) this.tensor.dispose();
    this.tensor = kept;
    this.cache = undefined;
  }

  read(): number[] {
    if (this.cache) return this.cache;
    this.cache = this.tensor ? Array.from(this.tensor.dataSync()) : [...this.initial];
    return this.cache;
  }

  dispose(): void {
    this.tensor?.dispose();
    this.tensor = undefined;
    this.cache = undefined;
  }
}

/** Σ_i w_i L_i for JS-number weights, inside the caller's tidy/tape. */
export function weightedSum(losses: tf.Scalar[], weights: readonly number[]): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.mul(tf.stack(losses), tf.tensor1d(weights as number[], 'float32'))));
}
