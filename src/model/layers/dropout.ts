import { tf } from '../../tf.js';
import { Alea } from '../../util/alea.js';
import type { StepClock } from '../step-clock.js';
import { asShape, shapeSize } from './shape.js';
import type { Layer, LayerDefinition, RecordedLayer } from './types.js';

export interface DropoutConfig {
  type: 'dropout';
  rate: number;
}

/**
 * tf.dropout's multiplier for `size` elements, value for value: m = ⌊u + keep⌋ / keep in float32, keep = 1 − rate, u
 * ~ U[0, 1) the float32 draws of `tf.randomUniform(…, seed)` (util/alea.ts). ⌊u + keep⌋ is 1 or 0 (u + keep < 2), so
 * m is 1/keep or 0, and ⌊u + keep⌋ = 1 exactly when u ≥ τ ({@link keptFrom}). Computed here in one pass (the draws in
 * four interleaved chains, util/alea.ts `fillMask`) and applied with one Multiply, where tf.dropout fills a tensor
 * buffer with u and runs Add, Floor, RealDiv and Multiply, each recorded on the gradient tape (bench/dropout.mjs).
 * test/dropout-mask.test.ts: the same bits, and the same trained runs.
 */
export function dropoutMultiplier(size: number, rate: number, seed: number): Float32Array {
  const keep = Math.fround(1 - rate);
  // float32 division of 1 by keep: the double quotient rounded once to float32 is the correctly rounded one.
  const kept = Math.fround(1 / keep);
  return new Alea(String(seed)).fillMask(new Float32Array(size), keptFrom(keep), kept);
}

/**
 * τ, the least float32 u in [0, 1) with fround(u + keep) ≥ 1 (1 when there is none): u + keep rounded (to double,
 * then to float32) never falls as u grows, so ⌊u + keep⌋ = 1 exactly when u ≥ τ. Found by bisection over the float32
 * bit patterns of [0, 1], which order like the values.
 */
export function keptFrom(keep: number): number {
  const value = new Float32Array(1);
  const pattern = new Uint32Array(value.buffer);
  let low = 0;
  let high = 0x3f800000; // 1.0f
  while (low < high) {
    const middle = (low + high) >>> 1;
    pattern[0] = middle;
    if (Math.fround(value[0]! + keep) >= 1) high = middle;
    else low = middle + 1;
  }
  pattern[0] = low;
  return value[0]!;
}

/**
 * Inverted dropout on every element, whatever the shape: y = x ⊙ m ({@link dropoutMultiplier}), TF.js's gradient for
 * that product (dx = dy ⊙ m), bit-identical to tf.dropout. The mask's seed comes from the model's step clock, so it
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
    const multiplier = this.multiplier(x.shape);
    try {
      return tf.mul(x, multiplier);
    } finally {
      multiplier.dispose();
    }
  }
  private multiplier(shape: number[]): tf.Tensor {
    const seed = this.clock.dropoutSeed(this.layerId);
    return tf.tensor(dropoutMultiplier(shapeSize(shape), this.rate, seed), shape, 'float32');
  }
  /** The same product with its multiplier kept for the backward pass, dx = dy ⊙ m. */
  record(x: tf.Tensor, training: boolean): RecordedLayer {
    if (!training || this.rate === 0) {
      return { output: x, backward: (dy) => ({ input: dy.clone(), variables: [] }), dispose: () => undefined };
    }
    const multiplier = this.multiplier(x.shape);
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
