import * as tf from '@tensorflow/tfjs';
import type { Activation, LayerConfig } from '../config/types.js';
import type { Rng } from '../util/rng.js';

/**
 * Building blocks written on raw variables and ops rather than tf.layers: a training step is then a handful of fused
 * kernels with no symbolic bookkeeping, and architectures can reach every variable (coupling penalties, cross-stitch).
 * Variable names are stable paths ("shared/0/kernel"), which is what checkpoints store.
 */

/** Glorot/Xavier uniform: U(−l, l) with l = √(6 / (fan_in + fan_out)) (Glorot & Bengio 2010), drawn from our RNG. */
export function glorotUniform(rng: Rng, fanIn: number, fanOut: number): Float32Array {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const values = new Float32Array(fanIn * fanOut);
  for (let i = 0; i < values.length; i++) values[i] = (rng.next() * 2 - 1) * limit;
  return values;
}

export function makeVariable(name: string, values: Float32Array, shape: number[], trainable = true): tf.Variable {
  return tf.tidy(() => tf.variable(tf.tensor(values, shape, 'float32'), trainable, name));
}

/** The activations TF.js can fuse into matMul *and* differentiate there (tfjs-core getFusedDyActivation). */
const FUSABLE: ReadonlySet<Activation> = new Set<Activation>(['linear', 'relu']);

export function activate(x: tf.Tensor, activation: Activation): tf.Tensor {
  switch (activation) {
    case 'linear':
      return x;
    case 'relu':
      return tf.relu(x);
    case 'relu6':
      return tf.relu6(x);
    case 'elu':
      return tf.elu(x);
    case 'leaky-relu':
      return tf.leakyRelu(x, 0.2);
    case 'tanh':
      return tf.tanh(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'gelu':
      // tanh approximation (Hendrycks & Gimpel 2016), as TF/PyTorch's "approximate" GELU.
      return tf.tidy(() => {
        const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
        return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
      });
  }
}

export interface Layer {
  readonly outputSize: number;
  readonly trainable: tf.Variable[];
  readonly state: tf.Variable[];
  apply(x: tf.Tensor2D, training: boolean): tf.Tensor2D;
}

export class Dense implements Layer {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable | undefined;
  readonly trainable: tf.Variable[];
  readonly state: tf.Variable[] = [];
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
  }
  apply(x: tf.Tensor2D): tf.Tensor2D {
    if (FUSABLE.has(this.activation)) {
      return tf.fused.matMul({
        a: x,
        b: this.kernel as tf.Tensor2D,
        ...(this.bias ? { bias: this.bias } : {}),
        activation: this.activation === 'relu' ? 'relu' : 'linear',
      }) as tf.Tensor2D;
    }
    return tf.tidy(() => {
      const linear = tf.fused.matMul({ a: x, b: this.kernel as tf.Tensor2D, ...(this.bias ? { bias: this.bias } : {}) });
      return activate(linear, this.activation);
    }) as tf.Tensor2D;
  }
}

/**
 * Where dropout masks come from. The seed of a mask is a function of (model seed, training step, layer), so masks
 * differ between steps, repeat between runs, and repeat when a step runs the forward pass twice (gradient strategies
 * that re-run the trunk must see the same mask), and a resumed run draws what the uninterrupted one would have.
 */
export class DropoutSeeds {
  step = 0;
  private nextLayerId = 0;
  constructor(private readonly base: number) {}
  register(): number {
    return this.nextLayerId++;
  }
  seedFor(layerId: number): number {
    let h = (this.base ^ Math.imul(this.step + 1, 0x9e3779b1) ^ Math.imul(layerId + 1, 0x85ebca6b)) >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
    h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
    return (h ^ (h >>> 16)) & 0x7fffffff;
  }
}

export class Dropout implements Layer {
  readonly trainable: tf.Variable[] = [];
  readonly state: tf.Variable[] = [];
  private readonly layerId: number;
  constructor(
    readonly outputSize: number,
    readonly rate: number,
    private readonly seeds: DropoutSeeds,
  ) {
    this.layerId = seeds.register();
  }
  apply(x: tf.Tensor2D, training: boolean): tf.Tensor2D {
    if (!training || this.rate === 0) return x;
    return tf.dropout(x, this.rate, undefined, this.seeds.seedFor(this.layerId)) as tf.Tensor2D;
  }
}

