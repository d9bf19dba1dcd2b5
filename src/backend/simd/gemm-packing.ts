/**
 * The copies the GEMM (simd/gemm.ts) makes before its tiles run, generated with simd/assembler.ts: B's 8-column panels
 * (from B, or from a B given transposed) and a transposed A's rows four at a time. Each lays the values out in the
 * order a tile reads them, one after the other; none changes a value.
 */
import type { ModuleBuilder } from './module-builder.js';

export const PACK_FUNCTION = 'pack_panels';

/**
 * pack_panels(b, ldb, k, panels, out): copies B's first 8·panels columns into panels of 8 columns, each panel k rows of
 * 8 consecutive floats (32 bytes): out[p][kk][0..8) = B[kk][8p..8p+8). Read from one panel, a tile's B loads are then
 * consecutive; read from B itself they are ldb·4 bytes apart, and with ldb a multiple of 256 every row of a panel
 * falls into the same few L1 cache sets, so a panel of a 784-row B does not stay in L1 while the row blocks reuse it.
 */
export function emitPack(module: ModuleBuilder): void {
  emitStripCopy(module, PACK_FUNCTION, 2);
}

/**
 * name(from, ld, k, strips, out): copies `strips` strips of `vectors`·4 consecutive floats from each of k stored rows
 * (row stride ld floats; strip s starts `vectors`·16·s bytes into a row), strip after strip, each k rows of
 * `vectors`·16 bytes: out[s][kk] = from[kk·ld + 4·vectors·s ..][0 .. 4·vectors).
 */
function emitStripCopy(module: ModuleBuilder, name: string, vectors: 1 | 2): void {
  const f = module.function(name, ['i32', 'i32', 'i32', 'i32', 'i32']);
  const [from, ld, k, strips, out] = f.paramLocals(5);
  const strip = f.local('i32');
  const row = f.local('i32');
  const src = f.local('i32');
  const ld4 = f.local('i32');
  f.get(ld).i32Const(2).i32Shl().set(ld4);
  f.i32Const(0).set(strip);
  f.block(() =>
    f.loop(() => {
      f.get(strip).get(strips).i32GeS().brIf(1);
      f.get(from)
        .get(strip)
        .i32Const(vectors === 2 ? 5 : 4)
        .i32Shl()
        .i32Add()
        .set(src);
      f.get(k).set(row);
      f.block(() =>
        f.loop(() => {
          f.get(row).i32Eqz().brIf(1);
          for (let v = 0; v < vectors; v++)
            f.get(out)
              .get(src)
              .v128Load(16 * v)
              .v128Store(16 * v);
          f.get(src).get(ld4).i32Add().set(src);
          f.get(out)
            .i32Const(16 * vectors)
            .i32Add()
            .set(out);
          f.get(row).i32Const(1).i32Sub().set(row);
          f.br(0);
        }),
      );
      f.get(strip).i32Const(1).i32Add().set(strip);
      f.br(0);
    }),
  );
}

export const PACK_TRANSPOSED_FUNCTION = 'pack_panels_t';

/**
 * pack_panels_t(bt, ldbt, k, panels, out): pack_panels for a B given transposed (Bᵀ stored n×k, row stride ldbt, the
 * weights of a dense layer's input gradient dy·Wᵀ): out[p][kk][c] = Bᵀ(8p + c, kk). Four k steps at a time, the
 * panel's eight stored rows are read as vectors and transposed in registers, so no transposed copy of B is made.
 */
export function emitPackTransposed(module: ModuleBuilder): void {
  const f = module.function(PACK_TRANSPOSED_FUNCTION, ['i32', 'i32', 'i32', 'i32', 'i32']);
  const [bt, ldbt, k, panels, out] = f.paramLocals(5);
  const p = f.local('i32');
  const kk = f.local('i32');
  const src = f.local('i32');
  const ldbt4 = f.local('i32');
  const rowsOf = Array.from({ length: 8 }, () => f.local('v128'));
  const low = Array.from({ length: 4 }, () => f.local('v128'));
  const high = Array.from({ length: 4 }, () => f.local('v128'));
  const rowAt = (c: number): void => {
    f.get(src);
    if (c > 0) f.get(ldbt4).i32Const(c).i32Mul().i32Add();
  };
  f.get(ldbt).i32Const(2).i32Shl().set(ldbt4);
  f.i32Const(0).set(p);
  f.block(() =>
    f.loop(() => {
      f.get(p).get(panels).i32GeS().brIf(1);
      f.get(bt).get(p).i32Const(3).i32Shl().get(ldbt4).i32Mul().i32Add().set(src); // Bᵀ(8p, 0)
      f.i32Const(0).set(kk);
      f.block(() =>
        f.loop(() => {
          f.get(kk).i32Const(4).i32Add().get(k).i32GtS().brIf(1);
          rowsOf.forEach((row, c) => {
            rowAt(c);
            f.v128Load(0).set(row);
          });
          // Per half (columns 0–3, 4–7) a 4×4 transpose: pairs interleaved, then their halves joined.
          for (let pair = 0; pair < 4; pair++) {
            const [x, y] = [rowsOf[2 * pair]!, rowsOf[2 * pair + 1]!];
            f.get(x).get(y).shuffle32([0, 4, 1, 5]).set(low[pair]!);
            f.get(x).get(y).shuffle32([2, 6, 3, 7]).set(high[pair]!);
          }
          for (let step = 0; step < 4; step++) {
            const from = step < 2 ? low : high;
            const lanes: [number, number, number, number] = step % 2 === 0 ? [0, 1, 4, 5] : [2, 3, 6, 7];
            for (const half of [0, 1]) {
              f.get(out)
                .get(from[2 * half]!)
                .get(from[2 * half + 1]!)
                .shuffle32(lanes)
                .v128Store(32 * step + 16 * half);
            }
          }
          f.get(src).i32Const(16).i32Add().set(src);
          f.get(out).i32Const(128).i32Add().set(out);
          f.get(kk).i32Const(4).i32Add().set(kk);
          f.br(0);
        }),
      );
      // The last k % 4 steps, one value at a time.
      f.block(() =>
        f.loop(() => {
          f.get(kk).get(k).i32GeS().brIf(1);
          for (let c = 0; c < 8; c++) {
            f.get(out);
            rowAt(c);
            f.f32Load(0).f32Store(4 * c);
          }
          f.get(src).i32Const(4).i32Add().set(src);
          f.get(out).i32Const(32).i32Add().set(out);
          f.get(kk).i32Const(1).i32Add().set(kk);
          f.br(0);
        }),
      );
      f.get(p).i32Const(1).i32Add().set(p);
      f.br(0);
    }),
  );
}

export const PACK_A_FUNCTION = 'pack_a_tn';

/**
 * pack_a_tn(a, lda, k, blocks, out): copies rows [0, 4·blocks) × columns [0, k) of an A stored transposed (A(i, kk) at
 * kk·lda + i) into blocks of four rows, each k steps of the four rows' values: out[b][kk][r] = A(4b + r, kk). The 'pk'
 * tile then reads a k step's four values from one 16-byte place, one after the other, where 'tn' steps lda·4 bytes
 * down A per k step (for W1's weight gradient a new 4 KB page every 1.3 steps).
 */
export function emitPackA(module: ModuleBuilder): void {
  // A(4b..4b+4, kk) are consecutive in stored row kk: a strip of one vector per k step.
  emitStripCopy(module, PACK_A_FUNCTION, 1);
}
