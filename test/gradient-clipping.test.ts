/**
 * Gradient clipping by global norm (training.grad_clip_norm): every gradient scaled by min(1, c / ‖g‖) with ‖g‖ the
 * norm of all gradients together — by hand, and in training, where an sgd step at rate 1 moves the weights by
 * exactly the clipped gradient.
 */
import path from 'node:path';
import { tf } from '../src/tf.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel, initBackend, prepareData, trainExperiment } from '../src/index.js';
import { clipByGlobalNorm } from '../src/train/step.js';
import { tempDir } from './helpers.js';
import { tinyRegressionConfig } from './helpers/configs.js';
import { bits, expectClose, tensorValues } from './helpers/expect.js';

beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
});

describe('clipByGlobalNorm (hand-computed)', () => {
  /** g = {a: [3, 4], b: [12]}: ‖g‖ = √(9 + 16 + 144) = 13. */
  const gradients = (): Record<string, tf.Tensor> => ({ a: tf.tensor1d([3, 4]), b: tf.tensor1d([12]) });

  it('scales all gradients by c / ‖g‖ when the global norm exceeds c', () => {
    const clipped = clipByGlobalNorm(gradients(), 6.5);
    expectClose(tensorValues(clipped['a'] as tf.Tensor), [1.5, 2], 6);
    expectClose(tensorValues(clipped['b'] as tf.Tensor), [6], 6);
    tf.dispose(Object.values(clipped));
  });

  it('leaves gradients whose global norm is within c as they are, and c = 0 turns clipping off', () => {
    for (const c of [13, 100, 0]) {
      const clipped = clipByGlobalNorm(gradients(), c);
      expect(tensorValues(clipped['a'] as tf.Tensor), `c = ${c}`).toEqual([3, 4]);
      expect(tensorValues(clipped['b'] as tf.Tensor), `c = ${c}`).toEqual([12]);
      tf.dispose(Object.values(clipped));
    }
  });

  it('keeps no tensors: the inputs are consumed, only the clipped gradients remain', () => {
    const before = tf.memory().numTensors;
    const clipped = clipByGlobalNorm(gradients(), 1);
    expect(tf.memory().numTensors).toBe(before + 2);
    tf.dispose(Object.values(clipped));
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('grad_clip_norm in training (sgd, rate 1, one step)', () => {
  /** Every trainable weight after one epoch of one batch, and before it, by name. */
  async function oneStep(
    clip: number,
  ): Promise<{ before: Map<string, Float32Array>; after: Map<string, Float32Array> }> {
    const dir = tempDir();
    const loaded = tinyRegressionConfig(dir, {
      optimizer: 'sgd',
      lr: 1,
      batch_size: 64,
      epochs: 1,
      grad_clip_norm: clip,
    });
    const initial = buildModel(loaded.config, (await prepareData(loaded.config, dir)).preprocessing);
    const weights = (model: typeof initial): Map<string, Float32Array> =>
      new Map(
        [...model.sharedVariables, ...Object.values(model.taskVariables).flat()].map((v) => [
          v.name,
          Float32Array.from(v.dataSync()),
        ]),
      );
    const before = weights(initial);
    initial.dispose();
    let after = new Map<string, Float32Array>();
    await trainExperiment(loaded, {
      runsDir: path.join(dir, 'runs'),
      listeners: [
        {
          onEpochEnd: (_, model) => {
            after = weights(model);
          },
        },
      ],
    });
    return { before, after };
  }

  /** θ_after − θ_before over all weights, in one list (by name, so both runs line up). */
  function step({ before, after }: { before: Map<string, Float32Array>; after: Map<string, Float32Array> }): number[] {
    return [...before.keys()]
      .sort()
      .flatMap((name) => Array.from(after.get(name) as Float32Array, (v, i) => v - (before.get(name)?.[i] as number)));
  }
  const norm = (v: readonly number[]): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

  it('a step of norm exactly c along the unclipped gradient when ‖g‖ > c; no change when c ≥ ‖g‖', async () => {
    const free = await oneStep(0);
    const freeStep = step(free);
    const c = 0.05;
    expect(norm(freeStep)).toBeGreaterThan(10 * c); // clipping is active below
    const clipped = step(await oneStep(c));
    expect(norm(clipped)).toBeCloseTo(c, 5);
    expectClose(
      clipped,
      freeStep.map((v) => (v * c) / norm(freeStep)),
      5,
    );
    // A bound the gradient never reaches: the same weights, bit for bit, as without clipping.
    const loose = await oneStep(1e6);
    expect(bits([...loose.after.values()].flatMap((v) => Array.from(v)))).toEqual(
      bits([...free.after.values()].flatMap((v) => Array.from(v))),
    );
  });
});
