import { tf } from '../src/tf.js';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/select.js';
import { DENSE_LINEAR_KERNEL, DENSE_RELU_KERNEL, denseLinear, denseRelu } from '../src/ops/dense.js';
import { values } from './helpers.js';

let previousBackend: string | undefined;
beforeAll(async () => {
  previousBackend = tf.getBackend() as string | undefined;
  await initBackend('wasm', { fma: 'off' }); // with the project's kernel overrides, as `mtl train` runs
}, 60_000);
afterAll(async () => {
  if (previousBackend !== undefined && previousBackend !== tf.getBackend()) await tf.setBackend(previousBackend);
});

/** The layer's output, then the loss and gradients (w.r.t. x when asked, kernel, bias) of Σ relu(x·W + b)·u. */
function lossAndGradients(
  layer: (x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor) => tf.Tensor2D,
  withInput: boolean,
): number[][] {
  const [batch, inputs, units] = [37, 29, 19];
  return tf.tidy(() => {
    const x = tf.tensor2d(values(batch * inputs, 1), [batch, inputs]);
    const w = tf.tensor2d(values(inputs * units, 2), [inputs, units]);
    const b = tf.tensor1d(values(units, 3));
    const u = tf.tensor2d(values(batch * units, 4), [batch, units]);
    const f = (xs: tf.Tensor2D, ws: tf.Tensor, bs: tf.Tensor): tf.Scalar => tf.sum(tf.mul(layer(xs, ws, bs), u));
    const { value, grads } = withInput
      ? tf.valueAndGrads((xs: tf.Tensor, ws: tf.Tensor, bs: tf.Tensor) => f(xs as tf.Tensor2D, ws, bs))([x, w, b])
      : tf.valueAndGrads((ws: tf.Tensor, bs: tf.Tensor) => f(x, ws, bs))([w, b]);
    return [
      Array.from(layer(x, w, b).dataSync()),
      Array.from(value.dataSync()),
      ...grads.map((g) => Array.from(g.dataSync())),
    ];
  });
}

const splitOps = (x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D =>
  tf.relu(tf.add(tf.matMul(x, w as tf.Tensor2D), b)) as tf.Tensor2D;

describe('dense relu op', () => {
  for (const backend of ['wasm', 'cpu']) {
    it(`${backend}: value and gradients bit-identical to matMul + add + relu`, async () => {
      await tf.setBackend(backend);
      try {
        const before = tf.memory().numTensors;
        const fused = lossAndGradients(denseRelu, true);
        expect(fused).toEqual(lossAndGradients(splitOps, true));
        expect(fused[0]!.filter((y) => y === 0).length).toBeGreaterThan(100); // many units were off: the mask mattered
        expect(lossAndGradients(denseRelu, false)).toEqual(lossAndGradients(splitOps, false));
        expect(tf.memory().numTensors).toBe(before);
      } finally {
        await tf.setBackend('wasm');
      }
    });
  }

  for (const backend of ['wasm', 'cpu']) {
    it(`${backend}: linear op value and gradients bit-equal to tf.fused.matMul's (and matMul + add's)`, async () => {
      await tf.setBackend(backend);
      try {
        const before = tf.memory().numTensors;
        const fusedMatMul = (x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D =>
          tf.fused.matMul({ a: x, b: w as tf.Tensor2D, bias: b }) as tf.Tensor2D;
        const plain = (x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D =>
          tf.add(tf.matMul(x, w as tf.Tensor2D), b);
        for (const withInput of [true, false]) {
          const ours = lossAndGradients(denseLinear, withInput);
          expect(ours).toEqual(lossAndGradients(fusedMatMul, withInput));
          expect(ours).toEqual(lossAndGradients(plain, withInput));
        }
        expect(tf.memory().numTensors).toBe(before);
      } finally {
        await tf.setBackend('wasm');
      }
    });
  }

  for (const [name, op, kernel] of [
    ['relu', denseRelu, DENSE_RELU_KERNEL],
    ['linear', denseLinear, DENSE_LINEAR_KERNEL],
  ] as const) {
    it(
      `the ${name} op is one kernel forward; its gradient stays in rank 2 and computes no input gradient it is not ` +
        `asked for`,
      async () => {
        const x = tf.tensor2d(values(8 * 5, 1), [8, 5]);
        const w = tf.variable(tf.tensor2d(values(5 * 3, 2), [5, 3]));
        const b = tf.variable(tf.tensor1d(values(3, 3)));
        const forward = await tf.profile(() => op(x, w, b));
        expect(forward.kernels.map((k) => k.name)).toEqual([kernel]);
        const backward = await tf.profile(() => {
          const { value, grads } = tf.variableGrads(() => tf.sum(op(x, w, b)));
          return [value, ...Object.values(grads)];
        });
        // No detour through rank 3 (tf.fused.matMul reshapes to [1, rows, columns] and back, both ways).
        const rank3 = backward.kernels
          .filter((k) => k.inputShapes.some((shape) => shape?.length === 3))
          .map((k) => k.name);
        expect(rank3).toEqual([]);
        // dW = xᵀ·dz only: no dx = dz·Wᵀ for the batch, which is not a variable.
        expect(backward.kernels.filter((k) => k.name === 'BatchMatMul')).toHaveLength(1);
        tf.dispose([x, w, b, ...(backward.result as tf.Tensor[]), forward.result as tf.Tensor]);
      },
    );
  }
});
