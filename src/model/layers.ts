import * as tf from '@tensorflow/tfjs';
import type { Activation, LayerConfig, Padding, Size2D } from '../config/types.js';
import { UsageError } from '../errors.js';
import { denseLinear, denseRelu } from '../ops/dense.js';
import type { Rng } from '../util/rng.js';

/**
 * Building blocks written on raw variables and ops rather than tf.layers: a training step is then a handful of fused
 * kernels with no symbolic bookkeeping, and architectures can reach every variable (coupling penalties, cross-stitch).
 * Variable names are stable paths ("shared/0/kernel"), which is what checkpoints store.
 */

/**
 * Glorot/Xavier uniform: U(−l, l) with l = √(6 / (fan_in + fan_out)) (Glorot & Bengio 2010), drawn from our RNG;
 * `count` values (fan_in · fan_out for a dense kernel; a conv kernel passes its own size).
 */
export function glorotUniform(rng: Rng, fanIn: number, fanOut: number, count: number = fanIn * fanOut): Float32Array {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const values = new Float32Array(count);
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

/**
 * One layer. Shapes are per example, without the batch axis: [width] for a flat feature vector, [height, width,
 * channels] for an image (channels last). `apply` takes and returns batched tensors ([batch, ...shape]).
 */
export interface Layer {
  readonly outputShape: number[];
  /** Width of the output once flattened: the product of `outputShape`. */
  readonly outputSize: number;
  readonly trainable: tf.Variable[];
  readonly state: tf.Variable[];
  apply(x: tf.Tensor, training: boolean): tf.Tensor;
}

export function shapeSize(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function pair(value: Size2D): [number, number] {
  return typeof value === 'number' ? [value, value] : [value[0], value[1]];
}

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
    const [h, w, c] = inputShape as [number, number, number];
    this.kernelSize = pair(kernel);
    this.strides = pair(stride);
    const [kh, kw] = this.kernelSize;
    const info = tf.backend_util.computeConv2DInfo([1, h, w, c], [kh, kw, c, filters], this.strides, 1, padding);
    this.outputShape = [info.outHeight, info.outWidth, filters];
    this.outputSize = shapeSize(this.outputShape);
    const values = glorotUniform(rng, kh * kw * c, kh * kw * filters, kh * kw * c * filters);
    this.kernel = makeVariable(`${name}/kernel`, values, [kh, kw, c, filters]);
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
    if (FUSABLE.has(this.activation)) return tf.fused.conv2d({ ...conv, activation: this.activation === 'relu' ? 'relu' : 'linear' });
    return tf.tidy(() => activate(tf.fused.conv2d(conv), this.activation)) as tf.Tensor4D;
  }
}

/**
 * Max or average pooling over windows of each channel of an image; `stride` defaults to the window size. With
 * `same` padding, padded positions never win a max and do not count in an average (TensorFlow's semantics). TF.js's
 * average-pool gradient divides by the full window size even where `same` padding cut the window (its forward pass
 * does not, so the two disagree on every backend); a padded average pool therefore runs as an explicit zero pad, a
 * `valid` average pool (exact gradient) and a per-position rescaling by window size / in-range count.
 */
