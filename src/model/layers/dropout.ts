import { tf } from '../../tf.js';
import type { StepClock } from '../step-clock.js';
import { asShape, shapeSize } from './shape.js';
import type { Layer, LayerDefinition, RecordedLayer } from './types.js';

export interface DropoutConfig {
  type: 'dropout';
  rate: number;
}

/**
 * Inverted dropout on every element, whatever the shape. The mask's seed comes from the model's step clock, so it
 * depends on (model seed, step, layer) only.
 */
export class Dropout implements Layer {
  readonly trainable: tf.Variable[] = [];
  readonly state: tf.Variable[] = [];
  readonly outputShape: number[];
  readonly outputSize: number;
  private readonly layerId: number;
  constructor(
    shape: number | readonly number[],
    readonly rate: number,
    private readonly clock: StepClock,
  ) {
    this.outputShape = asShape(shape);
    this.outputSize = shapeSize(this.outputShape);
    this.layerId = clock.newLayerId();
  }
  apply<T extends tf.Tensor>(x: T, training: boolean): T {
    if (!training || this.rate === 0) return x;
    return tf.dropout(x, this.rate, undefined, this.clock.dropoutSeed(this.layerId)) as T;
  }
  /**
   * tf.dropout's own arithmetic, with its multiplier kept: y = x ⊙ m, m = ⌊u + keep⌋ / keep, u ~ U[0, 1) drawn from
   * the same seed; the gradient is TF.js's for that product, dx = dy ⊙ m.
   */
  record(x: tf.Tensor, training: boolean): RecordedLayer {
    if (!training || this.rate === 0) {
      return { output: x, backward: (dy) => ({ input: dy.clone(), variables: [] }), dispose: () => undefined };
    }
    const keep = 1 - this.rate;
    const seed = this.clock.dropoutSeed(this.layerId);
    const multiplier = tf.tidy(() =>
      tf.div(tf.floor(tf.add(tf.randomUniform(x.shape, 0, 1, 'float32', seed), keep)), keep),
    );
    const output = tf.mul(x, multiplier);
    return {
      output,
      backward: (dy, needInput) => (needInput ? { input: tf.mul(dy, multiplier), variables: [] } : { variables: [] }),
      dispose: () => tf.dispose([output, multiplier]),
    };
  }
}

export const dropoutLayer: LayerDefinition<DropoutConfig> = {
  name: 'dropout',
  required: ['rate'],
  optionsSchema: { rate: { type: 'number', minimum: 0, exclusiveMaximum: 1 } },
  input: 'any',
  output: 'input',
  outputShape: (_config, input) => ({ shape: [...input] }),
  build: (config, { inputShape, clock }) => new Dropout(inputShape, config.rate, clock),
};
