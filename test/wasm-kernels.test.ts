import { tf } from '../src/tf.js';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FAST_WASM_KERNEL_NAMES,
  installFastWasmKernels,
  isFastWasmKernelInstalled,
  setSimdKernelsEnabled,
  shouldSplit,
  shouldTranspose,
  uninstallFastWasmKernels,
} from '../src/backend/wasm/index.js';
import { values } from './helpers.js';

// The backend and the kernel registry are process-global: remember what was there and put it back.
let previousBackend: string | undefined;
let wasStockBefore: boolean;

beforeAll(async () => {
  previousBackend = tf.getBackend() as string | undefined; // undefined while no backend is initialised
  wasStockBefore = !isFastWasmKernelInstalled('BatchMatMul');
  await tf.setBackend('cpu');
  await tf.ready();
  await tf.setBackend('wasm');
  await tf.ready();
  uninstallFastWasmKernels();
}, 60_000);

afterAll(async () => {
  if (wasStockBefore) uninstallFastWasmKernels();
  else installFastWasmKernels();
  if (previousBackend !== undefined && previousBackend !== tf.getBackend()) await tf.setBackend(previousBackend);
});

function sizeOf(shape: number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

/** Shape of a matMul operand: batch dims, then the two matrix dims, swapped when transposed. */
function operand(batch: number[], rows: number, cols: number, transposed: boolean): number[] {
  return transposed ? [...batch, cols, rows] : [...batch, rows, cols];
}

/** Runs `f` on `backend` with fresh tensors built from plain data; returns the result's data and shape. */
async function runOn(
  backend: string,
  inputs: Array<{ data: Float32Array; shape: number[] }>,
  f: (...ts: tf.Tensor[]) => tf.Tensor,
): Promise<{ data: Float32Array; shape: number[] }> {
  const before = tf.getBackend();
  await tf.setBackend(backend);
  try {
    const ts = inputs.map((i) => tf.tensor(i.data, i.shape, 'float32'));
    const y = f(...ts);
    const data = (await y.data()) as Float32Array;
    const shape = y.shape;
    tf.dispose([...ts, y]);
    return { data, shape };
  } finally {
    await tf.setBackend(before);
  }
}

/** max |got − ref| relative to max |ref|. */
function relErr(got: Float32Array, ref: Float32Array): number {
  expect(got.length).toBe(ref.length);
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < ref.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(got[i]! - ref[i]!));
    maxRef = Math.max(maxRef, Math.abs(ref[i]!));
  }
  return maxRef === 0 ? maxDiff : maxDiff / maxRef;
}

interface Case {
  name: string;
  batchA: number[];
  batchB: number[];
  m: number;
  k: number;
  n: number;
  /**
   * Compare with a plain-JS product instead of the cpu backend: tfjs 4.22's cpu (and stock wasm) BatchMatMul
   * computes only max(batchA, batchB) entries when both sides broadcast ([2,1,…]·[1,3,…] gives 3, not 6).
   */
  jsReference?: boolean;
}

/** Plain-JS (float64 accumulation) batched matMul with numpy batch broadcasting. */
function jsMatMul(c: Case, ta: boolean, tb: boolean, a: Float32Array, b: Float32Array): Float32Array {
  const rank = Math.max(c.batchA.length, c.batchB.length);
  const pa = [...new Array<number>(rank - c.batchA.length).fill(1), ...c.batchA];
  const pb = [...new Array<number>(rank - c.batchB.length).fill(1), ...c.batchB];
  const outer = pa.map((d, i) => Math.max(d, pb[i]!));
  const total = sizeOf(outer);
  const out = new Float32Array(total * c.m * c.n);
  for (let t = 0; t < total; t++) {
    // multi-index of t in outer, then flat indices into a's and b's batches
    let rest = t;
    let ia = 0;
    let ib = 0;
    let sa = 1;
    let sb = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const i = rest % outer[d]!;
      rest = Math.floor(rest / outer[d]!);
      if (pa[d] !== 1) ia += i * sa;
      if (pb[d] !== 1) ib += i * sb;
      sa *= pa[d]!;
      sb *= pb[d]!;
    }
    const aOff = ia * c.m * c.k;
    const bOff = ib * c.k * c.n;
    for (let i = 0; i < c.m; i++) {
      for (let j = 0; j < c.n; j++) {
        let sum = 0;
        for (let p = 0; p < c.k; p++) {
          const av = a[aOff + (ta ? p * c.m + i : i * c.k + p)]!;
          const bv = b[bOff + (tb ? j * c.k + p : p * c.n + j)]!;
          sum += av * bv;
        }
        out[(t * c.m + i) * c.n + j] = sum;
      }
    }
  }
  return out;
}