export class Pool2D implements Layer {
  readonly trainable: tf.Variable[] = [];
  readonly state: tf.Variable[] = [];
  readonly outputShape: number[];
  readonly outputSize: number;
  readonly size: [number, number];
  readonly strides: [number, number];
  /** Zero padding [top, bottom, left, right] and per-position scale [OH·OW], for an average pool that pads. */
  private readonly explicitPad: { pad: [number, number, number, number]; scale: Float32Array } | undefined;
  constructor(
    readonly kind: 'max' | 'avg',
    readonly inputShape: readonly number[],
    size: Size2D,
    stride: Size2D | undefined,
    readonly padding: Padding,
  ) {
    const [h, w, c] = inputShape as [number, number, number];
    this.size = pair(size);
    this.strides = pair(stride ?? size);
    const info = tf.backend_util.computePool2DInfo([1, h, w, c], this.size, this.strides, 1, padding);
    this.outputShape = [info.outHeight, info.outWidth, c];
    this.outputSize = shapeSize(this.outputShape);
    const { top, bottom, left, right } = info.padInfo;
    if (kind === 'avg' && top + bottom + left + right > 0) {
      const [fh, fw] = this.size;
      const [sh, sw] = this.strides;
      const inRange = (start: number, extent: number, limit: number): number => Math.min(start + extent, limit) - Math.max(start, 0);
      const scale = new Float32Array(info.outHeight * info.outWidth);
      for (let i = 0; i < info.outHeight; i++) {
        for (let j = 0; j < info.outWidth; j++) scale[i * info.outWidth + j] = (fh * fw) / (inRange(i * sh - top, fh, h) * inRange(j * sw - left, fw, w));
      }
      this.explicitPad = { pad: [top, bottom, left, right], scale };
    }
  }
  apply(x: tf.Tensor): tf.Tensor4D {
    const x4 = x as tf.Tensor4D;
    if (this.kind === 'max') return tf.maxPool(x4, this.size, this.strides, this.padding);
    if (this.explicitPad === undefined) return tf.avgPool(x4, this.size, this.strides, this.padding);
    const { pad, scale } = this.explicitPad;
    return tf.tidy(() => {
      const padded = tf.pad(x4, [[0, 0], [pad[0], pad[1]], [pad[2], pad[3]], [0, 0]]);
      const pooled = tf.avgPool(padded, this.size, this.strides, 'valid');
      return tf.mul(pooled, tf.tensor4d(scale, [1, this.outputShape[0] as number, this.outputShape[1] as number, 1]));
    });
  }
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
    return tf.reshape(x, [x.shape[0] as number, ...this.outputShape]);
  }
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
    return x.rank === 2 ? (x as tf.Tensor2D) : tf.reshape(x, [x.shape[0] as number, this.outputSize]);
  }
}

/**
 * Where dropout masks come from. The seed of a mask is a function of (model seed, training step, layer), so masks
 * differ between steps, repeat between runs, and repeat when a step runs the forward pass twice (gradient strategies
 * that re-run the trunk must see the same mask), and a resumed run draws what the uninterrupted one would have.
 *
 * It is also how batch-norm tells a repeated forward pass of one step from a new step (see {@link BatchNorm}): once a
 * training loop numbers the steps (`model.setStep`), {@link numberedStep} is that number.
 */
export class DropoutSeeds {
  private current = 0;
  private numbered = false;
  private nextLayerId = 0;
  constructor(private readonly base: number) {}
  get step(): number {
    return this.current;
  }
  set step(value: number) {
    this.current = value;
    this.numbered = true;
  }
  /** The training step, once a loop has set one; undefined for a model used without numbered steps. */
  get numberedStep(): number | undefined {
    return this.numbered ? this.current : undefined;
  }
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

function asShape(shape: number | readonly number[]): number[] {
  return typeof shape === 'number' ? [shape] : [...shape];
}

/** Inverted dropout on every element, whatever the shape. */
export class Dropout implements Layer {
  readonly trainable: tf.Variable[] = [];
  readonly state: tf.Variable[] = [];
  readonly outputShape: number[];
  readonly outputSize: number;
  private readonly layerId: number;
  constructor(
    shape: number | readonly number[],
    readonly rate: number,
    private readonly seeds: DropoutSeeds,
  ) {
    this.outputShape = asShape(shape);
    this.outputSize = shapeSize(this.outputShape);
    this.layerId = seeds.register();
  }
  apply<T extends tf.Tensor>(x: T, training: boolean): T {
    if (!training || this.rate === 0) return x;
    return tf.dropout(x, this.rate, undefined, this.seeds.seedFor(this.layerId)) as T;
  }
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
 * would decay as momentum^T per step instead of momentum. Steps are told apart by {@link DropoutSeeds.numberedStep};
 * a model used without numbered steps updates on every training pass, as before.
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
    private readonly steps?: DropoutSeeds,
  ) {
    this.outputShape = asShape(shape);
    this.outputSize = shapeSize(this.outputShape);
    this.axes = this.outputShape.map((_, i) => i); // every axis but the last of [batch, ...shape]
    const channels = this.outputShape[this.outputShape.length - 1] as number;
    this.gamma = makeVariable(`${name}/gamma`, new Float32Array(channels).fill(1), [channels]);
    this.beta = makeVariable(`${name}/beta`, new Float32Array(channels), [channels]);
    this.movingMean = makeVariable(`${name}/moving_mean`, new Float32Array(channels), [channels], false);
    this.movingVariance = makeVariable(`${name}/moving_variance`, new Float32Array(channels).fill(1), [channels], false);
    this.trainable = [this.gamma, this.beta];
    this.state = [this.movingMean, this.movingVariance];
  }
  apply<T extends tf.Tensor>(x: T, training: boolean): T {
    if (!training) {
      return tf.batchNorm(x, this.movingMean, this.movingVariance, this.beta, this.gamma, this.epsilon) as T;
    }
    const { mean, variance } = tf.moments(x, this.axes.length === 1 ? 0 : this.axes);
    const step = this.steps?.numberedStep;
    if (step !== undefined && step === this.updatedAtStep) return tf.batchNorm(x, mean, variance, this.beta, this.gamma, this.epsilon) as T;
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
    const channels = this.outputShape[this.outputShape.length - 1] as number;
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
      return tf.add(tf.mul(normalised, this.gamma), this.beta) as T;
    });
  }
}

