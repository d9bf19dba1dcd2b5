import { tf } from '../tf.js';
import { OptionError } from '../util/options.js';
import type { Rng } from '../util/rng.js';
import { Conv2D } from './layers/conv2d.js';
import { Dense } from './layers/dense.js';
import { Flatten } from './layers/flatten.js';
import type { LayerStackOptions } from './layers/plan.js';
import { layerDefinition } from './layers/registry.js';
import { LayerStack } from './layers/stack.js';
import type { LayerConfigBase } from './layers/types.js';
import type { StepClock } from './step-clock.js';
import type { MultiTaskModel } from './types.js';

/**
 * Shared pieces of the architectures without one shared trunk (soft sharing, cross-stitch, MMoE, CGC/PLE, MTAN-style
 * attention, DSelect-k): blocks of a layer list, softmax gates, expert mixtures, and a way for tests to look inside.
 */

/** A model that can show its defining intermediate tensors (gate weights, attention masks, stitched activations). */
export interface InspectableModel extends MultiTaskModel {
  /** Named intermediate tensors of an inference-mode forward pass on `x`; the caller disposes them. */
  inspect(x: tf.Tensor2D): Record<string, tf.Tensor>;
}

/** Half-open index range [start, end) into a layer list. */
export interface Block {
  start: number;
  end: number;
}

/**
 * Cuts a layer list into blocks that each begin with a dense or conv2d layer (a type whose definition `startsBlock`)
 * and carry the other layers after it (dropout, batch-/layer-norm, pooling, flatten, reshape) up to the next dense or
 * conv2d layer; layers before the first dense/conv2d layer join the first block. A list without dense or conv2d layers
 * is one block; an empty list has no blocks. Architectures that act "after each layer" (cross-stitch units, attention
 * masks) act after each block, so a dense → dropout pair is stitched once, after the dropout, as Misra et al. place
 * cross-stitch units after a whole conv/pool block.
 */
export function splitBlocks(layers: readonly LayerConfigBase[]): Block[] {
  if (layers.length === 0) return [];
  const starts: number[] = [];
  layers.forEach((layer, index) => {
    if (layerDefinition(layer).startsBlock === true) starts.push(index);
  });
  if (starts.length === 0) return [{ start: 0, end: layers.length }];
  starts[0] = 0;
  return starts.map((start, i) => ({ start, end: starts[i + 1] ?? layers.length }));
}

/** Output width (flattened) after the layers [0, end) of a stack built on `inputSize` inputs. */
export function widthAfter(stack: LayerStack, inputSize: number, end: number): number {
  return end === 0 ? inputSize : stack.layers[end - 1]!.outputSize;
}

/** Per-example output shape after the layers [0, end) of a stack built on `inputSize` inputs. */
export function shapeAfter(stack: LayerStack, inputSize: number, end: number): number[] {
  return end === 0 ? [inputSize] : [...stack.layers[end - 1]!.outputShape];
}

/**
 * The shape in which a block's output is best seen feature by feature: its output shape, except when a flat output is
 * an image flattened inside the block (conv2d → pool → flatten, possibly followed by dropout or norms): then that
 * image's shape, so per-position, per-channel operations (attention masks) see positions and channels.
 */
export function blockFeatureShape(stack: LayerStack, inputSize: number, block: Block): number[] {
  const output = shapeAfter(stack, inputSize, block.end);
  if (output.length !== 1) return output;
  for (let i = block.end - 1; i >= block.start; i--) {
    const layer = stack.layers[i]!;
    if (layer instanceof Flatten) {
      const before = shapeAfter(stack, inputSize, i);
      return before.length === 3 ? before : output;
    }
    if (layer.outputShape.length !== 1 || layer.outputSize !== output[0]) return output;
  }
  return output;
}

/** Runs the layers [block.start, block.end) of a stack. */
export function applyBlock(stack: LayerStack, block: Block, x: tf.Tensor, training: boolean): tf.Tensor {
  let h = x;
  for (let i = block.start; i < block.end; i++) h = stack.layers[i]!.apply(h, training);
  return h;
}

/** The dense layers of a stack, in order. */
export function denseLayers(stack: LayerStack): Dense[] {
  return stack.layers.filter((layer): layer is Dense => layer instanceof Dense);
}

/** The layers with a kernel (dense and conv2d), in order: what soft-sharing couples. */
export function kernelLayers(stack: LayerStack): (Dense | Conv2D)[] {
  return stack.layers.filter((layer): layer is Dense | Conv2D => layer instanceof Dense || layer instanceof Conv2D);
}

/**
 * A softmax gate g(x) = softmax(W x) over `size` choices (Jordan & Jacobs 1994; MMoE's g^k(x) = softmax(W_gk x), eq. 6;
 * PLE's w^k(x) = softmax(W_g^k x), eq. 3), or softmax(W x + b) with `bias` (the `gate_bias` option; LibMTL's gates are
 * nn.Linear layers, which have one). Glorot-initialised, so every gate starts close to uniform.
 */
export class SoftmaxGate {
  readonly dense: Dense;
  constructor(
    name: string,
    inputSize: number,
    readonly size: number,
    rng: Rng,
    bias: boolean,
  ) {
    this.dense = new Dense(name, inputSize, size, 'linear', bias, rng);
  }
  get trainable(): tf.Variable[] {
    return this.dense.trainable;
  }
  /** [batch, size] weights, each row on the simplex. */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.softmax(this.dense.apply(x)));
  }
  dispose(): void {
    for (const v of this.trainable) v.dispose();
  }
}

/** The `gate_bias` option of the softmax-gated architectures (MMoE, CGC, PLE): whether gates add a bias. */
export const gateBiasSchema: Record<string, Record<string, unknown>> = {
  gate_bias: {
    type: 'boolean',
    default: false,
    description: "Give each softmax gate a bias, softmax(W x + b), as LibMTL does; the papers' gates are softmax(W x).",
  },
};

/** Reads `model.gate_bias` (default false, the papers' bias-free gates). */
export function gateBiasOption(config: Readonly<Record<string, unknown>>): boolean {
  const value = config['gate_bias'] ?? false;
  if (typeof value !== 'boolean') throw new OptionError('model.gate_bias', 'true or false', value);
  return value;
}

/**
 * Σ_e g[:, e] · h_e: the per-example convex combination of expert outputs h_e ([batch, d] each) by gate weights g
 * ([batch, E]).
 */
export function mixExperts(experts: readonly tf.Tensor2D[], gates: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const stacked = tf.stack(experts as tf.Tensor2D[], 1); // [batch, E, d]
    return tf.sum(tf.mul(stacked, tf.expandDims(gates, 2)), 1);
  });
}

/** Builds `count` experts, each a LayerStack of `layers` named `${prefix}${index}`. */
export function buildExperts(
  prefix: string,
  count: number,
  inputSize: number,
  layers: readonly LayerConfigBase[],
  rng: Rng,
  clock: StepClock,
  options: LayerStackOptions = {},
): LayerStack[] {
  return Array.from(
    { length: count },
    (_, e) => new LayerStack(`${prefix}${e}`, inputSize, layers, rng.fork(`${prefix}${e}`), clock, options),
  );
}

/** Every variable (trainable and state) of a list of stacks. */
export function stackVariables(stacks: readonly LayerStack[]): { trainable: tf.Variable[]; state: tf.Variable[] } {
  return { trainable: stacks.flatMap((s) => s.trainable), state: stacks.flatMap((s) => s.state) };
}
