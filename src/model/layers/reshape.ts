import { tf } from '../../tf.js';
import { formatShape, shapeSize } from './shape.js';
import type { Layer, LayerDefinition } from './types.js';

export interface ReshapeConfig {
  type: 'reshape';
  shape: [number, number, number];
}

/** Reinterprets each example's values (row-major) as an image of `shape` = [height, width, channels]. */
export class Reshape implements Layer {
  readonly trainable: tf.Variable[] = [];
  readonly state: tf.Variable[] = [];
  readonly outputShape: number[];
  readonly outputSize: number;
  constructor(shape: readonly number[]) {
    this.outputShape = [...shape];
    this.outputSize = shapeSize(shape);
  }
  apply(x: tf.Tensor): tf.Tensor {
    return tf.reshape(x, [x.shape[0], ...this.outputShape]);
  }
}

export const reshapeLayer: LayerDefinition<ReshapeConfig> = {
  name: 'reshape',
  required: ['shape'],
  optionsSchema: {
    shape: {
      type: 'array',
      items: { type: 'integer', minimum: 1 },
      minItems: 3,
      maxItems: 3,
      description:
        'Image shape [height, width, channels] (row-major, channels last); its product must equal the input width.',
    },
  },
  input: 'any',
  output: 'image',
  outputShape(config, input, { inputName }) {
    const size = shapeSize(input);
    const target = shapeSize(config.shape);
    if (target === size) return { shape: [...config.shape] };
    return {
      problem:
        `shape ${formatShape(config.shape)} holds ${target} values, but its input (${inputName}) has ${size}; ` +
        `choose [height, width, channels] with height × width × channels = ${size}`,
    };
  },
  build: (config) => new Reshape(config.shape),
};