/** Layer types that need an image input. */
const IMAGE_INPUT: ReadonlySet<LayerConfig['type']> = new Set(['conv2d', 'max-pool', 'avg-pool']);

/** A problem with the shapes of a layer list, at `index` in it. */
export interface LayerProblem {
  index: number;
  message: string;
}

/**
 * The shape rules that do not depend on the input width: the input is flat; `reshape` makes an image, `flatten` a flat
 * vector; `conv2d` and the pools need an image, `dense` a flat vector; the list must end flat. Used at config
 * validation (with file positions) and again when a stack is built.
 */
export function layerShapeProblems(configs: readonly LayerConfig[]): LayerProblem[] {
  const problems: LayerProblem[] = [];
  let image = false;
  configs.forEach((config, index) => {
    if (config.type === 'dense' && image) {
      problems.push({ index, message: 'a dense layer needs a flat input but gets an image; put { type: flatten } before it' });
      image = false;
    } else if (IMAGE_INPUT.has(config.type) && !image) {
      problems.push({
        index,
        message: `a ${config.type} layer needs an image input but gets a flat vector; put { type: reshape, shape: [height, width, channels] } before it (the model input is a flat feature vector)`,
      });
      image = true;
    } else if (config.type === 'reshape') {
      image = true;
    } else if (config.type === 'flatten') {
      image = false;
    }
  });
  if (image) {
    problems.push({
      index: configs.length - 1,
      message: 'the layers end with an image; add { type: flatten } at the end (heads, gates and losses read flat vectors)',
    });
  }
  return problems;
}

/** Whether a layer list works on images anywhere (has a reshape). */
export function hasImageLayers(configs: readonly LayerConfig[]): boolean {
  return configs.some((config) => config.type === 'reshape' || IMAGE_INPUT.has(config.type));
}

/**
 * The flat tail of a layer list: the layers after its last `flatten` when it works on images, else all of it (what
 * can run on a flat vector of any width, e.g. the output of an earlier PLE level). `start` is its first index.
 */
export function flatTail(configs: readonly LayerConfig[]): { start: number; layers: LayerConfig[] } {
  if (!hasImageLayers(configs)) return { start: 0, layers: [...configs] };
  let last = -1;
  configs.forEach((config, index) => {
    if (config.type === 'flatten') last = index;
  });
  return { start: last + 1, layers: configs.slice(last + 1) };
}

export interface LayerStackOptions {
  /** Where the layers come from in the config, for error messages (default `model.trunk`). */
  label?: string;
  /** Index of the first layer in that list (a stack built from a part of it); also used in variable names. */
  firstIndex?: number;
  /** What the stack's input is, for error messages (default `the model input`). */
  input?: string;
}

/**
 * The per-example output shape of each layer of a list applied to a flat input of `inputSize` values, or a
 * `UsageError` naming the first layer that does not fit (`model.trunk[2] (conv2d): …`): the rules of
 * {@link layerShapeProblems}, a reshape whose size is not its input's, a `valid` window larger than its input.
 * Pure: a stack checks its whole plan before it creates any variable.
 */