const CASES: Case[] = [
  // tiny: stays on the stock kernel
  { name: 'rank 2, 3×5·5×7', batchA: [], batchB: [], m: 3, k: 5, n: 7 },
  { name: 'rank 3, 2×3×5·2×5×7', batchA: [2], batchB: [2], m: 3, k: 5, n: 7 },
  // batch 1: transpose-then-XNNPACK path
  { name: 'rank 2, 33×37·37×41', batchA: [], batchB: [], m: 33, k: 37, n: 41 },
  { name: 'rank 3 batch 1, 1×33×37·1×37×41', batchA: [1], batchB: [1], m: 33, k: 37, n: 41 },
  { name: 'rank 3·rank 2, 1×33×37·37×41', batchA: [1], batchB: [], m: 33, k: 37, n: 41 },
  // batch > 1: per-entry split path
  { name: 'rank 3, 3×17×29·3×29×35', batchA: [3], batchB: [3], m: 17, k: 29, n: 35 },
  { name: 'rank 3 broadcast a, 1×19×29·3×29×35', batchA: [1], batchB: [3], m: 19, k: 29, n: 35 },
  { name: 'rank 3·rank 2 broadcast b, 3×17×29·29×35', batchA: [3], batchB: [], m: 17, k: 29, n: 35 },
  { name: 'rank 4, 2×3×17×23·2×3×23×43', batchA: [2, 3], batchB: [2, 3], m: 17, k: 23, n: 43 },
  {
    name: 'rank 4 broadcast both, 2×1×17×23·1×3×23×43',
    batchA: [2, 1],
    batchB: [1, 3],
    m: 17,
    k: 23,
    n: 43,
    jsReference: true,
  },
  { name: 'rank 4·rank 3 broadcast, 2×3×17×23·3×23×43', batchA: [2, 3], batchB: [3], m: 17, k: 23, n: 43 },
  {
    name: 'rank 4 broadcast both, tiny, 2×1×3×5·1×3×5×7',
    batchA: [2, 1],
    batchB: [1, 3],
    m: 3,
    k: 5,
    n: 7,
    jsReference: true,
  },
];

const FLAGS: Array<[boolean, boolean]> = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
];

describe('installFastWasmKernels', () => {
  it('replaces only the wasm kernels, is idempotent, and can be undone', () => {
    const stockWasm = tf.getKernel('BatchMatMul', 'wasm').kernelFunc;
    const stockFused = tf.getKernel('_FusedMatMul', 'wasm').kernelFunc;
    const cpu = tf.getKernel('BatchMatMul', 'cpu').kernelFunc;

    const first = installFastWasmKernels();
    expect(first.installed.sort()).toEqual([...FAST_WASM_KERNEL_NAMES].sort());
    const installed = tf.getKernel('BatchMatMul', 'wasm');
    expect(installed.kernelFunc).not.toBe(stockWasm);
    expect(installed.setupFunc).toBeDefined(); // the stock setup is kept
    expect(tf.getKernel('_FusedMatMul', 'wasm').kernelFunc).not.toBe(stockFused);
    expect(tf.getKernel('BatchMatMul', 'cpu').kernelFunc).toBe(cpu);

    const second = installFastWasmKernels();
    expect(second.installed.sort()).toEqual(first.installed.sort());
    expect(tf.getKernel('BatchMatMul', 'wasm').kernelFunc).toBe(installed.kernelFunc);

    expect(uninstallFastWasmKernels().restored.sort()).toEqual([...FAST_WASM_KERNEL_NAMES].sort());
    expect(tf.getKernel('BatchMatMul', 'wasm').kernelFunc).toBe(stockWasm);
    expect(tf.getKernel('_FusedMatMul', 'wasm').kernelFunc).toBe(stockFused);
    expect(uninstallFastWasmKernels().restored).toEqual([]);
  });

  it('covers the fast paths with the shapes used below', () => {
    expect(shouldTranspose(3, 5, 7, true)).toBe(false);
    expect(shouldTranspose(33, 37, 41, true)).toBe(true);
    expect(shouldTranspose(33, 37, 41, false)).toBe(true);
    expect(shouldSplit(3, 5, 7)).toBe(false);
    expect(shouldSplit(17, 29, 35)).toBe(true);
    expect(shouldSplit(19, 29, 35)).toBe(true);
    expect(shouldSplit(17, 23, 43)).toBe(true);
  });
});

