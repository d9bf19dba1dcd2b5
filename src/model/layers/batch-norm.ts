import { tf } from '../../tf.js';
import type { StepClock } from '../step-clock.js';
import { makeVariable } from './initialisers.js';
import { asShape, shapeSize } from './shape.js';
import type { Layer, LayerDefinition } from './types.js';

export interface BatchNormConfig {
  type: 'batch-norm';
  momentum: number;
  epsilon: number;
}

/**
 * Batch normalisation (Ioffe & Szegedy 2015) with moving statistics m ← momentum·m + (1 − momentum)·batch.
 * Per feature of a flat input (moments over the batch axis); per channel of an image (moments over batch, height and
 * width, axes [0, 1, 2], as for convolutions in the paper's §3.2). γ, β and the moving statistics have one value per
 * feature / channel.
 *
 * The moving statistics move once per training step. Gradient strategies run the forward pass more than once per step
 * on the same batch (one pass per task on parameter gradients; the trunk twice on representation gradients); each
 * pass normalises with the batch's statistics, but only the first of a step updates the moving ones — otherwise they
 * would decay as momentum^T per step instead of momentum. Steps are told apart by {@link StepClock.numberedStep};
 * a model used without numbered steps (or without a clock) updates on every training pass.
 */
export class BatchNorm implements Layer {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly movingMean: tf.Variable;
  readonly movingVariance: tf.Variable;
  readonly trainable: tf.Variable[];
  readonly state: tf.Variable[];
  readonly outputShape: number[];
  readonly outputSize: number;
  /** The axes the statistics are taken over (of the batched input). */
  readonly axes: number[];
  /** The numbered step whose first training pass last moved the moving statistics. */
  private updatedAtStep: number | undefined;
  constructor(
    name: string,
    shape: number | readonly number[],
    private readonly momentum: number,
    private readonly epsilon: number,
    private readonly clock?: StepClock,
  ) {
    this.outputShape = asShape(shape);
    this.outputSize = shapeSize(this.outputShape);
    this.axes = this.outputShape.map((_, i) => i); // every axis but the last of [batch, ...shape]
    const channels = this.outputShape[this.outputShape.length - 1]!;
    this.gamma = makeVariable(`${name}/gamma`, new Float32Array(channels).fill(1), [channels]);
    this.beta = makeVariable(`${name}/beta`, new Float32Array(channels), [channels]);
    this.movingMean = makeVariable(`${name}/moving_mean`, new Float32Array(channels), [channels], false);
    this.movingVariance = makeVariable(
      `${name}/moving_variance`,
      new Float32Array(channels).fill(1),
      [channels],
      false,
    );
    this.trainable = [this.gamma, this.beta];
    this.state = [this.movingMean, this.movingVariance];
  }
  apply<T extends tf.Tensor>(x: T, training: boolean): T {
    if (!training) {
      return tf.batchNorm(x, this.movingMean, this.movingVariance, this.beta, this.gamma, this.epsilon) as T;
    }
    const { mean, variance } = tf.moments(x, this.axes.length === 1 ? 0 : this.axes);
    const step = this.clock?.numberedStep;
    if (step !== undefined && step === this.updatedAtStep)
      return tf.batchNorm(x, mean, variance, this.beta, this.gamma, this.epsilon) as T;
    this.updatedAtStep = step;
    tf.tidy(() => {
      const m = this.momentum;
      // Not on the path to the loss, so the tape gives these updates no gradient.
      this.movingMean.assign(tf.add(tf.mul(this.movingMean, m), tf.mul(mean, 1 - m)));
      this.movingVariance.assign(tf.add(tf.mul(this.movingVariance, m), tf.mul(variance, 1 - m)));
    });
    return tf.batchNorm(x, mean, variance, this.beta, this.gamma, this.epsilon) as T;
  }
}

export const batchNormLayer: LayerDefinition<BatchNormConfig> = {
  name: 'batch-norm',
  optionsSchema: {
    momentum: { type: 'number', minimum: 0, maximum: 1, default: 0.99 },
    epsilon: { type: 'number', exclusiveMinimum: 0, default: 0.001 },
  },
  input: 'any',
  output: 'input',
  outputShape: (_config, input) => ({ shape: [...input] }),
  build: (config, { name, inputShape, clock }) =>
    new BatchNorm(name, inputShape, config.momentum, config.epsilon, clock),
};
