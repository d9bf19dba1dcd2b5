/**
 * Single-precision matrix products in WebAssembly SIMD, generated with simd/assembler.ts and run on the TF.js wasm
 * backend's own heap (pointers are byte offsets into it).
 *
 *   nn:  C[m×n] = A[m×k] · B[k×n]        (A row-major with row stride lda)
 *   tn:  C[m×n] = Aᵀ · B, A stored [k×m]  (the weight gradient xᵀ·dy of a dense layer, without transposing x)
 *
 * Why not XNNPACK, which the wasm backend uses for plain products: XNNPACK packs the right-hand matrix into its own
 * layout when an operator is created, and the backend creates one per weight tensor. In training the weights change
 * every step, so every product repacks them (784×256 weights: ~1.3 ms of a 4–5 ms product), and products with a
 * transposed operand need an explicit transpose first (256×784: ~0.5 ms). These kernels read A where it lies (also
 * transposed) and copy B into 8-column panels themselves, one sequential pass (pack_panels). Measured on this project's
 * machine (one thread, best of 40, 256×784·784×256): XNNPACK with fresh weights 5.4 ms; this kernel reading B in place
 * 4.3 ms, from packed panels 3.3 ms (~30 GFLOP/s); the weight gradient (transposed x) 6.4 ms transpose + XNNPACK →
 * 3.4 ms.
 *
 * With four panels or more (n ≥ 32), each block of a transposed A's rows is packed too, four rows at a time
 * (pack_a_tn, the GotoBLAS layout), and the 'pk' tile reads a k step's four A values from one 16-byte place, where
 * 'tn' steps lda·4 bytes down A, touching a new 4 KB page every k step or two (W1's weight gradient). A B given
 * transposed (Bᵀ stored, a dense layer's input gradient dy·Wᵀ) is packed into panels straight from there
 * (pack_panels_t, 4×4 transposes in registers), with no transposed copy. Packing moves values only: every sum is the
 * same.
 *
 * The register tile is ROWS × (4·VECTORS) outputs: for each k, VECTORS vectors of B's row k are loaded once and
 * multiplied by a broadcast A value for each of ROWS rows. 4 × 8 keeps 8 accumulators, 2 B vectors and 4 broadcasts
 * live: V8 issues a k step's loads before its multiply-adds (its machine code, `node --print-wasm-code`), so that is
 * 14 of the 15 x86 vector registers it allocates; 3×8, 5×8 and 6×8 with packing, and 8×4, 2×16 and 3×12 without, were
 * slower (the larger ones spill). Each output is the sum over k in order of float32 products, rounded after every
 * multiply and add, the same order as XNNPACK and the stock loop. Edges: tiles of 1–3 rows, a 4-column vector tile,
 * and a scalar column kernel, so any shape works.
 *
 * FMA variant (`emitGemm(module, true)`, compiled into a second module only where relaxed SIMD validates): the vector
 * tiles accumulate with `f32x4.relaxed_madd` (acc = a·b + acc, one rounding per step on x86 FMA3 instead of two), the
 * scalar column keeps multiply-then-add (WebAssembly has no scalar fused multiply-add). Same order over k, so the
 * only difference is the rounding of each product: per output |fma − plain| ≤ 2·k·u·Σ|a_i·b_i| (u = 2⁻²⁴, the
 * standard bound on the two sums' errors from their exact value; test/fma-kernels.test.ts checks it).
 */
import type { FunctionBuilder } from './assembler.js';
import {
  emitPack,
  emitPackA,
  emitPackTransposed,
  PACK_A_FUNCTION,
  PACK_FUNCTION,
  PACK_TRANSPOSED_FUNCTION,
} from './gemm-packing.js';
import type { ModuleBuilder } from './module-builder.js';
import type { WasmExports } from './wasm-api.js';