describe('fast BatchMatMul on wasm', () => {
  beforeAll(() => {
    installFastWasmKernels();
  });
  afterAll(() => {
    uninstallFastWasmKernels();
  });

  for (const c of CASES) {
    for (const [ta, tb] of FLAGS) {
      for (const simd of [true, false])
        it(`${c.name}, transposeA=${ta}, transposeB=${tb}, ${simd ? 'SIMD' : 'XNNPACK'} = cpu`, async () => {
          setSimdKernelsEnabled(simd);
          const sa = operand(c.batchA, c.m, c.k, ta);
          const sb = operand(c.batchB, c.k, c.n, tb);
          const inputs = [
            { data: values(sizeOf(sa), 11 + sa.length), shape: sa },
            { data: values(sizeOf(sb), 97 + sb.length), shape: sb },
          ];
          const mm = (a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b, ta, tb);
          const ref = await runOn('cpu', inputs, mm);
          const got = await runOn('wasm', inputs, mm);
          expect(got.shape).toEqual(ref.shape);
          setSimdKernelsEnabled(true);
          const refData = c.jsReference ? jsMatMul(c, ta, tb, inputs[0]!.data, inputs[1]!.data) : ref.data;
          expect(got.data.length).toBe(sizeOf(got.shape));
          expect(relErr(got.data, refData)).toBeLessThan(1e-5);
        });
    }
  }

  it('leaves no tensors or backend buffers behind', () => {
    expect(tf.getBackend()).toBe('wasm');
    const backend = tf.backend();
    for (const c of CASES) {
      for (const [ta, tb] of FLAGS) {
        const a = tf.tensor(values(sizeOf(operand(c.batchA, c.m, c.k, ta)), 3), operand(c.batchA, c.m, c.k, ta));
        const b = tf.tensor(values(sizeOf(operand(c.batchB, c.k, c.n, tb)), 5), operand(c.batchB, c.k, c.n, tb));
        const tensors = tf.memory().numTensors;
        const dataIds = backend.numDataIds();
        const y = tf.matMul(a, b, ta, tb);
        y.dataSync();
        expect(tf.memory().numTensors).toBe(tensors + 1);
        expect(backend.numDataIds()).toBe(dataIds + 1);
        y.dispose();
        expect(tf.memory().numTensors).toBe(tensors);
        expect(backend.numDataIds()).toBe(dataIds);
        tf.dispose([a, b]);
      }
    }
  });

  it('still reports the stock shape error', () => {
    const a = tf.zeros([40, 41]);
    const b = tf.zeros([42, 39]);
    expect(() => tf.matMul(a, b, true, true)).toThrow(/inner shapes/);
    tf.dispose([a, b]);
  });
});