export function planShapes(inputSize: number, configs: readonly LayerConfig[], options: LayerStackOptions = {}): number[][] {
  const label = options.label ?? 'model.trunk';
  const first = options.firstIndex ?? 0;
  const where = (index: number): string => `${label}[${first + index}] (${(configs[index] as LayerConfig).type})`;
  const problems = layerShapeProblems(configs);
  if (problems.length === 1) throw new UsageError(`${where((problems[0] as LayerProblem).index)}: ${(problems[0] as LayerProblem).message}`);
  if (problems.length > 1) throw new UsageError(`${label} has ${problems.length} shape problems:`, problems.map((p) => `${where(p.index)}: ${p.message}`));
  const shapes: number[][] = [];
  let shape: number[] = [inputSize];
  configs.forEach((config, index) => {
    const size = shapeSize(shape);
    switch (config.type) {
      case 'dense':
        shape = [config.units];
        break;
      case 'reshape': {
        const target = shapeSize(config.shape);
        if (target !== size) {
          const source = index === 0 ? (options.input ?? 'the model input') : `the output of ${label}[${first + index - 1}]`;
          throw new UsageError(
            `${where(index)}: shape ${formatShape(config.shape)} holds ${target} values, but its input (${source}) has ${size}; ` +
              `choose [height, width, channels] with height × width × channels = ${size}`,
          );
        }
        shape = [...config.shape];
        break;
      }
      case 'conv2d':
      case 'max-pool':
      case 'avg-pool': {
        const window = pair(config.type === 'conv2d' ? config.kernel : config.size);
        const [h, w, c] = shape as [number, number, number];
        if (config.padding === 'valid' && (window[0] > h || window[1] > w)) {
          throw new UsageError(
            `${where(index)}: a ${window[0]}×${window[1]} window with padding valid does not fit its ${formatShape(shape)} input; use padding: same or a smaller window`,
          );
        }
        const info =
          config.type === 'conv2d'
            ? tf.backend_util.computeConv2DInfo([1, h, w, c], [window[0], window[1], c, config.filters], pair(config.stride), 1, config.padding)
            : tf.backend_util.computePool2DInfo([1, h, w, c], window, pair(config.stride ?? config.size), 1, config.padding);
        shape = [info.outHeight, info.outWidth, config.type === 'conv2d' ? config.filters : c];
        break;
      }
      case 'flatten':
        shape = [size];
        break;
      case 'dropout':
      case 'batch-norm':
      case 'layer-norm':
        break;
    }
    shapes.push(shape);
  });
  return shapes;
}

/**
 * A sequence of layers built from config, e.g. a shared trunk or one task's head. Its input is flat
 * ([batch, inputSize]) and so is its output ([batch, outputSize]); inside, layers may pass images. Shape errors are
 * `UsageError`s naming the layer (`model.trunk[2] (conv2d): …`), raised before any variable exists.
 */
export class LayerStack {
  readonly layers: Layer[] = [];
  readonly outputSize: number;
  readonly outputShape: number[];
  constructor(
    name: string,
    readonly inputSize: number,
    configs: readonly LayerConfig[],
    rng: Rng,
    dropoutSeeds: DropoutSeeds,
    options: LayerStackOptions = {},
  ) {
    const first = options.firstIndex ?? 0;
    const planned = planShapes(inputSize, configs, options);
    let shape: number[] = [inputSize];
    configs.forEach((config, index) => {
      const layerName = `${name}/${first + index}`;
      const size = shapeSize(shape);
      let layer: Layer;
      switch (config.type) {
        case 'dense':
          layer = new Dense(layerName, size, config.units, config.activation, config.bias, rng);
          break;
        case 'dropout':
          layer = new Dropout(shape, config.rate, dropoutSeeds);
          break;
        case 'batch-norm':
          layer = new BatchNorm(layerName, shape, config.momentum, config.epsilon, dropoutSeeds);
          break;
        case 'layer-norm':
          layer = new LayerNorm(layerName, shape, config.epsilon);
          break;
        case 'reshape':
          layer = new Reshape(config.shape);
          break;
        case 'conv2d':
          layer = new Conv2D(layerName, shape, config.filters, config.kernel, config.stride, config.padding, config.activation, config.bias, rng);
          break;
        case 'max-pool':
        case 'avg-pool':
          layer = new Pool2D(config.type === 'max-pool' ? 'max' : 'avg', shape, config.size, config.stride, config.padding);
          break;
        case 'flatten':
          layer = new Flatten(size);
          break;
      }
      if (formatShape(layer.outputShape) !== formatShape(planned[index] as number[])) {
        throw new Error(`internal: layer ${first + index} built ${formatShape(layer.outputShape)}, planned ${formatShape(planned[index] as number[])}`);
      }
      this.layers.push(layer);
      shape = layer.outputShape;
    });
    this.outputShape = shape;
    this.outputSize = shapeSize(shape);
  }
  get trainable(): tf.Variable[] {
    return this.layers.flatMap((layer) => layer.trainable);
  }
  get state(): tf.Variable[] {
    return this.layers.flatMap((layer) => layer.state);
  }
  apply(x: tf.Tensor2D, training: boolean): tf.Tensor2D {
    return this.layers.reduce<tf.Tensor>((h, layer) => layer.apply(h, training), x) as tf.Tensor2D;
  }
  dispose(): void {
    for (const v of [...this.trainable, ...this.state]) v.dispose();
  }
}
