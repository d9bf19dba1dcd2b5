/**
 * The WebAssembly SIMD kernels over long vectors that backend/simd/long-vectors.ts compiles and runs: `dots_c` (the
 * products of the Gram matrix) and `combine`, `combine_c` (Σ_i w_i v_i), bit-identical to numerics/vectors.ts
 * (test/long-vectors.test.ts).
 *
 * Products:
 *
 * The arithmetic is exactly numerics/vectors.ts `dot`'s: two float64 accumulators, s0 over the even indices and s1
 * over the odd ones, each product a_k·b_k exact in float64 (two float32 factors), each addition rounded in order, and
 * s0 + s1 at the end. Here the two accumulators are the two lanes of one f64x2: a block of four floats adds elements
 * 0 and 1 to the lanes, then 2 and 3, so each lane sees its indices in the same order. WebAssembly fixes float
 * results (no contraction into fused multiply-adds), so the products are bit-identical to `dot`'s
 * (test/long-vectors.test.ts). The speed comes from running up to four products in one pass over a_i (four independent
 * chains of additions, and a_i read once).
 *
 * Combination: per element, 0 + w_0·g_0[k] + w_1·g_1[k] + … in float64 in that order (w_i as the float64 given),
 * rounded to float32 at the end (to nearest, ties to even, as a Float32Array store rounds).
 */
import type { FunctionBuilder, Local } from './assembler.js';
import type { ModuleBuilder } from './module-builder.js';

/** Products per pass over a_i. */
export const WIDTH = 4;

export function dotsName(count: number): string {
  return `dots_${count}`;
}

/**
 * dots_c(a, b_0 … b_{c−1}, blocks, out): for each j, the two lane sums of a·b_j over the first 4·blocks elements,
 * stored as two float64 at out + 16·j. Pointers in bytes.
 */
function emitDots(module: ModuleBuilder, count: number): void {
  const params = ['i32', ...Array.from({ length: count }, () => 'i32' as const), 'i32', 'i32'] as const;
  const f = module.function(dotsName(count), params);
  const locals = params.map((_, index) => f.param(index));
  const a = locals[0]!;
  const bs = locals.slice(1, 1 + count);
  const blocks = locals[1 + count]!;
  const out = locals[2 + count]!;
  const accumulators = bs.map(() => f.local('v128'));
  const low = f.local('v128');
  const high = f.local('v128');
  const b = f.local('v128');
  const offset = f.local('i32');
  const remaining = f.local('i32');
  for (const acc of accumulators) f.v128Const0().set(acc);
  f.i32Const(0).set(offset);
  f.get(blocks).set(remaining);
  f.block(() =>
    f.loop(() => {
      f.get(remaining).i32Eqz().brIf(1);
      f.get(a).get(offset).i32Add().v128Load(0).set(b);
      f.get(b).f64x2PromoteLowF32x4().set(low);
      f.get(b).get(b).shuffle32([2, 3, 2, 3]).f64x2PromoteLowF32x4().set(high);
      bs.forEach((pointer, j) => {
        const acc = accumulators[j]!;
        f.get(pointer).get(offset).i32Add().v128Load(0).set(b);
        f.get(acc).get(low).get(b).f64x2PromoteLowF32x4().f64x2Mul().f64x2Add().set(acc);
        f.get(acc).get(high).get(b).get(b).shuffle32([2, 3, 2, 3]).f64x2PromoteLowF32x4().f64x2Mul().f64x2Add();
        f.set(acc);
      });
      f.get(offset).i32Const(16).i32Add().set(offset);
      f.get(remaining).i32Const(1).i32Sub().set(remaining);
      f.br(0);
    }),
  );
  accumulators.forEach((acc, j) => {
    f.get(out)
      .get(acc)
      .v128Store(16 * j);
  });
}

export const COMBINE_FUNCTION = 'combine';

export function combineName(count: number): string {
  return `combine_${count}`;
}

/** low, high += w·v: the four floats at `v` as float64, two per half, times the splatted float64 `weight`. */
function addWeighted(f: FunctionBuilder, low: Local, high: Local, weight: Local, v: Local): void {
  f.get(low).get(weight).get(v).f64x2PromoteLowF32x4().f64x2Mul().f64x2Add().set(low);
  f.get(high).get(weight).get(v).get(v).shuffle32([2, 3, 2, 3]).f64x2PromoteLowF32x4().f64x2Mul();
  f.f64x2Add().set(high);
}