describe('fast _FusedMatMul on wasm', () => {
  beforeAll(() => {
    installFastWasmKernels();
  });
  afterAll(() => {
    uninstallFastWasmKernels();
  });

  const fusedCases: Array<Case & { biasSize: 'n' | 1 | 0 }> = [
    { name: 'rank 2, 3×5·5×7 with bias', batchA: [], batchB: [], m: 3, k: 5, n: 7, biasSize: 'n' },
    { name: 'rank 2, 33×37·37×41 with bias', batchA: [], batchB: [], m: 33, k: 37, n: 41, biasSize: 'n' },
    { name: 'rank 2, 33×37·37×41 with a one-value bias', batchA: [], batchB: [], m: 33, k: 37, n: 41, biasSize: 1 },
    { name: 'rank 2, 33×37·37×41 without bias', batchA: [], batchB: [], m: 33, k: 37, n: 41, biasSize: 0 },
    { name: 'rank 2, 3×60·60×7 with bias (k > 48)', batchA: [], batchB: [], m: 3, k: 60, n: 7, biasSize: 'n' },
    { name: 'rank 2, 3×60·60×7 without bias (k > 48)', batchA: [], batchB: [], m: 3, k: 60, n: 7, biasSize: 0 },
    { name: 'rank 3, 3×17×29·3×29×35 with bias', batchA: [3], batchB: [3], m: 17, k: 29, n: 35, biasSize: 'n' },
    { name: 'rank 3, 2×3×5·2×5×7 with bias', batchA: [2], batchB: [2], m: 3, k: 5, n: 7, biasSize: 'n' },
    {
      name: 'rank 3 broadcast b, 2×3×5·5×7 with a one-value bias',
      batchA: [2],
      batchB: [],
      m: 3,
      k: 5,
      n: 7,
      biasSize: 1,
    },
    { name: 'rank 3 broadcast a, 1×3×5·4×5×7 with bias', batchA: [1], batchB: [4], m: 3, k: 5, n: 7, biasSize: 'n' },
  ];
  for (const c of fusedCases) {
    for (const [ta, tb] of FLAGS) {
      for (const simd of [true, false])
        it(`${c.name}, relu, transposeA=${ta}, transposeB=${tb}, ${simd ? 'SIMD' : 'XNNPACK'} = cpu`, async () => {
          setSimdKernelsEnabled(simd);
          const sa = operand(c.batchA, c.m, c.k, ta);
          const sb = operand(c.batchB, c.k, c.n, tb);
          const inputs = [
            { data: values(sizeOf(sa), 7), shape: sa },
            { data: values(sizeOf(sb), 8), shape: sb },
          ];
          const biasLen = c.biasSize === 'n' ? c.n : c.biasSize;
          if (biasLen > 0) inputs.push({ data: values(biasLen, 9), shape: [biasLen] });
          const f = (a: tf.Tensor, b: tf.Tensor, bias?: tf.Tensor) =>
            tf.fused.matMul({ a, b, transposeA: ta, transposeB: tb, activation: 'relu', ...(bias ? { bias } : {}) });
          const ref = await runOn('cpu', inputs, f);
          const got = await runOn('wasm', inputs, f);
          setSimdKernelsEnabled(true);
          expect(got.shape).toEqual(ref.shape);
          expect(relErr(got.data, ref.data)).toBeLessThan(1e-5);
        });
    }
  }

  for (const activation of ['linear', 'relu6', 'leakyrelu', 'sigmoid', 'elu'] as const) {
    it(`rank 3, 2×20×30·30×40 (transposeA) with bias, ${activation} matches cpu`, async () => {
      const inputs = [
        { data: values(2 * 30 * 20, 31), shape: [2, 30, 20] },
        { data: values(30 * 40, 32), shape: [30, 40] },
        { data: values(40, 33), shape: [40] },
      ];
      const f = (a: tf.Tensor, b: tf.Tensor, bias?: tf.Tensor) =>
        tf.fused.matMul({
          a: a as tf.Tensor3D,
          b: b as tf.Tensor2D,
          transposeA: true,
          activation,
          leakyreluAlpha: 0.2,
          ...(bias ? { bias } : {}),
        });
      const ref = await runOn('cpu', inputs, f);
      const got = await runOn('wasm', inputs, f);
      expect(got.shape).toEqual(ref.shape);
      expect(relErr(got.data, ref.data)).toBeLessThan(1e-5);
    });
  }

  it('with prelu weights matches cpu', async () => {
    const inputs = [
      { data: values(3 * 17 * 29, 21), shape: [3, 17, 29] },
      { data: values(3 * 29 * 35, 22), shape: [3, 35, 29] },
      { data: values(35, 23), shape: [35] },
      { data: values(35, 24), shape: [35] },
    ];
    const f = (a: tf.Tensor, b: tf.Tensor, bias?: tf.Tensor, alpha?: tf.Tensor) =>
      tf.fused.matMul({
        a: a as tf.Tensor3D,
        b: b as tf.Tensor3D,
        transposeB: true,
        activation: 'prelu',
        ...(bias ? { bias } : {}),
        ...(alpha ? { preluActivationWeights: alpha } : {}),
      });
    const ref = await runOn('cpu', inputs, f);
    const got = await runOn('wasm', inputs, f);
    expect(got.shape).toEqual(ref.shape);
    expect(relErr(got.data, ref.data)).toBeLessThan(1e-5);
  });

  it('leaves no tensors or backend buffers behind', () => {
    const backend = tf.backend();
    for (const [ta, tb] of FLAGS) {
      for (const [batch, biasLen] of [
        [[], 41],
        [[], 1],
        [[3], 41],
      ] as Array<[number[], number]>) {
        const a = tf.tensor(values(sizeOf(operand(batch, 33, 37, ta)), 3), operand(batch, 33, 37, ta));
        const b = tf.tensor(values(sizeOf(operand(batch, 37, 41, tb)), 5), operand(batch, 37, 41, tb));
        const bias = tf.tensor1d(values(biasLen, 6));
        const tensors = tf.memory().numTensors;
        const dataIds = backend.numDataIds();
        const y = tf.fused.matMul({ a, b, bias, transposeA: ta, transposeB: tb, activation: 'relu' });
        y.dataSync();
        y.dispose();
        expect(tf.memory().numTensors).toBe(tensors);
        expect(backend.numDataIds()).toBe(dataIds);
        tf.dispose([a, b, bias]);
      }
    }
  });
});