export const GEMM_ROWS = 4;
/** Column widths of the generated tiles: two vectors, one vector, one scalar column. */
const WIDTHS = [8, 4, 1] as const;
type Width = (typeof WIDTHS)[number];
const WIDTH_INDEX: Record<Width, number> = { 8: 0, 4: 1, 1: 2 };
export type GemmLayout = 'nn' | 'tn';
/**
 * The tile layouts: 'nn' and 'tn' read A where it lies; 'pk' reads A from a packed copy (pack_a_tn), four rows at a
 * time: block b holds A(4b..4b+4, kk) for every kk of the k block as k·4 consecutive floats.
 */
type TileLayout = GemmLayout | 'pk';

function functionName(layout: TileLayout, rows: number, width: Width): string {
  return `gemm_${layout}_${rows}x${width}`;
}

/**
 * The signature every tile function has: (a, b, c, m, k, n, lda, ldb, ldc, accumulate), pointers in bytes, sizes in
 * elements; accumulate ≠ 0 adds to C's values (the running sums of an earlier block of k) instead of starting at 0.
 */
const GEMM_PARAMS = ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'] as const;

/**
 * One tile function: all of C[0..m)×[0..n), with m a multiple of `rows` and n a multiple of `width`. Loop order:
 * column panels outside, row blocks inside, so a panel of B (k × width) is reused by every row block from cache.
 */
