import { tf } from '../src/tf.js';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  installFastWasmKernels,
  isFastWasmKernelInstalled,
  setSimdKernelsEnabled,
  uninstallFastWasmKernels,
} from '../src/backend/wasm/index.js';
import { ModuleBuilder } from '../src/backend/simd/module-builder.js';
import { simdKernelsFor, simdSupported, type SimdKernels } from '../src/backend/simd/module.js';
import { packedBytes } from '../src/backend/simd/gemm.js';
import { wasmApi } from '../src/backend/simd/wasm-api.js';
import { values } from './helpers.js';

/** The wasm backend's heap as the simd module sees it. */
interface WasmBackendInternals {
  wasm: { asm: { memory: { buffer: ArrayBuffer } } };
  dataIdMap: { get(id: object): { memoryOffset: number } };
}

let kernels: SimdKernels;
let backend: WasmBackendInternals;
let previousBackend: string | undefined;

beforeAll(async () => {
  previousBackend = tf.getBackend() as string | undefined;
  await tf.setBackend('wasm');
  await tf.ready();
  backend = tf.backend() as unknown as WasmBackendInternals;
  kernels = simdKernelsFor(backend.wasm.asm.memory);
}, 60_000);

afterAll(async () => {
  if (previousBackend !== undefined && previousBackend !== tf.getBackend()) await tf.setBackend(previousBackend);
});

const offset = (t: tf.Tensor): number => backend.dataIdMap.get(t.dataId).memoryOffset;

/**
 * C = op(A)·B summed over k in order in float32, rounding after every multiply and add: the order the kernels promise,
 * so their results must equal this bit for bit.
 */
function float32Product(
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
  transposedA: boolean,
): Float32Array {
  const f = Math.fround;
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) sum = f(sum + f(a[transposedA ? p * m + i : i * k + p]! * b[p * n + j]!));
      out[i * n + j] = sum;
    }
  }
  return out;
}

describe('the wasm assembler', () => {
  it('encodes a module V8 accepts, with LEB128 constants of every width', () => {
    const module = new ModuleBuilder(false);
    const f = module.function('constants', [], ['i32']);
    // 63 and 64 straddle the one-byte signed limit; the rest need 2–5 bytes, negative ones included.
    for (const value of [0, 63, 64, -64, -65, 8191, -8193, 2 ** 20, -(2 ** 27), 2 ** 31 - 1, -(2 ** 31)])
      f.i32Const(value).drop();
    f.i32Const(-123456);
    const memory = new wasmApi.Memory({ initial: 1 });
    const instance = new wasmApi.Instance(new wasmApi.Module(module.encode()), { env: { memory } });
    expect((instance.exports['constants'] as () => number)()).toBe(-123456);
  });

  it('this Node validates WebAssembly SIMD', () => {
    expect(simdSupported()).toBe(true);
  });
});

