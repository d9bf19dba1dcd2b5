/**
 * src/ops/ on a backend that has none of the project's kernels: each op takes TF.js's ops instead, and gives the same
 * numbers as where its kernel runs (bit for bit; the cross-entropies as TF.js's `tf.losses`, which the fused kernels
 * match to float32 precision). The backend is the cpu backend's kernels under another name, without `_FusedMatMul`
 * (what the dense kernels delegate to) and without the project's own kernels.
 */
import { tf } from '../src/tf.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/select.js';
import { adamKernelLimit, adamUpdate, type AdamHyperparameters } from '../src/ops/adam.js';
import { sigmoidCrossEntropy, softmaxCrossEntropy } from '../src/ops/cross-entropy.js';
import { denseLinear, denseRelu } from '../src/ops/dense.js';
import { gatherBatches } from '../src/ops/gather-batches.js';
import { values } from './helpers.js';

const BARE = 'cpu-without-mtl-kernels';

beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
  const cpu = tf.findBackend('cpu');
  if (cpu === null) throw new Error('the cpu backend is not registered');
  // The cpu backend's class: a fresh instance, so the two backends keep their tensors apart.
  const CpuBackend = cpu.constructor as new () => tf.KernelBackend;
  tf.registerBackend(BARE, () => new CpuBackend(), -1);
  for (const kernel of tf.getKernelsForBackend('cpu')) {
    if (kernel.kernelName === '_FusedMatMul' || kernel.kernelName.startsWith('Mtl')) continue;
    tf.registerKernel({ ...kernel, backendName: BARE });
  }
}, 60_000);
afterAll(async () => {
  await tf.setBackend('wasm');
  tf.removeBackend(BARE);
});

/** `compute` on `backend`, its result read back, and the names of the kernels it ran. */
async function on<T>(backend: string, compute: () => T): Promise<{ result: T; kernels: string[] }> {
  await tf.setBackend(backend);
  try {
    let result: T | undefined;
    const profile = await tf.profile(() => {
      result = compute();
      return [];
    });
    return { result: result as T, kernels: profile.kernels.map((k) => k.name) };
  } finally {
    await tf.setBackend('wasm');
  }
}

const read = (t: tf.Tensor): number[] => Array.from(t.dataSync());

