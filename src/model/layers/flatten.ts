import { tf } from '../../tf.js';
import { shapeSize } from './shape.js';
import type { Layer, LayerDefinition } from './types.js';

export interface FlattenConfig {
  type: 'flatten';
}

/** Flattens each example row-major (height, then width, then channels): [batch, h, w, c] → [batch, h·w·c]. */
export class Flatten implements Layer {
  readonly trainable: tf.Variable[] = [];
  readonly state: tf.Variable[] = [];
  readonly outputShape: number[];
  constructor(readonly outputSize: number) {
    this.outputShape = [outputSize];
  }
  apply(x: tf.Tensor): tf.Tensor2D {
    return x.rank === 2 ? (x as tf.Tensor2D) : tf.reshape(x, [x.shape[0], this.outputSize]);
  }
}

export const flattenLayer: LayerDefinition<FlattenConfig> = {
  name: 'flatten',
  optionsSchema: {},
  input: 'any',
  output: 'flat',
  outputShape: (_config, input) => ({ shape: [shapeSize(input)] }),
  build: (_config, { inputShape }) => new Flatten(shapeSize(inputShape)),
};
