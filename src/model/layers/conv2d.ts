import { tf } from '../../tf.js';
import type { Rng } from '../../util/rng.js';
import { activate, activationSchema, isFusable, type Activation } from './activations.js';
import { glorotUniform, makeVariable } from './initialisers.js';
import { shapeSize } from './shape.js';
import type { Layer, LayerDefinition } from './types.js';
import { pair, size2dSchema, windowProblem, type Padding, type Size2D } from './window.js';

export interface Conv2DConfig {
  type: 'conv2d';
  filters: number;
  kernel: Size2D;
  stride: Size2D;
  padding: Padding;
  activation: Activation;
  bias: boolean;
}

/**
 * 2-D convolution on images [batch, height, width, channels] (channels last), kernel [kh, kw, c_in, filters]:
 *
 *   y[b, i, j, o] = act(Σ_{u, v, c} x[b, i·s_h + u − p_top, j·s_w + v − p_left, c] · K[u, v, c, o] + bias[o])
 *
 * with zero padding: `valid` = none (output ⌈(H − kh + 1) / s_h⌉), `same` = TensorFlow's (output ⌈H / s_h⌉, the odd
 * pixel of padding at the bottom/right). The kernel is Glorot-uniform with fan_in = kh·kw·c_in and
 * fan_out = kh·kw·filters (as Keras), drawn from the model Rng like a dense kernel; the bias starts at zero. Relu and
 * linear go through `tf.fused.conv2d` with the bias and the activation (one kernel at inference; under a gradient tape
 * TF.js splits the relu off itself, as for tf.fused.matMul); other activations follow the fused convolution + bias.
 */
export class Conv2D implements Layer {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable | undefined;
  readonly trainable: tf.Variable[];
  readonly state: tf.Variable[] = [];
  readonly outputShape: number[];
  readonly outputSize: number;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  constructor(
    name: string,
    readonly inputShape: readonly number[],
    readonly filters: number,
    kernel: Size2D,
    stride: Size2D,
    readonly padding: Padding,
    readonly activation: Activation,
    useBias: boolean,
    rng: Rng,
  ) {
    const channels = inputShape[2]!;
    this.kernelSize = pair(kernel);
    this.strides = pair(stride);
    const [kh, kw] = this.kernelSize;
    this.outputShape = convOutputShape(inputShape, this.kernelSize, filters, this.strides, padding);
    this.outputSize = shapeSize(this.outputShape);
    const values = glorotUniform(rng, kh * kw * channels, kh * kw * filters, kh * kw * channels * filters);
    this.kernel = makeVariable(`${name}/kernel`, values, [kh, kw, channels, filters]);
    this.bias = useBias ? makeVariable(`${name}/bias`, new Float32Array(filters), [filters]) : undefined;
    this.trainable = this.bias ? [this.kernel, this.bias] : [this.kernel];
  }
  apply(x: tf.Tensor): tf.Tensor4D {
    const conv = {
      x: x as tf.Tensor4D,
      filter: this.kernel as tf.Tensor4D,
      strides: this.strides,
      pad: this.padding,
      ...(this.bias ? { bias: this.bias } : {}),
    };
    if (isFusable(this.activation))
      return tf.fused.conv2d({ ...conv, activation: this.activation === 'relu' ? 'relu' : 'linear' });
    return tf.tidy(() => activate(tf.fused.conv2d(conv), this.activation)) as tf.Tensor4D;
  }
}

/** [out_height, out_width, filters] of a convolution on an [h, w, c] image (TF.js's own arithmetic). */
function convOutputShape(
  input: readonly number[],
  kernel: [number, number],
  filters: number,
  strides: [number, number],
  padding: Padding,
): number[] {
  const [h, w, c] = input as [number, number, number];
  const info = tf.backend_util.computeConv2DInfo([1, h, w, c], [kernel[0], kernel[1], c, filters], strides, 1, padding);
  return [info.outHeight, info.outWidth, filters];
}

export const conv2dLayer: LayerDefinition<Conv2DConfig> = {
  name: 'conv2d',
  required: ['filters', 'kernel'],
  optionsSchema: {
    filters: { type: 'integer', minimum: 1, description: 'Output channels.' },
    kernel: size2dSchema('Kernel size: one number (square) or [height, width].'),
    stride: size2dSchema('Stride: one number or [height, width].', { default: 1 }),
    padding: { enum: ['same', 'valid'], default: 'same' },
    activation: activationSchema,
    bias: { type: 'boolean', default: true },
  },
  input: 'image',
  output: 'image',
  startsBlock: true,
  outputShape(config, input) {
    const kernel = pair(config.kernel);
    const problem = windowProblem(kernel, config.padding, input);
    if (problem !== undefined) return { problem };
    return { shape: convOutputShape(input, kernel, config.filters, pair(config.stride), config.padding) };
  },
  build: (config, { name, inputShape, rng }) =>
    new Conv2D(
      name,
      inputShape,
      config.filters,
      config.kernel,
      config.stride,
      config.padding,
      config.activation,
      config.bias,
      rng,
    ),
};
