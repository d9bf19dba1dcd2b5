import { tf } from '../../tf.js';
import type { Rng } from '../../util/rng.js';
import { denseGradients, denseKernelAvailable, denseLinear, denseRelu } from '../../ops/dense.js';
import { activate, activationSchema, isFusable, type Activation } from './activations.js';
import { glorotUniform, makeVariable } from './initialisers.js';
import { shapeSize } from './shape.js';
import type { Layer, LayerDefinition, RecordedLayer } from './types.js';

export interface DenseConfig {
  type: 'dense';
  units: number;
  activation: Activation;
  bias: boolean;
}

/** y = act(x W + b) on flat inputs; W is Glorot-uniform, b starts at zero. */
export class Dense implements Layer {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable | undefined;
  readonly trainable: tf.Variable[];
  readonly state: tf.Variable[] = [];
  readonly outputShape: number[];
  constructor(
    name: string,
    readonly inputSize: number,
    readonly outputSize: number,
    readonly activation: Activation,
    useBias: boolean,
    rng: Rng,
  ) {
    this.kernel = makeVariable(`${name}/kernel`, glorotUniform(rng, inputSize, outputSize), [inputSize, outputSize]);
    this.bias = useBias ? makeVariable(`${name}/bias`, new Float32Array(outputSize), [outputSize]) : undefined;
    this.trainable = this.bias ? [this.kernel, this.bias] : [this.kernel];
    this.outputShape = [outputSize];
  }
  apply(x: tf.Tensor2D): tf.Tensor2D {
    if (this.activation === 'relu' && this.bias) return denseRelu(x, this.kernel, this.bias);
    if (this.activation === 'linear' && this.bias) return denseLinear(x, this.kernel, this.bias);
    if (isFusable(this.activation)) {
      return tf.fused.matMul({
        a: x,
        b: this.kernel as tf.Tensor2D,
        ...(this.bias ? { bias: this.bias } : {}),
        activation: this.activation === 'relu' ? 'relu' : 'linear',
      }) as tf.Tensor2D;
    }
    return tf.tidy(() => {
      const linear = tf.fused.matMul({
        a: x,
        b: this.kernel as tf.Tensor2D,
        ...(this.bias ? { bias: this.bias } : {}),
      });
      return activate(linear, this.activation);
    }) as tf.Tensor2D;
  }
  /** The one-kernel forms (relu or linear, with a bias) only: their gradient is {@link denseGradients}. */
  record(x: tf.Tensor): RecordedLayer | undefined {
    const { bias, kernel } = this;
    const activation = this.activation;
    if (!bias || (activation !== 'relu' && activation !== 'linear') || !denseKernelAvailable(activation)) {
      return undefined;
    }
    const input = x as tf.Tensor2D;
    const output = activation === 'relu' ? denseRelu(input, kernel, bias) : denseLinear(input, kernel, bias);
    return {
      output,
      backward: (dy, needInput) =>
        tf.tidy(() => {
          const gradients = denseGradients(
            dy as tf.Tensor2D,
            input,
            kernel as tf.Tensor2D,
            activation === 'relu' ? output : undefined,
          );
          const variables = [gradients.kernel(), gradients.bias()];
          return needInput ? { input: gradients.x(), variables } : { variables };
        }),
      dispose: () => output.dispose(),
    };
  }
}

export const denseLayer: LayerDefinition<DenseConfig> = {
  name: 'dense',
  required: ['units'],
  optionsSchema: {
    units: { type: 'integer', minimum: 1, description: 'Output width of the layer.' },
    activation: activationSchema,
    bias: { type: 'boolean', default: true },
  },
  input: 'flat',
  output: 'flat',
  startsBlock: true,
  outputShape: (config) => ({ shape: [config.units] }),
  build: (config, { name, inputShape, rng }) =>
    new Dense(name, shapeSize(inputShape), config.units, config.activation, config.bias, rng),
};
