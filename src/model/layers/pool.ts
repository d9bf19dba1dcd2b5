import { tf } from '../../tf.js';
import { shapeSize } from './shape.js';
import type { Layer, LayerDefinition } from './types.js';
import { pair, size2dSchema, windowProblem, type Padding, type Size2D } from './window.js';

export type PoolKind = 'max' | 'avg';

export interface PoolConfig<T extends 'max-pool' | 'avg-pool' = 'max-pool' | 'avg-pool'> {
  type: T;
  size: Size2D;
  /** Defaults to `size` (filled in when the config is resolved). */
  stride?: Size2D;
  padding: Padding;
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
    readonly kind: PoolKind,
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
      const inRange = (start: number, extent: number, limit: number): number =>
        Math.min(start + extent, limit) - Math.max(start, 0);
      const scale = new Float32Array(info.outHeight * info.outWidth);
      for (let i = 0; i < info.outHeight; i++) {
        for (let j = 0; j < info.outWidth; j++)
          scale[i * info.outWidth + j] = (fh * fw) / (inRange(i * sh - top, fh, h) * inRange(j * sw - left, fw, w));
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
      const padded = tf.pad(x4, [
        [0, 0],
        [pad[0], pad[1]],
        [pad[2], pad[3]],
        [0, 0],
      ]);
      const pooled = tf.avgPool(padded, this.size, this.strides, 'valid');
      return tf.mul(pooled, tf.tensor4d(scale, [1, this.outputShape[0]!, this.outputShape[1]!, 1]));
    });
  }
}

/** The definition of the `max-pool` or the `avg-pool` layer: the same options and shape rule. */
function poolLayer<T extends 'max-pool' | 'avg-pool'>(type: T, kind: PoolKind): LayerDefinition<PoolConfig<T>> {
  return {
    name: type,
    required: ['size'],
    optionsSchema: {
      size: size2dSchema('Window size: one number (square) or [height, width].'),
      stride: size2dSchema('Stride: one number or [height, width]; default: the window size.'),
      padding: { enum: ['same', 'valid'], default: 'valid' },
    },
    input: 'image',
    output: 'image',
    fillDefaults(config) {
      config.stride ??= config.size;
    },
    outputShape(config, input) {
      const window = pair(config.size);
      const problem = windowProblem(window, config.padding, input);
      if (problem !== undefined) return { problem };
      const [h, w, c] = input as [number, number, number];
      const info = tf.backend_util.computePool2DInfo(
        [1, h, w, c],
        window,
        pair(config.stride ?? config.size),
        1,
        config.padding,
      );
      return { shape: [info.outHeight, info.outWidth, c] };
    },
    build: (config, { inputShape }) => new Pool2D(kind, inputShape, config.size, config.stride, config.padding),
  };
}

export const maxPoolLayer = poolLayer('max-pool', 'max');
export const avgPoolLayer = poolLayer('avg-pool', 'avg');