function emitTile(module: ModuleBuilder, layout: TileLayout, rows: number, width: Width, fma: boolean): void {
  const f = module.function(functionName(layout, rows, width), GEMM_PARAMS);
  const [a, b, c, m, k, n, lda, ldb, ldc, accumulate] = f.paramLocals(GEMM_PARAMS.length);
  const vectors = width === 1 ? 0 : width / 4; // 0: the scalar column
  const j = f.local('i32');
  const i = f.local('i32');
  const remaining = f.local('i32');
  const pa = f.local('i32');
  const pb = f.local('i32');
  const pc = f.local('i32');
  const lda4 = f.local('i32');
  const ldb4 = f.local('i32');
  const ldc4 = f.local('i32');
  // nn: row r of the tile starts r·lda elements further on in A (a runtime stride); tn: r elements (a constant).
  const rowOffsets = layout === 'nn' ? Array.from({ length: rows }, () => f.local('i32')) : [];
  const accumulators = Array.from({ length: rows * Math.max(vectors, 1) }, () => f.local(vectors > 0 ? 'v128' : 'f32'));
  const bValues = Array.from({ length: Math.max(vectors, 1) }, () => f.local(vectors > 0 ? 'v128' : 'f32'));
  const aValue = f.local(vectors > 0 ? 'v128' : 'f32');

  f.get(lda).i32Const(2).i32Shl().set(lda4);
  f.get(ldb).i32Const(2).i32Shl().set(ldb4);
  f.get(ldc).i32Const(2).i32Shl().set(ldc4);
  rowOffsets.forEach((offset, r) => f.get(lda4).i32Const(r).i32Mul().set(offset));

  const loadA = (r: number): void => {
    const load = (fn: FunctionBuilder, offset: number): FunctionBuilder =>
      vectors > 0 ? fn.v128Load32Splat(offset) : fn.f32Load(offset);
    if (layout === 'nn') load(f.get(pa).get(rowOffsets[r]!).i32Add(), 0);
    else load(f.get(pa), r * 4);
  };

  f.i32Const(0).set(j);
  f.block(() =>
    f.loop(() => {
      f.get(j).get(n).i32GeS().brIf(1);
      f.i32Const(0).set(i);
      f.block(() =>
        f.loop(() => {
          f.get(i).get(m).i32GeS().brIf(1);
          f.get(c).get(i).get(ldc4).i32Mul().i32Add().get(j).i32Const(2).i32Shl().i32Add().set(pc);
          // Continuing a sum from C rounds exactly as one unbroken sum over k would: same float32 steps, same order.
          f.get(accumulate).if(
            () => {
              for (let r = 0; r < rows; r++) {
                bValues.forEach((_, v) => {
                  const acc = accumulators[r * bValues.length + v]!;
                  (vectors > 0 ? f.get(pc).v128Load(16 * v) : f.get(pc).f32Load(0)).set(acc);
                });
                if (r < rows - 1) f.get(pc).get(ldc4).i32Add().set(pc);
              }
              f.get(c).get(i).get(ldc4).i32Mul().i32Add().get(j).i32Const(2).i32Shl().i32Add().set(pc);
            },
            () => {
              for (const acc of accumulators) (vectors > 0 ? f.v128Const0() : f.f32Const(0)).set(acc);
            },
          );
          // pa: A(i, 0); nn: a + i·lda·4, tn: a + i·4, pk: block i/4, a + (i/4)·k·16.
          if (layout === 'nn') f.get(a).get(i).get(lda4).i32Mul().i32Add().set(pa);
          else if (layout === 'tn') f.get(a).get(i).i32Const(2).i32Shl().i32Add().set(pa);
          else f.get(a).get(i).get(k).i32Mul().i32Const(2).i32Shl().i32Add().set(pa);
          f.get(b).get(j).i32Const(2).i32Shl().i32Add().set(pb);
          f.get(k).set(remaining);
          f.block(() =>
            f.loop(() => {
              f.get(remaining).i32Eqz().brIf(1);
              bValues.forEach((value, v) =>
                (vectors > 0 ? f.get(pb).v128Load(16 * v) : f.get(pb).f32Load(0)).set(value),
              );
              for (let r = 0; r < rows; r++) {
                loadA(r);
                f.set(aValue);
                bValues.forEach((value, v) => {
                  const acc = accumulators[r * bValues.length + v]!;
                  if (vectors > 0 && fma) f.get(aValue).get(value).get(acc).f32x4RelaxedMadd();
                  else {
                    f.get(acc).get(aValue).get(value);
                    if (vectors > 0) f.f32x4Mul().f32x4Add();
                    else f.f32Mul().f32Add();
                  }
                  f.set(acc);
                });
              }
              // Next k: nn moves along A's row, tn down A's column (one stored row), pk to the block's next 4 values.
              if (layout === 'nn') f.get(pa).i32Const(4).i32Add().set(pa);
              else if (layout === 'tn') f.get(pa).get(lda4).i32Add().set(pa);
              else
                f.get(pa)
                  .i32Const(4 * rows)
                  .i32Add()
                  .set(pa);
              f.get(pb).get(ldb4).i32Add().set(pb);
              f.get(remaining).i32Const(1).i32Sub().set(remaining);
              f.br(0);
            }),
          );
          for (let r = 0; r < rows; r++) {
            bValues.forEach((_, v) => {
              const acc = accumulators[r * bValues.length + v]!;
              if (vectors > 0)
                f.get(pc)
                  .get(acc)
                  .v128Store(16 * v);
              else f.get(pc).get(acc).f32Store(0);
            });
            if (r < rows - 1) f.get(pc).get(ldc4).i32Add().set(pc);
          }
          f.get(i).i32Const(rows).i32Add().set(i);
          f.br(0);
        }),
      );
      f.get(j).i32Const(width).i32Add().set(j);
      f.br(0);
    }),
  );
}

/**
 * Adds every tile function of both layouts, the packed-A tile, and the panel and A packing, to `module`; `fma`: the
 * vector tiles use relaxed SIMD's multiply-add (the module then validates only where relaxed SIMD does).
 */
export function emitGemm(module: ModuleBuilder, fma = false): void {
  for (const layout of ['nn', 'tn'] as const) {
    for (let rows = 1; rows <= GEMM_ROWS; rows++)
      for (const width of WIDTHS) emitTile(module, layout, rows, width, fma);
  }
  emitTile(module, 'pk', GEMM_ROWS, 8, fma);
  emitPackA(module);
  emitPack(module);
  emitPackTransposed(module);
}