describe('SIMD matrix products', () => {
  // Shapes cover every tile: rows 1–3 past a multiple of 4, columns past a multiple of 8 (a 4-wide vector and scalar
  // columns), k = 1, and sizes with and without the packed panels.
  const shapes: Array<[number, number, number]> = [
    [1, 1, 1],
    [3, 5, 7],
    [4, 8, 8],
    [5, 3, 13],
    [17, 33, 29],
    [16, 1, 12],
    [37, 70, 45],
    [64, 100, 64],
    [133, 300, 19],
    // Four panels or more: A's rows packed too (a last k block of 44, rows past a multiple of 4, k % 4 = 3).
    [133, 300, 40],
    [70, 259, 33],
  ];
  for (const layout of ['nn', 'tn'] as const) {
    for (const packed of [false, true]) {
      for (const [m, k, n] of shapes) {
        it(
          `${layout}${packed ? ' with packed panels' : ''}: ${m}×${k}·${k}×${n} equals the in-order float32 sum ` +
            `bit for bit`,
          () => {
            const aData = values(m * k, m * 31 + k);
            const bData = values(k * n, n * 17 + k);
            const a = tf.tensor(aData, layout === 'nn' ? [m, k] : [k, m]);
            const b = tf.tensor(bData, [k, n]);
            const c = tf.fill([m, n], Number.NaN);
            const scratch = tf.zeros([Math.max(1, packedBytes(m, k, n) / 4)]);
            kernels.gemm({
              layout,
              a: offset(a),
              b: offset(b),
              c: offset(c),
              m,
              k,
              n,
              ...(packed ? { packed: offset(scratch) } : {}),
            });
            expect(c.dataSync()).toEqual(float32Product(aData, bData, m, k, n, layout === 'tn'));
            tf.dispose([a, b, c, scratch]);
          },
        );
      }
    }
  }

  // B given transposed (Bᵀ stored n×k, as a dense layer's input gradient dy·Wᵀ has it), packed into panels from there.
  const transposedShapes: Array<[number, number, number]> = [
    [16, 1, 8],
    [17, 33, 32],
    [64, 7, 16],
    [133, 300, 40],
  ];
  for (const layout of ['nn', 'tn'] as const) {
    for (const [m, k, n] of transposedShapes) {
      it(`${layout} with B given transposed: ${m}×${k}·${k}×${n} equals the in-order float32 sum bit for bit`, () => {
        const aData = values(m * k, m * 13 + k);
        const bData = values(k * n, n * 7 + k);
        const transposed = new Float32Array(k * n);
        for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) transposed[j * k + p] = bData[p * n + j]!;
        const a = tf.tensor(aData, layout === 'nn' ? [m, k] : [k, m]);
        const bt = tf.tensor(transposed, [n, k]);
        const c = tf.fill([m, n], Number.NaN);
        const scratch = tf.zeros([packedBytes(m, k, n) / 4]);
        const args = { layout, a: offset(a), b: offset(bt), c: offset(c), m, k, n, transposedB: true };
        kernels.gemm({ ...args, packed: offset(scratch) });
        expect(c.dataSync()).toEqual(float32Product(aData, bData, m, k, n, layout === 'tn'));
        expect(() => kernels.gemm(args)).toThrow('a transposed B needs packed panels and n a multiple of 8');
        tf.dispose([a, bt, c, scratch]);
      });
    }
  }

  it("packing a transposed A's rows changes no value: the 'pk' tile against A read in place", () => {
    for (const [m, k, n] of [
      [133, 300, 40],
      [9, 5, 8],
      [256, 784, 256],
      [64, 259, 16],
    ] as const) {
      const a = tf.tensor(values(m * k, 5), [k, m]);
      const b = tf.tensor(values(k * n, 6), [k, n]);
      const scratch = tf.zeros([packedBytes(m, k, n) / 4]);
      const product = (packA: boolean): Float32Array => {
        const c = tf.fill([m, n], Number.NaN);
        kernels.gemm({
          layout: 'tn',
          a: offset(a),
          b: offset(b),
          c: offset(c),
          m,
          k,
          n,
          packed: offset(scratch),
          packA,
        });
        const out = c.dataSync() as Float32Array;
        c.dispose();
        return out;
      };
      expect(product(true)).toEqual(product(false));
      tf.dispose([a, b, scratch]);
    }
  });

  it('packs within packedBytes: the memory after the scratch is untouched', () => {
    const [m, k, n] = [133, 300, 40];
    for (const layout of ['nn', 'tn'] as const) {
      for (const transposedB of [false, true]) {
        const a = tf.tensor(values(m * k, 3), layout === 'nn' ? [m, k] : [k, m]);
        const b = tf.tensor(values(k * n, 4), transposedB ? [n, k] : [k, n]);
        const c = tf.zeros([m, n]);
        const bytes = packedBytes(m, k, n);
        const guarded = tf.fill([bytes / 4 + 16], 7);
        kernels.gemm({
          layout,
          a: offset(a),
          b: offset(b),
          c: offset(c),
          m,
          k,
          n,
          packed: offset(guarded),
          transposedB,
        });
        expect(Array.from(guarded.dataSync().subarray(bytes / 4))).toEqual(new Array(16).fill(7));
        tf.dispose([a, b, c, guarded]);
      }
    }
  });

  it('writes only C: the memory around it is untouched', () => {
    const [m, k, n] = [5, 6, 13];
    const a = tf.tensor(values(m * k, 1), [m, k]);
    const b = tf.tensor(values(k * n, 2), [k, n]);
    const guarded = tf.fill([m * n + 16], 7);
    kernels.gemm({ layout: 'nn', a: offset(a), b: offset(b), c: offset(guarded) + 32, m, k, n });
    const out = guarded.dataSync();
    expect(Array.from(out.subarray(0, 8))).toEqual(new Array(8).fill(7));
    expect(Array.from(out.subarray(8 + m * n))).toEqual(new Array(8).fill(7));
    tf.dispose([a, b, guarded]);
  });

  it('bias and relu epilogue: c = max(0, c + bias[j]), also with one bias value for all columns', () => {
    const [rows, n] = [3, 11];
    const cData = values(rows * n, 5);
    const biasData = values(n, 6);
    const expected = (scalar: boolean, relu: boolean): number[] =>
      Array.from(cData, (x, i) => {
        const y = Math.fround(x + biasData[scalar ? 0 : i % n]!);
        return relu ? Math.max(0, y) : y;
      });
    for (const [scalarBias, relu] of [
      [false, true],
      [false, false],
      [true, true],
    ] as const) {
      const c = tf.tensor(cData, [rows, n]);
      const bias = tf.tensor(biasData);
      kernels.biasActivation({ c: offset(c), bias: offset(bias), rows, n, scalarBias, relu });
      expect(Array.from(c.dataSync())).toEqual(expected(scalarBias, relu));
      tf.dispose([c, bias]);
    }
  });
});