/** out[offset..offset+16) = the four sums in low, high rounded to float32. */
function storeRounded(f: FunctionBuilder, out: Local, offset: Local, low: Local, high: Local): void {
  f.get(out).get(offset).i32Add();
  f.get(low).f32x4DemoteF64x2Zero().get(high).f32x4DemoteF64x2Zero().shuffle32([0, 1, 4, 5]).v128Store(0);
}

/**
 * combine(pointers, weights, count, blocks, out): out[0..4·blocks) = float32(Σ_i w_i·v_i) for i < count, with
 * v_i at pointers[i] (i32 table), w_i at weights[i] (float64 table). Pointers in bytes.
 */
function emitCombine(module: ModuleBuilder): void {
  const f = module.function(COMBINE_FUNCTION, ['i32', 'i32', 'i32', 'i32', 'i32']);
  const [pointers, weights, count, blocks, out] = f.paramLocals(5);
  const low = f.local('v128');
  const high = f.local('v128');
  const weight = f.local('v128');
  const v = f.local('v128');
  const offset = f.local('i32');
  const i = f.local('i32');
  f.i32Const(0).set(offset);
  f.block(() =>
    f.loop(() => {
      f.get(offset).get(blocks).i32Const(4).i32Shl().i32GeS().brIf(1);
      f.v128Const0().set(low);
      f.v128Const0().set(high);
      f.i32Const(0).set(i);
      f.block(() =>
        f.loop(() => {
          f.get(i).get(count).i32GeS().brIf(1);
          f.get(weights).get(i).i32Const(3).i32Shl().i32Add().v128Load64Splat(0).set(weight);
          f.get(pointers).get(i).i32Const(2).i32Shl().i32Add().i32Load(0).get(offset).i32Add().v128Load(0).set(v);
          addWeighted(f, low, high, weight, v);
          f.get(i).i32Const(1).i32Add().set(i);
          f.br(0);
        }),
      );
      storeRounded(f, out, offset, low, high);
      f.get(offset).i32Const(16).i32Add().set(offset);
      f.br(0);
    }),
  );
}

/**
 * combine_c(pointers, weights, blocks, out): `combine` for exactly c vectors, with the pointers and the splatted
 * weights read once into locals instead of from the tables per block (the common T = 2 twice as fast). The same
 * additions in the same order.
 */
function emitCombineFixed(module: ModuleBuilder, count: number): void {
  const f = module.function(combineName(count), ['i32', 'i32', 'i32', 'i32']);
  const [pointers, weights, blocks, out] = f.paramLocals(4);
  const vectors = Array.from({ length: count }, () => f.local('i32'));
  const splats = Array.from({ length: count }, () => f.local('v128'));
  const low = f.local('v128');
  const high = f.local('v128');
  const v = f.local('v128');
  const offset = f.local('i32');
  const end = f.local('i32');
  for (let i = 0; i < count; i++) {
    f.get(pointers)
      .i32Load(4 * i)
      .set(vectors[i]!);
    f.get(weights)
      .v128Load64Splat(8 * i)
      .set(splats[i]!);
  }
  f.i32Const(0).set(offset);
  f.get(blocks).i32Const(4).i32Shl().set(end);
  f.block(() =>
    f.loop(() => {
      f.get(offset).get(end).i32GeS().brIf(1);
      f.v128Const0().set(low);
      f.v128Const0().set(high);
      vectors.forEach((pointer, i) => {
        f.get(pointer).get(offset).i32Add().v128Load(0).set(v);
        addWeighted(f, low, high, splats[i]!, v);
      });
      storeRounded(f, out, offset, low, high);
      f.get(offset).i32Const(16).i32Add().set(offset);
      f.br(0);
    }),
  );
}

/** Every kernel above into `module`: dots_1 … dots_WIDTH, combine, combine_1 … combine_WIDTH. */
export function emitLongVectorKernels(module: ModuleBuilder): void {
  for (let count = 1; count <= WIDTH; count++) emitDots(module, count);
  emitCombine(module);
  for (let count = 1; count <= WIDTH; count++) emitCombineFixed(module, count);
}