/**
 * Bytes of scratch {@link GemmArgs.packed} needs for an m×k by k×n product: B's 8-column panels, then one block of A's
 * rows (at most M_BLOCK rows by K_BLOCK of k) packed for the 'pk' tile.
 */
export function packedBytes(m: number, k: number, n: number): number {
  const panelColumns = n - (n % 8);
  const aRows = Math.min(M_BLOCK, m - (m % GEMM_ROWS));
  return k * panelColumns * 4 + (panelColumns > 0 ? Math.min(K_BLOCK, k) * aRows * 4 : 0);
}

type TileFunction = (
  a: number,
  b: number,
  c: number,
  m: number,
  k: number,
  n: number,
  lda: number,
  ldb: number,
  ldc: number,
  accumulate: number,
) => void;

/**
 * Cache blocking of the packed path (the GotoBLAS loop order): k in blocks of K_BLOCK, so one block of a panel (8 KB)
 * stays in L1 while every row block uses it; rows in blocks of M_BLOCK, so A's block (≤ 128 KB per 256 of k) stays in
 * L2 while every panel uses it. Sums continue across k blocks in order, so the results do not depend on the blocking.
 * Measured (best of 8, one thread): no difference beyond noise on W1's products, whose panels nearly fit anyway;
 * 1024×1024ᵀ·1024×1024 117–130 → 100–106 ms and 2048×2048·2048×256 80 → 75 ms.
 */
const K_BLOCK = 256;
const M_BLOCK = 128;

/**
 * A transposed A's rows are packed for the 'pk' tile when at least this many panels reuse them (bench/gemm-packing.mjs:
 * W1's weight gradients 784×256·256×256 and 256×256·256×128 1.02–1.12× faster; with one panel, a 10-way head, the
 * copy costs more than it saves, 0.74–0.77×). An A read row by row ('nn') is not packed: packing it too (a 4×4
 * transpose per four k steps, tried) gave 0.96–1.09× on W1's forward products, within this VM's noise.
 */
export const PACK_A_FROM_PANELS = 4;

export interface GemmArgs {
  layout: GemmLayout;
  /** Byte offsets of A, B and C in the wasm memory. */
  a: number;
  b: number;
  c: number;
  m: number;
  k: number;
  n: number;
  /**
   * Byte offset of scratch memory of {@link packedBytes}(k, n) bytes: when given, B's 8-column panels are copied there
   * first (see pack_panels) and the 8-wide tiles read them from it.
   */
  packed?: number;
  /**
   * B given transposed: Bᵀ stored n×k (row stride ldb, default k), packed into panels straight from there. Needs
   * `packed` and n a multiple of 8 (the 4-wide and scalar edge tiles read B row-major).
   */
  transposedB?: boolean;
  /**
   * Whether the packed path of a 'tn' product also packs A's rows for the 'pk' tile (no effect on 'nn'); default:
   * from {@link PACK_A_FROM_PANELS} panels on. The sums are the same either way (tests and bench/gemm-packing.mjs
   * compare the two).
   */
  packA?: boolean;
  /** Row strides in elements (defaults: nn A k, tn A m; B n, transposed k; C n). */
  lda?: number;
  ldb?: number;
  ldc?: number;
}

