/**
 * `MtlReluGrad` (backend/wasm/relu-grad.ts): dy ⊙ step(y) in one kernel, bit-identical to the `Step` then `Multiply`
 * that dense layers' backward passes ran before — signed zeros, infinities and NaN included — in SIMD blocks and in
 * the scalar tail, and with the SIMD kernels off.
 */
import { tf } from '../src/tf.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/select.js';
import { RELU_GRAD_KERNEL, setSimdKernelsEnabled } from '../src/backend/wasm/index.js';
import { denseGradients } from '../src/ops/dense.js';
import { values } from './helpers.js';

beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
}, 60_000);
afterAll(() => {
  setSimdKernelsEnabled(true);
});

const SPECIAL = [Number.NaN, -0, 0, 1e-45, -1e-45, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 3.5, -2];

/** Each float's bits, every NaN as one value (WebAssembly leaves NaN payloads open). */
function bits(t: tf.Tensor): number[] {
  const data = Float32Array.from(t.dataSync());
  return Array.from(new Uint32Array(data.buffer), (b, i) => (Number.isNaN(data[i]) ? 0x7fc00000 : b));
}

/** dy and y of `size` with every pairing of special values, then ordinary ones. */
function inputs(size: number): { dy: tf.Tensor2D; y: tf.Tensor2D } {
  const dy = values(size, 3).map((v, i) => (i < SPECIAL.length ** 2 ? SPECIAL[i % SPECIAL.length]! : v));
  const y = values(size, 4).map((v, i) => (i < SPECIAL.length ** 2 ? SPECIAL[Math.floor(i / SPECIAL.length)]! : v));
  return { dy: tf.tensor2d(dy, [1, size]), y: tf.tensor2d(y, [1, size]) };
}

function stock(dy: tf.Tensor, y: tf.Tensor): tf.Tensor {
  return tf.tidy((): tf.Tensor => {
    const mask: tf.Tensor = tf.engine().runKernel('Step', { x: y }, { alpha: 0 });
    return tf.engine().runKernel('Multiply', { a: dy, b: mask });
  });
}

describe('MtlReluGrad: dy ⊙ step(y) in one kernel', () => {
  for (const simd of [true, false]) {
    for (const size of [1, 3, 4, 7, 81, 82, 83, 84, 1001, 65_539]) {
      it(`${size} values, SIMD ${simd ? 'on' : 'off'}: the bits of Step then Multiply`, () => {
        setSimdKernelsEnabled(simd);
        const { dy, y } = inputs(size);
        const ours = tf.engine().runKernel(RELU_GRAD_KERNEL, { dy, y }) as tf.Tensor;
        const theirs = stock(dy, y);
        expect(bits(ours)).toEqual(bits(theirs));
        tf.dispose([dy, y, ours, theirs]);
      });
    }
  }

  it('the special values give what TF.js gives: −0 for a negative dy where y ≤ 0, NaN for NaN or ∞·0', () => {
    setSimdKernelsEnabled(true);
    const dy = tf.tensor2d([-3, 2, Number.POSITIVE_INFINITY, 5, -1, 4], [1, 6]);
    const y = tf.tensor2d([-1, 0, -2, Number.NaN, 7, -0], [1, 6]);
    const out = tf.engine().runKernel(RELU_GRAD_KERNEL, { dy, y }) as tf.Tensor;
    const got = Array.from(out.dataSync());
    expect(Object.is(got[0], -0)).toBe(true);
    expect(Object.is(got[1], 0)).toBe(true);
    expect(got[2]).toBeNaN();
    expect(got[3]).toBeNaN();
    expect(got[4]).toBe(-1);
    expect(Object.is(got[5], 0)).toBe(true);
    tf.dispose([dy, y, out]);
  });

  it("a dense layer's bias gradient through the ReLU is the cpu backend's (which has no MtlReluGrad)", async () => {
    const rows = 9;
    const gradient = () =>
      tf.tidy(() => {
        const x = tf.tensor2d(values(rows * 6, 1), [rows, 6]);
        const kernel = tf.tensor2d(values(6 * 5, 2), [6, 5]);
        const dy = tf.tensor2d(values(rows * 5, 3), [rows, 5]);
        // y as given values, about half of them ≤ 0, so the mask matters.
        const y = tf.tensor2d(values(rows * 5, 4), [rows, 5]);
        return Array.from(denseGradients(dy, x, kernel, y).bias().dataSync());
      });
    const onWasm = gradient();
    await tf.setBackend('cpu');
    expect(tf.getKernel(RELU_GRAD_KERNEL, 'cpu')).toBeUndefined();
    const onCpu = gradient();
    await tf.setBackend('wasm');
    // The sums' order differs between the backends' Sum kernels: equal to float32 rounding.
    onCpu.forEach((v, j) => expect(onWasm[j]).toBeCloseTo(v, 6));
  });
});