describe('dense-layer gradients on wasm', () => {
  /** Gradients of a two-layer MLP loss (fused dense + relu, dense, softmax cross-entropy). */
  function gradients(): { loss: number; grads: Record<string, Float32Array> } {
    const batch = 96;
    const [nIn, nHidden, nOut] = [50, 48, 12];
    return tf.tidy(() => {
      const x = tf.tensor(values(batch * nIn, 1), [batch, nIn]);
      const labels = tf.oneHot(
        tf.tensor1d(
          Array.from({ length: batch }, (_, i) => (i * 7) % nOut),
          'int32',
        ),
        nOut,
      );
      const w1 = tf.tensor(values(nIn * nHidden, 2), [nIn, nHidden]).mul(0.3);
      const b1 = tf.tensor(values(nHidden, 3), [nHidden]).mul(0.1);
      const w2 = tf.tensor(values(nHidden * nOut, 4), [nHidden, nOut]).mul(0.3);
      const b2 = tf.tensor(values(nOut, 5), [nOut]).mul(0.1);
      const lossOf = (w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor): tf.Scalar => {
        const h = tf.fused.matMul({ a: x as tf.Tensor2D, b: w1 as tf.Tensor2D, bias: b1, activation: 'relu' });
        const logits = tf.add(tf.matMul(h, w2), b2);
        return tf.losses.softmaxCrossEntropy(labels, logits);
      };
      const { value, grads } = tf.valueAndGrads(lossOf)([w1, b1, w2, b2]);
      const names = ['w1', 'b1', 'w2', 'b2'];
      const out: Record<string, Float32Array> = {};
      grads.forEach((g, i) => {
        out[names[i]!] = g.dataSync() as Float32Array;
      });
      return { loss: value.dataSync()[0]!, grads: out };
    });
  }

  it('are the same with and without the override', () => {
    expect(tf.getBackend()).toBe('wasm');
    uninstallFastWasmKernels();
    const stock = gradients();
    installFastWasmKernels();
    const tensors = tf.memory().numTensors;
    const fast = gradients();
    expect(tf.memory().numTensors).toBe(tensors);
    uninstallFastWasmKernels();

    expect(Math.abs(fast.loss - stock.loss)).toBeLessThan(1e-6 * Math.max(1, Math.abs(stock.loss)));
    for (const name of Object.keys(stock.grads)) {
      expect(relErr(fast.grads[name]!, stock.grads[name]!), name).toBeLessThan(1e-5);
    }
  });
});