describe('the ops on a backend without the project kernels', () => {
  it('dense relu and linear: TF.js ops, the same values and gradients as the kernels on cpu', async () => {
    const run = (op: typeof denseRelu): number[][] =>
      tf.tidy(() => {
        const x = tf.tensor2d(values(23 * 17, 1), [23, 17]);
        const w = tf.tensor2d(values(17 * 11, 2), [17, 11]);
        const b = tf.tensor1d(values(11, 3));
        const u = tf.tensor2d(values(23 * 11, 4), [23, 11]);
        const { value, grads } = tf.valueAndGrads((ws: tf.Tensor, bs: tf.Tensor) => tf.sum(tf.mul(op(x, ws, bs), u)))([
          w,
          b,
        ]);
        return [read(op(x, w, b)), read(value), ...grads.map(read)];
      });
    for (const op of [denseRelu, denseLinear]) {
      const bare = await on(BARE, () => run(op));
      expect(bare.kernels.filter((name) => name.startsWith('Mtl'))).toEqual([]);
      expect(bare.kernels).toContain('BatchMatMul');
      // Against cpu, whose products sum in the same order (wasm's differ from cpu's in the last bits, kernel or not).
      const kernel = await on('cpu', () => run(op));
      expect(kernel.kernels.some((name) => name.startsWith('MtlDense'))).toBe(true);
      expect(bare.result, op.name).toEqual(kernel.result);
    }
  });

  it("cross-entropies: tf.losses' values, within float32 precision of the fused kernels", async () => {
    const z = values(9 * 4, 5).map((v) => v * 6);
    const oneHot = Float32Array.from({ length: 9 * 4 }, (_, i) => (i % 4 === Math.floor(i / 4) % 4 ? 1 : 0));
    const binary = Float32Array.from({ length: 9 * 4 }, (_, i) => ((i * 7) % 3 === 0 ? 1 : 0));
    const losses = [
      [softmaxCrossEntropy, oneHot, (t: tf.Tensor2D, l: tf.Tensor2D) => tf.losses.softmaxCrossEntropy(t, l)],
      [sigmoidCrossEntropy, binary, (t: tf.Tensor2D, l: tf.Tensor2D) => tf.losses.sigmoidCrossEntropy(t, l)],
    ] as const;
    for (const [loss, targets, stock] of losses) {
      const run = (f: (t: tf.Tensor2D, l: tf.Tensor2D) => tf.Tensor): number[][] =>
        tf.tidy(() => {
          const t = tf.tensor2d(targets, [9, 4]);
          const { value, grad } = tf.valueAndGrad((l: tf.Tensor) => f(t, l as tf.Tensor2D) as tf.Scalar)(
            tf.tensor2d(z, [9, 4]),
          );
          return [read(value), read(grad)];
        });
      const bare = await on(BARE, () => run(loss));
      expect(bare.kernels.filter((name) => name.startsWith('Mtl'))).toEqual([]);
      expect(bare.result).toEqual((await on('cpu', () => run(stock))).result);
      const fused = await on('wasm', () => run(loss));
      expect(fused.kernels.some((name) => name.startsWith('Mtl'))).toBe(true);
      expect(Math.abs(bare.result[0]![0]! - fused.result[0]![0]!)).toBeLessThan(2e-6 * Math.abs(fused.result[0]![0]!));
      bare.result[1]!.forEach((g, i) => expect(Math.abs(g - fused.result[1]![i]!)).toBeLessThan(1e-7));
    }
  });

  it('gatherBatches: a gather and a split, the same batches bit for bit as the wasm kernel', async () => {
    const run = (): number[][] =>
      tf.tidy(() => {
        const x = tf.tensor2d(values(50 * 3, 6), [50, 3]);
        const index = tf.tensor1d(
          Int32Array.from({ length: 50 }, (_, i) => (i * 17 + 5) % 50),
          'int32',
        );
        return gatherBatches(x, index, 16).map((batch) => [batch.shape[0]!, ...read(batch)]);
      });
    const bare = await on(BARE, run);
    expect(bare.kernels).not.toContain('MtlGatherBatches');
    const kernel = await on('wasm', run);
    expect(kernel.kernels).toContain('MtlGatherBatches');
    expect(bare.result.map((batch) => batch[0])).toEqual([16, 16, 16, 2]);
    expect(bare.result).toEqual(kernel.result);
  });

  it('adamUpdate: the op chain, the same variable and moments bit for bit as the wasm kernel', async () => {
    const settings: AdamHyperparameters[] = [
      {
        beta1: 0.9,
        beta2: 0.999,
        stepSize: 3e-3 / (1 - 0.9 ** 3),
        bias2: 1 - 0.999 ** 3,
        epsilon: 1e-7,
        coupledDecay: 0.01,
        decoupledDecay: 0,
      },
      { beta1: 0.8, beta2: 0.99, stepSize: 1e-2, bias2: 0.5, epsilon: 1e-8, coupledDecay: 0, decoupledDecay: 1e-4 },
    ];
    for (const hyper of settings) {
      const run = (): number[][] => {
        const limit = adamKernelLimit();
        return tf.tidy(() => {
          const [variable, gradient, m] = [7, 8, 9].map((seed) => tf.tensor2d(values(40 * 30, seed), [40, 30]));
          const v = tf.abs(tf.tensor2d(values(40 * 30, 10), [40, 30]));
          const out = adamUpdate({ variable: variable!, gradient: gradient!, m: m!, v }, hyper, tf.scalar, limit);
          return [[limit], read(out.variable), read(out.m), read(out.v)];
        });
      };
      const bare = await on(BARE, run);
      expect(bare.result[0]).toEqual([0]);
      expect(bare.kernels).not.toContain('MtlAdamUpdate');
      const kernel = await on('wasm', run);
      expect(kernel.kernels).toContain('MtlAdamUpdate');
      expect(bare.result.slice(1)).toEqual(kernel.result.slice(1));
    }
  });
});
