/**
 * Layer stacks: the output shape of each layer through a trunk, reshape/flatten layout, strides and padding, the
 * blocks architectures cut a trunk into, and the shape errors a stack reports when it is built.
 */
import { tf } from '../src/tf.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/select.js';
import { blockFeatureShape, splitBlocks } from '../src/model/experts.js';
import { buildArchitecture } from '../src/model/registry.js';
import { createRng } from '../src/util/rng.js';
import { tensorValues, usageError } from './helpers/expect.js';
import { conv, dense, digitsTrunk, flatten, input, reshape, stack, twoHeads } from './helpers/layers.js';

beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
}, 60_000);

describe('shapes through a stack', () => {
  it('the multi-digits conv trunk: per-layer shapes, variable names and shapes, flat output', () => {
    const trunk = stack(digitsTrunk, 96);
    const x = input(5, 96);
    try {
      expect(trunk.layers.map((l) => l.outputShape)).toEqual([
        [8, 12, 1],
        [8, 12, 16],
        [4, 6, 16],
        [4, 6, 32],
        [768],
        [64],
      ]);
      expect(trunk.layers.map((l) => l.outputSize)).toEqual([96, 1536, 384, 768, 768, 64]);
      expect(trunk.outputShape).toEqual([64]);
      expect(trunk.outputSize).toBe(64);
      expect(trunk.trainable.map((v) => [v.name, v.shape])).toEqual([
        ['shared/1/kernel', [3, 3, 1, 16]],
        ['shared/1/bias', [16]],
        ['shared/3/kernel', [3, 3, 16, 32]],
        ['shared/3/bias', [32]],
        ['shared/5/kernel', [768, 64]],
        ['shared/5/bias', [64]],
      ]);
      const y = trunk.apply(x, true);
      expect(y.shape).toEqual([5, 64]);
      expect(tensorValues(y).every(Number.isFinite)).toBe(true);
      y.dispose();
    } finally {
      x.dispose();
      trunk.dispose();
    }
  });

  it('reshape is row-major (height, width, channels) and flatten undoes it', () => {
    const s = stack([reshape([2, 3, 2]), flatten], 12);
    const x = tf.tensor2d([Array.from({ length: 12 }, (_, i) => i)]);
    try {
      const image = s.layers[0]?.apply(x, false) as tf.Tensor;
      expect(image.shape).toEqual([1, 2, 3, 2]);
      expect((image.arraySync() as number[][][][])[0]?.[1]?.[2]).toEqual([10, 11]);
      expect(tensorValues(s.apply(x, false))).toEqual(tensorValues(x));
    } finally {
      s.dispose();
    }
  });

  it('strides, valid padding and non-square windows', () => {
    const s = stack(
      [
        reshape([7, 8, 1]),
        conv(5, [3, 2], { stride: 2, padding: 'valid' }),
        { type: 'avg-pool', size: [1, 2], padding: 'same' },
        flatten,
      ],
      56,
    );
    try {
      // conv: ⌈(7 − 3 + 1) / 2⌉ = 3, ⌈(8 − 2 + 1) / 2⌉ = 4; pool 1×2 stride 1×2 same: 3, 2.
      expect(s.layers.map((l) => l.outputShape)).toEqual([[7, 8, 1], [3, 4, 5], [3, 2, 5], [30]]);
      expect(s.outputSize).toBe(30);
    } finally {
      s.dispose();
    }
  });

  it('conv trunk blocks start at dense and conv2d layers; a block ending in flatten is seen as its image', () => {
    expect(splitBlocks(digitsTrunk)).toEqual([
      { start: 0, end: 3 },
      { start: 3, end: 5 },
      { start: 5, end: 6 },
    ]);
    const trunk = stack(digitsTrunk, 96);
    try {
      expect(splitBlocks(digitsTrunk).map((block) => blockFeatureShape(trunk, 96, block))).toEqual([
        [4, 6, 16],
        [4, 6, 32],
        [64],
      ]);
    } finally {
      trunk.dispose();
    }
  });
});

describe('shape errors', () => {
  it('a reshape whose product is not the input width names the layer and both sizes', () => {
    const error = usageError(() => stack([reshape([8, 12, 1]), conv(4), flatten], 100));
    expect(error.message).toBe(
      'model.trunk[0] (reshape): shape [8, 12, 1] holds 96 values, but its input (the model input) has 100; choose ' +
        '[height, width, channels] with height × width × channels = 100',
    );
    const later = usageError(() => stack([dense(10), reshape([3, 3, 1]), flatten], 5));
    expect(later.message).toMatch(
      new RegExp(
        String.raw`^model\.trunk\[1\] \(reshape\): shape \[3, 3, 1\] holds 9 values, but its input ` +
          String.raw`\(the output of model\.trunk\[0\]\) has 10`,
      ),
    );
  });

  it(
    'rank errors at build time: conv on a flat vector, dense on an image, a stack ending in an image, a window too ' +
      'large',
    () => {
      const convOnFlat = usageError(() => stack([conv(4), dense(2)], 16));
      expect(convOnFlat.message).toBe('model.trunk has 2 shape problems:');
      expect(convOnFlat.details[0]).toMatch(
        /^model\.trunk\[0\] \(conv2d\): a conv2d layer needs an image input .*reshape/,
      );
      expect(convOnFlat.details[1]).toMatch(/^model\.trunk\[1\] \(dense\): a dense layer needs a flat input/);
      expect(usageError(() => stack([reshape([4, 4, 1]), dense(3)], 16)).message).toMatch(
        /^model\.trunk\[1\] \(dense\): a dense layer needs a flat input .*flatten/,
      );
      expect(usageError(() => stack([reshape([4, 4, 1]), conv(2)], 16)).message).toMatch(
        /^model\.trunk\[1\] \(conv2d\): the layers end with an image/,
      );
      expect(
        usageError(() => stack([reshape([4, 4, 1]), conv(2, 5, { padding: 'valid' }), flatten], 16)).message,
      ).toMatch(/^model\.trunk\[1\] \(conv2d\): a 5×5 window with padding valid does not fit its \[4, 4, 1\] input/);
      // A head that does not fit, after the trunk was built: buildArchitecture frees the trunk's variables again.
      const context = { inputSize: 4, heads: twoHeads, rng: createRng(1) };
      const before = tf.memory().numTensors;
      const head = usageError(() =>
        buildArchitecture({ architecture: 'hard-sharing', trunk: [dense(8)], head: [conv(2), flatten] }, context),
      );
      expect(head.message).toMatch(/^model\.head\[0\] \(conv2d\): a conv2d layer needs an image input/);
      expect(tf.memory().numTensors).toBe(before);
      buildArchitecture({ architecture: 'hard-sharing', trunk: [dense(8)], head: [] }, context).dispose();
    },
  );
});
