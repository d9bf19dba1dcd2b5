import { tf } from '../tf.js';
import type { Rng } from '../util/rng.js';
import { BatchNorm } from './layers/batch-norm.js';
import { Dense } from './layers/dense.js';
import type { StepClock } from './step-clock.js';

/**
 * Batch-norm settings of the attention module: PyTorch's `nn.BatchNorm2d` defaults, which MTAN's code uses
 * (running statistics m ← 0.9·m + 0.1·batch, ε = 1e-5).
 */
export const ATTENTION_NORM_MOMENTUM = 0.9;
export const ATTENTION_NORM_EPSILON = 1e-5;

/**
 * MTAN's task-specific attention module g (Liu, Johns & Davison 2019, §3.2 and Fig. 2; `att_layer` in the authors'
 * code): two 1×1 convolutions, each followed by batch normalisation, with a ReLU between them and a sigmoid at the end,
 *
 *   g(v) = σ(BN₂(W₂ · ReLU(BN₁(W₁ v + b₁)) + b₂)),   W₁: [in, C], W₂: [C, C]
 *
 * applied to one row v per example (flat features) or per (example, position) (images: a 1×1 convolution is the same
 * dense map at every position, and batch-norm over those rows is BatchNorm2d's per-channel statistics over batch,
 * height and width). The hidden width is C, the width of the mask, as in MTAN's SegNet (`[2C, C, C]`).
 */
export class AttentionModule {
  readonly first: Dense;
  readonly firstNorm: BatchNorm;
  readonly second: Dense;
  readonly secondNorm: BatchNorm;
  constructor(name: string, inputWidth: number, maskWidth: number, rng: Rng, clock: StepClock) {
    this.first = new Dense(`${name}/dense1`, inputWidth, maskWidth, 'linear', true, rng);
    this.firstNorm = new BatchNorm(`${name}/norm1`, maskWidth, ATTENTION_NORM_MOMENTUM, ATTENTION_NORM_EPSILON, clock);
    this.second = new Dense(`${name}/dense2`, maskWidth, maskWidth, 'linear', true, rng);
    this.secondNorm = new BatchNorm(`${name}/norm2`, maskWidth, ATTENTION_NORM_MOMENTUM, ATTENTION_NORM_EPSILON, clock);
  }
  get trainable(): tf.Variable[] {
    return [
      ...this.first.trainable,
      ...this.firstNorm.trainable,
      ...this.second.trainable,
      ...this.secondNorm.trainable,
    ];
  }
  get state(): tf.Variable[] {
    return [...this.firstNorm.state, ...this.secondNorm.state];
  }
  /** The mask, [rows, C], each value in (0, 1). */
  apply(rows: tf.Tensor2D, training: boolean): tf.Tensor2D {
    return tf.tidy(() => {
      const hidden = tf.relu(this.firstNorm.apply(this.first.apply(rows), training));
      return tf.sigmoid(this.secondNorm.apply(this.second.apply(hidden), training));
    });
  }
  dispose(): void {
    for (const v of [...this.trainable, ...this.state]) v.dispose();
  }
}

/**
 * A feature tensor ([batch, size] flat, seen in `shape`) as one row per (example, position) of a [height, width]
 * grid, for a 1×1 convolution there: an image is brought to that resolution by average pooling (stride ⌊h/H⌋,
 * window h − (H − 1)·stride, which gives exactly H rows; the same for widths), or, when it is smaller than the grid,
 * its global average is used at every position; a flat vector is repeated at every position.
 */
export function positionRows(flat: tf.Tensor2D, shape: readonly number[], height: number, width: number): tf.Tensor2D {
  return tf.tidy(() => {
    const batch = flat.shape[0];
    const positions = height * width;
    if (shape.length !== 3) {
      const spread = tf.tile(tf.expandDims(flat, 1), [1, positions, 1]);
      return tf.reshape(spread, [batch * positions, flat.shape[1]]);
    }
    const [h, w, c] = shape as [number, number, number];
    const image = tf.reshape(flat, [batch, h, w, c]) as tf.Tensor4D;
    let resized: tf.Tensor4D;
    if (h === height && w === width) resized = image;
    else if (h >= height && w >= width) {
      const strides: [number, number] = [Math.floor(h / height), Math.floor(w / width)];
      const window: [number, number] = [h - (height - 1) * strides[0], w - (width - 1) * strides[1]];
      resized = tf.avgPool(image, window, strides, 'valid');
    } else resized = tf.tile(tf.mean(image, [1, 2], true), [1, height, width, 1]) as tf.Tensor4D;
    return tf.reshape(resized, [batch * positions, c]);
  });
}

const detach = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.clone(x),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as unknown as Parameters<typeof tf.customGrad>[0]);

/**
 * Identity forward, zero gradient backward (TF's stop_gradient; strategies/weighting/common.ts has the same for
 * loss weights, model/ does not import strategies/). Used on MTAN's u^(0) when no trainable layer produced it: its
 * gradient reaches no parameter, and in the shared representation it would add coordinates to every task's
 * gradient that no shared parameter has (MGDA-UB's Gram matrix, PCGrad's projections…).
 */
export function withoutGradient<T extends tf.Tensor>(x: T): T {
  return detach(x) as T;
}