describe('matMul on wasm: SIMD path against the XNNPACK path', () => {
  let wasStock: boolean;
  beforeAll(() => {
    wasStock = !isFastWasmKernelInstalled('BatchMatMul');
    installFastWasmKernels();
  });
  afterAll(() => {
    setSimdKernelsEnabled(true);
    if (wasStock) uninstallFastWasmKernels();
  });

  // The dense-layer products of a training step: forward, weight gradient (transposed a), input gradient (transposed
  // b).
  const cases: Array<{ a: number[]; b: number[]; ta: boolean; tb: boolean }> = [
    { a: [64, 96], b: [96, 40], ta: false, tb: false },
    { a: [64, 96], b: [64, 40], ta: true, tb: false },
    { a: [64, 40], b: [96, 40], ta: false, tb: true },
    { a: [2, 9, 7], b: [7, 12], ta: false, tb: false },
    { a: [3, 7, 9], b: [3, 12, 7], ta: true, tb: true },
  ];
  for (const { a: sa, b: sb, ta, tb } of cases) {
    it(`[${sa}]${ta ? 'ᵀ' : ''}·[${sb}]${tb ? 'ᵀ' : ''}: the same numbers both ways, nothing left behind`, () => {
      const a = tf.tensor(
        values(
          sa.reduce((p, d) => p * d, 1),
          3,
        ),
        sa,
      );
      const b = tf.tensor(
        values(
          sb.reduce((p, d) => p * d, 1),
          4,
        ),
        sb,
      );
      const bias = tf.tensor(values(tb ? sb[sb.length - 2]! : sb[sb.length - 1]!, 5));
      const run = (simd: boolean): Float32Array => {
        setSimdKernelsEnabled(simd);
        const before = tf.memory().numTensors;
        const y = tf.matMul(a, b, ta, tb);
        const fused = tf.fused.matMul({ a, b, transposeA: ta, transposeB: tb, bias, activation: 'relu' });
        const data = Float32Array.from([...y.dataSync(), ...fused.dataSync()]);
        tf.dispose([y, fused]);
        expect(tf.memory().numTensors).toBe(before);
        return data;
      };
      const simd = run(true);
      const xnnpack = run(false);
      setSimdKernelsEnabled(true);
      expect(simd.length).toBe(xnnpack.length);
      expect(simd.some((x) => x === 0)).toBe(true); // relu clipped some
      for (let i = 0; i < simd.length; i++) expect(Math.abs(simd[i]! - xnnpack[i]!)).toBeLessThan(1e-5);
      tf.dispose([a, b, bias]);
    });
  }
});