/** Batch normalisation (Ioffe & Szegedy 2015) with moving statistics m ← momentum·m + (1 − momentum)·batch. */
export class BatchNorm implements Layer {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly movingMean: tf.Variable;
  readonly movingVariance: tf.Variable;
  readonly trainable: tf.Variable[];
  readonly state: tf.Variable[];
  constructor(
    name: string,
    readonly outputSize: number,
    private readonly momentum: number,
    private readonly epsilon: number,
  ) {
    this.gamma = makeVariable(`${name}/gamma`, new Float32Array(outputSize).fill(1), [outputSize]);
    this.beta = makeVariable(`${name}/beta`, new Float32Array(outputSize), [outputSize]);
    this.movingMean = makeVariable(`${name}/moving_mean`, new Float32Array(outputSize), [outputSize], false);
    this.movingVariance = makeVariable(`${name}/moving_variance`, new Float32Array(outputSize).fill(1), [outputSize], false);
    this.trainable = [this.gamma, this.beta];
    this.state = [this.movingMean, this.movingVariance];
  }
  apply(x: tf.Tensor2D, training: boolean): tf.Tensor2D {
    if (!training) {
      return tf.batchNorm(x, this.movingMean, this.movingVariance, this.beta, this.gamma, this.epsilon) as tf.Tensor2D;
    }
    const { mean, variance } = tf.moments(x, 0);
    tf.tidy(() => {
      const m = this.momentum;
      // Not on the path to the loss, so the tape gives these updates no gradient.
      this.movingMean.assign(tf.add(tf.mul(this.movingMean, m), tf.mul(mean, 1 - m)));
      this.movingVariance.assign(tf.add(tf.mul(this.movingVariance, m), tf.mul(variance, 1 - m)));
    });
    return tf.batchNorm(x, mean, variance, this.beta, this.gamma, this.epsilon) as tf.Tensor2D;
  }
}

/** Layer normalisation (Ba et al. 2016) over the feature axis. */
export class LayerNorm implements Layer {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly trainable: tf.Variable[];
  readonly state: tf.Variable[] = [];
  constructor(
    name: string,
    readonly outputSize: number,
    private readonly epsilon: number,
  ) {
    this.gamma = makeVariable(`${name}/gamma`, new Float32Array(outputSize).fill(1), [outputSize]);
    this.beta = makeVariable(`${name}/beta`, new Float32Array(outputSize), [outputSize]);
    this.trainable = [this.gamma, this.beta];
  }
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, 1, true);
      return tf.batchNorm(x, mean, variance, this.beta, this.gamma, this.epsilon) as tf.Tensor2D;
    });
  }
}

/** A sequence of layers built from config, e.g. a shared trunk or one task's head. */
export class LayerStack {
  readonly layers: Layer[] = [];
  readonly outputSize: number;
  constructor(name: string, inputSize: number, configs: readonly LayerConfig[], rng: Rng, dropoutSeeds: DropoutSeeds) {
    let size = inputSize;
    configs.forEach((config, index) => {
      const layerName = `${name}/${index}`;
      let layer: Layer;
      switch (config.type) {
        case 'dense':
          layer = new Dense(layerName, size, config.units, config.activation, config.bias, rng);
          break;
        case 'dropout':
          layer = new Dropout(size, config.rate, dropoutSeeds);
          break;
        case 'batch-norm':
          layer = new BatchNorm(layerName, size, config.momentum, config.epsilon);
          break;
        case 'layer-norm':
          layer = new LayerNorm(layerName, size, config.epsilon);
          break;
      }
      this.layers.push(layer);
      size = layer.outputSize;
    });
    this.outputSize = size;
  }
  get trainable(): tf.Variable[] {
    return this.layers.flatMap((layer) => layer.trainable);
  }
  get state(): tf.Variable[] {
    return this.layers.flatMap((layer) => layer.state);
  }
  apply(x: tf.Tensor2D, training: boolean): tf.Tensor2D {
    return this.layers.reduce((h, layer) => layer.apply(h, training), x);
  }
  dispose(): void {
    for (const v of [...this.trainable, ...this.state]) v.dispose();
  }
}
