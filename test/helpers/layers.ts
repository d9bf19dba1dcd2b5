/** Layer configs, small trunks and layer stacks for the layer, stack and architecture tests. */
import { tf } from '../../src/tf.js';
import type { LayerConfig } from '../../src/config/types.js';
import { LayerStack } from '../../src/model/layers/stack.js';
import { StepClock } from '../../src/model/step-clock.js';
import type { HeadSpec } from '../../src/model/types.js';
import { createRng } from '../../src/util/rng.js';

export const reshape = (shape: [number, number, number]): LayerConfig => ({ type: 'reshape', shape });
export const conv = (
  filters: number,
  kernel: number | [number, number] = 3,
  extra: Partial<Extract<LayerConfig, { type: 'conv2d' }>> = {},
): LayerConfig => ({
  type: 'conv2d',
  filters,
  kernel,
  stride: 1,
  padding: 'same',
  activation: 'relu',
  bias: true,
  ...extra,
});
export const maxPool = (size: number): LayerConfig => ({ type: 'max-pool', size, padding: 'valid' });
export const flatten: LayerConfig = { type: 'flatten' };
export const dense = (units: number): LayerConfig => ({ type: 'dense', units, activation: 'relu', bias: true });
export const dropout = (rate: number): LayerConfig => ({ type: 'dropout', rate });
export const batchNorm: LayerConfig = { type: 'batch-norm', momentum: 0.9, epsilon: 0.001 };

/** The configs/multi-digits-conv.yaml trunk (8 × 12 images). */
export const digitsTrunk: LayerConfig[] = [reshape([8, 12, 1]), conv(16), maxPool(2), conv(32), flatten, dense(64)];

/** A small image trunk for unit tests: 4 × 5 × 2 images (40 inputs). */
export const smallTrunk: LayerConfig[] = [
  reshape([4, 5, 2]),
  conv(3),
  batchNorm,
  maxPool(2),
  conv(4, [2, 2], { padding: 'valid' }),
  dropout(0.2),
  flatten,
  dense(6),
];

/** A regression head of width 1 and a 3-class head. */
export const twoHeads: HeadSpec[] = [
  { name: 'a', type: 'regression', outputSize: 1 },
  { name: 'b', type: 'multiclass', outputSize: 3 },
];

/** A layer stack named like a trunk, initialised from seed 1. */
export function stack(configs: LayerConfig[], inputSize: number, name = 'shared'): LayerStack {
  return new LayerStack(name, inputSize, configs, createRng(1), new StepClock(1));
}

/** rows × columns standard-normal values from the seed. */
export function input(rows: number, columns: number, seed = 3): tf.Tensor2D {
  const rng = createRng(seed);
  return tf.tensor2d(
    Float32Array.from({ length: rows * columns }, () => rng.normal()),
    [rows, columns],
  );
}