describe('matMul on wasm: a transposed B packed from where it lies', () => {
  let wasStock: boolean;
  beforeAll(() => {
    wasStock = !isFastWasmKernelInstalled('BatchMatMul');
    installFastWasmKernels();
    setSimdKernelsEnabled(true);
  });
  afterAll(() => {
    if (wasStock) uninstallFastWasmKernels();
  });

  // n a multiple of 8 and 16 rows or more: the panels are packed from Bᵀ; the path before transposed B first.
  const cases: Array<{ a: number[]; b: number[] }> = [
    { a: [256, 128], b: [256, 128] },
    { a: [16, 3], b: [8, 3] },
    { a: [3, 17, 24], b: [3, 16, 24] },
    { a: [2, 20, 33], b: [40, 33] },
  ];
  for (const { a: sa, b: sb } of cases) {
    it(`[${sa}]·[${sb}]ᵀ equals the product with B transposed first, bit for bit, fused too`, () => {
      const size = (shape: number[]): number => shape.reduce((p, d) => p * d, 1);
      const a = tf.tensor(values(size(sa), 7), sa);
      const b = tf.tensor(values(size(sb), 8), sb);
      const bias = tf.tensor(values(sb[sb.length - 2]!, 9));
      const before = tf.memory().numTensors;
      const packed = tf.tidy(() =>
        tf.concat([
          tf.matMul(a, b, false, true).flatten(),
          tf.fused.matMul({ a, b, transposeB: true, bias, activation: 'relu' }).flatten(),
        ]),
      );
      const transposedFirst = tf.tidy(() => {
        const stored = tf.transpose(b, [...sb.slice(0, -2).map((_, i) => i), sb.length - 1, sb.length - 2]);
        return tf.concat([
          tf.matMul(a, stored).flatten(),
          tf.fused.matMul({ a, b: stored, bias, activation: 'relu' }).flatten(),
        ]);
      });
      expect(packed.dataSync()).toEqual(transposedFirst.dataSync());
      tf.dispose([packed, transposedFirst]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([a, b, bias]);
    });
  }
});

describe('gather_rows', () => {
  // Rows copied in 16-, 4- and 1-byte pieces: every mix of them, and rows that overlap no 16-byte boundary.
  for (const rowBytes of [1, 3, 4, 15, 16, 17, 20, 36, 40, 384]) {
    it(
      `rows of ${rowBytes} bytes land where the index says, byte for byte, and nothing after the last row is ` +
        `touched`,
      () => {
        const rows = 9;
        const count = 13;
        const source = tf.tensor1d(
          Int32Array.from({ length: Math.ceil((rows * rowBytes) / 4) + 4 }, (_, i) => (i * 2654435761) | 0),
          'int32',
        );
        const index = tf.tensor1d(
          Int32Array.from({ length: count }, (_, i) => (i * 5 + 2) % rows),
          'int32',
        );
        const target = tf.zeros([Math.ceil((count * rowBytes) / 4) + 4], 'int32');
        const heap = new Uint8Array(backend.wasm.asm.memory.buffer);
        const from = offset(source);
        const to = offset(target);
        const expected = heap.slice(to, to + target.size * 4);
        const order = index.dataSync();
        for (let i = 0; i < count; i++)
          expected.set(heap.subarray(from + order[i]! * rowBytes, from + (order[i]! + 1) * rowBytes), i * rowBytes);
        kernels.gatherRows({ x: from, index: offset(index), count, rowBytes, out: to });
        expect(Array.from(new Uint8Array(backend.wasm.asm.memory.buffer, to, target.size * 4))).toEqual(
          Array.from(expected),
        );
        tf.dispose([source, index, target]);
      },
    );
  }
});
