/**
 * Every architecture with a convolutional trunk: soft-sharing couples conv kernels, cross-stitch and attention work on
 * feature maps, ple's later levels read the flat tail, and each architecture's outputs, gradients and tensor count.
 */
import { tf } from '../src/tf.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/select.js';
import type { LayerConfig, ModelConfig } from '../src/config/types.js';
import { checkpointVariables } from '../src/model/checkpoint.js';
import type { InspectableModel } from '../src/model/experts.js';
import { architectureRegistry, getArchitecture } from '../src/model/registry.js';
import type { MultiTaskModel } from '../src/model/types.js';
import { createRng } from '../src/util/rng.js';
import { expectClose, tensorValues } from './helpers/expect.js';
import { conv, flatten, input, reshape, smallTrunk, twoHeads } from './helpers/layers.js';

const smallOptions: Record<string, Record<string, unknown>> = {
  'soft-sharing': { coupling: 'trace-norm', lambda: 0.01 },
  'cross-stitch': { alpha: 0.9 },
  mmoe: { experts: 2 },
  cgc: { shared_experts: 1, task_experts: 1 },
  ple: { levels: 2, shared_experts: 1, task_experts: 1 },
  attention: {},
  'dselect-k': { experts: 2, k: 2, gamma: 1, entropy_reg: 0.001 },
};

function buildModel(architecture: string, trunk: LayerConfig[] = smallTrunk, inputSize = 40, seed = 1): MultiTaskModel {
  const config: ModelConfig = { architecture, trunk, head: [], ...(smallOptions[architecture] ?? {}) };
  return getArchitecture(architecture).build(config, {
    inputSize,
    heads: twoHeads,
    rng: createRng(seed).fork('model'),
  });
}

beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
}, 60_000);