/** Runs a product with the generated tiles, splitting C into the blocks each tile size covers. */
export function makeGemm(exports: WasmExports): (args: GemmArgs) => void {
  // tiles[layout][rows][WIDTHS.indexOf(width)]: looked up by index, since a product calls a tile once per row block,
  // panel and k block (thousands of calls for W1's products); building each name there made ~1 MB of garbage an epoch.
  const tiles: Record<GemmLayout, TileFunction[][]> = { nn: [], tn: [] };
  for (const layout of ['nn', 'tn'] as const) {
    for (let rows = 1; rows <= GEMM_ROWS; rows++) {
      tiles[layout][rows] = WIDTHS.map((width) => {
        const name = functionName(layout, rows, width);
        const fn = exports[name];
        if (typeof fn !== 'function') throw new Error(`simd module: ${name} missing`);
        return fn as TileFunction;
      });
    }
  }
  const packedTile = exports[functionName('pk', GEMM_ROWS, 8)] as TileFunction;
  type Pack = (from: number, stride: number, count: number, k: number, out: number) => void;
  const pack = exports[PACK_FUNCTION] as Pack;
  const packRows = exports[PACK_A_FUNCTION] as Pack;
  const packTransposed = exports[PACK_TRANSPOSED_FUNCTION] as Pack;
  return ({
    layout,
    a,
    b,
    c,
    m,
    k,
    n,
    packed,
    transposedB = false,
    packA,
    lda = layout === 'nn' ? k : m,
    ldb = transposedB ? k : n,
    ldc = n,
  }) => {
    if (transposedB && (packed === undefined || n % 8 !== 0))
      throw new Error(`gemm: a transposed B needs packed panels and n a multiple of 8 (n = ${n})`);
    const byRows = tiles[layout];
    const tile = (rows: number, width: Width): TileFunction => byRows[rows]![WIDTH_INDEX[width]]!;
    /** A(row, kStart) in bytes. */
    const aAt = (row: number, kStart: number): number =>
      layout === 'nn' ? a + (row * lda + kStart) * 4 : a + (kStart * lda + row) * 4;
    /** C[row0, row0+count) × [column, column+cols) += A·B over k ∈ [kStart, kStart+kCount), B's block at bStart. */
    const rowRange = (
      width: Width,
      row0: number,
      count: number,
      kStart: number,
      kCount: number,
      bStart: number,
      bStride: number,
      column: number,
      cols: number,
    ): void => {
      const main = count - (count % GEMM_ROWS);
      const accumulate = kStart > 0 ? 1 : 0;
      if (main > 0)
        tile(GEMM_ROWS, width)(
          aAt(row0, kStart),
          bStart,
          c + (row0 * ldc + column) * 4,
          main,
          kCount,
          cols,
          lda,
          bStride,
          ldc,
          accumulate,
        );
      if (count > main)
        tile(count - main, width)(
          aAt(row0 + main, kStart),
          bStart,
          c + ((row0 + main) * ldc + column) * 4,
          count - main,
          kCount,
          cols,
          lda,
          bStride,
          ldc,
          accumulate,
        );
    };
    let column = 0;
    for (const width of WIDTHS) {
      const cols = Math.floor((n - column) / width) * width;
      if (cols === 0) continue;
      if (width === 8 && packed !== undefined) {
        const panels = cols / 8;
        if (transposedB) packTransposed(b, ldb, k, panels, packed);
        else pack(b + column * 4, ldb, k, panels, packed);
        const packedA = packed + k * panels * 32;
        const rowsPacked = layout === 'tn' && (packA ?? panels >= PACK_A_FROM_PANELS);
        for (let kStart = 0; kStart < k || kStart === 0; kStart += K_BLOCK) {
          const kCount = Math.min(K_BLOCK, k - kStart);
          const accumulate = kStart > 0 ? 1 : 0;
          for (let row0 = 0; row0 < m; row0 += M_BLOCK) {
            const count = Math.min(M_BLOCK, m - row0);
            const main = rowsPacked ? count - (count % GEMM_ROWS) : 0;
            if (main > 0) packRows(aAt(row0, kStart), lda, kCount, main / GEMM_ROWS, packedA);
            for (let p = 0; p < panels; p++) {
              const panel = packed + (p * k + kStart) * 32;
              const at = column + p * 8;
              if (main > 0)
                packedTile(packedA, panel, c + (row0 * ldc + at) * 4, main, kCount, 8, 0, 8, ldc, accumulate);
              if (count > main) rowRange(8, row0 + main, count - main, kStart, kCount, panel, 8, at, 8);
            }
          }
        }
      } else {
        rowRange(width, 0, m, 0, k, b + column * 4, ldb, column, cols);
      }
      column += cols;
    }
  };
}
