import { tf } from '../../tf.js';
import { makeVariable } from './initialisers.js';
import { asShape, shapeSize } from './shape.js';
import type { Layer, LayerDefinition } from './types.js';

export interface LayerNormConfig {
  type: 'layer-norm';
  epsilon: number;
}

/**
 * Layer normalisation (Ba et al. 2016): each example is normalised over all its features (for an image: height, width
 * and channels together, as Ba et al. normalise over all units of a layer), then scaled and shifted per feature of a
 * flat input / per channel of an image.
 */
export class LayerNorm implements Layer {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly trainable: tf.Variable[];
  readonly state: tf.Variable[] = [];
  readonly outputShape: number[];
  readonly outputSize: number;
  constructor(
    name: string,
    shape: number | readonly number[],
    private readonly epsilon: number,
  ) {
    this.outputShape = asShape(shape);
    this.outputSize = shapeSize(this.outputShape);
    const channels = this.outputShape[this.outputShape.length - 1]!;
    this.gamma = makeVariable(`${name}/gamma`, new Float32Array(channels).fill(1), [channels]);
    this.beta = makeVariable(`${name}/beta`, new Float32Array(channels), [channels]);
    this.trainable = [this.gamma, this.beta];
  }
  apply<T extends tf.Tensor>(x: T): T {
    return tf.tidy(() => {
      const axes = this.outputShape.map((_, i) => i + 1);
      const { mean, variance } = tf.moments(x, axes, true);
      // Written out: tf.batchNorm refuses per-example statistics ([batch, 1…]) next to per-feature γ, β.
      const normalised = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.epsilon)));
      return tf.add(tf.mul(normalised, this.gamma), this.beta);
    });
  }
}

export const layerNormLayer: LayerDefinition<LayerNormConfig> = {
  name: 'layer-norm',
  optionsSchema: { epsilon: { type: 'number', exclusiveMinimum: 0, default: 0.001 } },
  input: 'any',
  output: 'input',
  outputShape: (_config, input) => ({ shape: [...input] }),
  build: (config, { name, inputShape }) => new LayerNorm(name, inputShape, config.epsilon),
};