describe('architectures with a conv trunk', () => {
  it(
    'soft-sharing couples conv kernels: l2 over every kernel, trace norm of [kh·kw·c_in, c_out] matrices side by ' +
      'side',
    () => {
      const trunk = [reshape([2, 2, 1]), conv(2, 2, { padding: 'valid', activation: 'linear' }), flatten];
      const build = (coupling: string): MultiTaskModel =>
        getArchitecture('soft-sharing').build(
          { architecture: 'soft-sharing', trunk, head: [], coupling, lambda: 0.5 },
          { inputSize: 4, heads: twoHeads, rng: createRng(1) },
        );
      // Task a's kernel as a [4, 2] matrix [[1,0],[0,1],[0,0],[0,0]]; task b's [[0,0],[0,0],[3,0],[0,4]].
      const ka = tf.tensor4d([1, 0, 0, 1, 0, 0, 0, 0], [2, 2, 1, 2]);
      const kb = tf.tensor4d([0, 0, 0, 0, 3, 0, 0, 4], [2, 2, 1, 2]);
      for (const coupling of ['l2', 'trace-norm']) {
        const model = build(coupling);
        try {
          const named = Object.fromEntries(checkpointVariables(model).map((v) => [v.name, v]));
          named['tasks/a/tower/1/kernel']?.assign(ka);
          named['tasks/b/tower/1/kernel']?.assign(kb);
          const p = model.penalty?.() as tf.Scalar;
          // l2: ‖Ka − Kb‖² = 1 + 1 + 9 + 16 = 27;
          // trace norm of [[1,0,0,0],[0,1,0,0],[0,0,3,0],[0,0,0,4]] = 1 + 1 + 3 + 4 = 9.
          expect(p.dataSync()[0]).toBeCloseTo(0.5 * (coupling === 'l2' ? 27 : 9), 4);
          p.dispose();
        } finally {
          model.dispose();
        }
      }
      tf.dispose([ka, kb]);
    },
  );

  it('cross-stitch mixes feature maps elementwise', () => {
    const model = buildModel('cross-stitch') as InspectableModel;
    const x = input(3, 40);
    try {
      const record = model.inspect(x);
      const pre = ['a', 'b'].map((t) => tensorValues(record[`tower/${t}/0`] as tf.Tensor));
      expect((record['tower/a/0'] as tf.Tensor).shape).toEqual([3, 2, 2, 3]); // conv → batch-norm → max-pool
      tensorValues(record['mixed/a/0'] as tf.Tensor).forEach((v, i) =>
        expect(v).toBeCloseTo(0.9 * (pre[0]?.[i] as number) + 0.1 * (pre[1]?.[i] as number), 5),
      );
      for (const t of Object.values(record)) t.dispose();
    } finally {
      x.dispose();
      model.dispose();
    }
  });

  it('attention: per-position, per-channel masks in (0, 1) on conv blocks, and forward = decode(encode(x))', () => {
    const model = buildModel('attention') as InspectableModel;
    const x = input(3, 40);
    try {
      const record = model.inspect(x);
      // Blocks: [reshape, conv, batch-norm, max-pool] → [2, 2, 3]; [conv 2×2 valid, dropout, flatten] → image [1, 1,
      // 4]; [dense] → [6].
      expect((record['mask/a/0'] as tf.Tensor).shape).toEqual([3, 2, 2, 3]);
      expect((record['mask/a/1'] as tf.Tensor).shape).toEqual([3, 1, 1, 4]);
      expect((record['mask/b/2'] as tf.Tensor).shape).toEqual([3, 6]);
      for (const [name, t] of Object.entries(record))
        if (name.startsWith('mask/')) for (const v of t.dataSync()) expect(v > 0 && v < 1).toBe(true);
      // 1×1-conv modules read [u^(j) ; â^(j−1)]: the input image's 2 channels, then 3 + 3 channels of block 0's output,
      // then block 1's flat output (4) twice.
      const names = Object.fromEntries(checkpointVariables(model).map((v) => [v.name, v.shape]));
      expect(names['tasks/a/attention/0/dense1/kernel']).toEqual([2, 3]);
      expect(names['tasks/a/attention/1/dense1/kernel']).toEqual([3 + 3, 4]);
      expect(names['tasks/a/attention/2/dense1/kernel']).toEqual([4 + 4, 6]);
      expect(names['tasks/a/attention/2/dense2/kernel']).toEqual([6, 6]);
      const { outputs, representation } = model.forward(x, false);
      expect(representation?.shape).toEqual([3, 40 + 12 + 4 + 6]);
      const decoded = model.decode?.(model.encode?.(x, false) as tf.Tensor, false) as Record<string, tf.Tensor2D>;
      for (const name of ['a', 'b'])
        expectClose(tensorValues(decoded[name] as tf.Tensor), tensorValues(outputs[name] as tf.Tensor), 6);
      for (const t of Object.values(record)) t.dispose();
    } finally {
      x.dispose();
      model.dispose();
    }
  });

  it('ple: the first level runs the whole conv trunk, later levels its flat tail (named by trunk index)', () => {
    const model = buildModel('ple');
    try {
      const names = checkpointVariables(model).map((v) => v.name);
      expect(names).toContain('levels/0/shared-experts/0/1/kernel'); // conv
      expect(names).toContain('levels/1/shared-experts/0/7/kernel'); // the dense after the flatten
      expect(names.some((n) => n.startsWith('levels/1/shared-experts/0/1/'))).toBe(false);
    } finally {
      model.dispose();
    }
  });

  it.each([...architectureRegistry.keys()])(
    '%s: shapes, finite outputs, every trainable variable reached, stable tensor count',
    (name) => {
      const model = buildModel(name);
      const x = input(4, 40);
      try {
        model.setStep(2);
        const before = tf.memory().numTensors;
        const { outputs, representation } = model.forward(x, true);
        expect((outputs['a'] as tf.Tensor).shape).toEqual([4, 1]);
        expect((outputs['b'] as tf.Tensor).shape).toEqual([4, 3]);
        for (const o of Object.values(outputs)) expect(tensorValues(o).every(Number.isFinite)).toBe(true);
        tf.dispose([...Object.values(outputs), ...(representation ? [representation] : [])]);
        // Hard sharing leaves tidying its forward pass to the caller (the trainer's tape); the others tidy their own.
        if (name !== 'hard-sharing') expect(tf.memory().numTensors).toBe(before);
        const trainable = [...model.sharedVariables, ...Object.values(model.taskVariables).flat()];
        const { value, grads } = tf.variableGrads(
          () => tf.addN(Object.values(model.forward(x, true).outputs).map((o) => tf.sum(tf.square(o)))) as tf.Scalar,
          trainable,
        );
        for (const v of trainable)
          expect(
            tensorValues(grads[v.name] as tf.Tensor).some((g) => g !== 0),
            `${v.name} gets no gradient`,
          ).toBe(true);
        tf.dispose([value, ...Object.values(grads)]);
      } finally {
        x.dispose();
        model.dispose();
      }
    },
  );
});
