/**
 * The data movement around a convolution's gradients, in WebAssembly on the wasm backend's heap (pointers in bytes):
 *
 *   im2col   P[r, (fy·FW + fx)·Cin + c] = x[b, oy·sh + fy − top, ox·sw + fx − left, c]   (0 in the padding)
 *   col2im   dx[b, oy·sh + fy − top, ox·sw + fx − left, c] += P[r, (fy·FW + fx)·Cin + c] (in-range taps only)
 *   max-pool gradient: each window sends dy to the first position of its maximum, per channel
 *
 * for the output positions r = 0 … n−1 starting at (b0, oy0, ox0) in (batch, row, column) order, channels last. P has
 * one row of K = FH·FW·Cin values per position, so every tap is Cin consecutive floats on both sides (a vector copy
 * or add where Cin ≥ 4). Each addition happens in the order the JS loops they replace make it (positions, then taps,
 * then channels; windows in order), one float32 add at a time, so the results are the same bit for bit.
 */
import type { FunctionBuilder, Local } from './assembler.js';
import type { ModuleBuilder } from './module-builder.js';

export const IM2COL_FUNCTION = 'im2col_rows';
export const COL2IM_FUNCTION = 'col2im_rows';
export const MAX_POOL_GRAD_FUNCTION = 'max_pool_grad';

/** The geometry every patch function takes after its pointers, in this order. */
export interface PatchGeometry {
  /** First output position, and how many. */
  b0: number;
  oy0: number;
  ox0: number;
  count: number;
  inHeight: number;
  inWidth: number;
  channels: number;
  outHeight: number;
  outWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
}

export function geometryArguments(g: PatchGeometry): number[] {
  return [
    g.b0,
    g.oy0,
    g.ox0,
    g.count,
    g.inHeight,
    g.inWidth,
    g.channels,
    g.outHeight,
    g.outWidth,
    g.filterHeight,
    g.filterWidth,
    g.strideHeight,
    g.strideWidth,
    g.padTop,
    g.padLeft,
  ];
}

const GEOMETRY_PARAMS = 15;

interface GeometryLocals {
  b: Local;
  oy: Local;
  ox: Local;
  count: Local;
  H: Local;
  W: Local;
  C: Local;
  OH: Local;
  OW: Local;
  FH: Local;
  FW: Local;
  sh: Local;
  sw: Local;
  top: Local;
  left: Local;
}

function geometryLocals(locals: readonly Local[]): GeometryLocals {
  const at = (index: number): Local => {
    const local = locals[index];
    if (!local) throw new Error(`internal: patch function without geometry parameter ${index}`);
    return local;
  };
  return {
    b: at(0),
    oy: at(1),
    ox: at(2),
    count: at(3),
    H: at(4),
    W: at(5),
    C: at(6),
    OH: at(7),
    OW: at(8),
    FH: at(9),
    FW: at(10),
    sh: at(11),
    sw: at(12),
    top: at(13),
    left: at(14),
  };
}

/** `while (i < end) { body; i += step }` with i starting where it is. */
function countedLoop(f: FunctionBuilder, i: Local, end: Local, step: number, body: () => void): void {
  f.block(() =>
    f.loop(() => {
      f.get(i).get(end).i32GeS().brIf(1);
      body();
      f.get(i).i32Const(step).i32Add().set(i);
      f.br(0);
    }),
  );
}

/** The next output position: column, then row, then batch entry. */
function nextPosition(f: FunctionBuilder, g: GeometryLocals): void {
  f.get(g.ox).i32Const(1).i32Add().set(g.ox);
  f.get(g.ox)
    .get(g.OW)
    .i32Eq()
    .if(() => {
      f.i32Const(0).set(g.ox);
      f.get(g.oy).i32Const(1).i32Add().set(g.oy);
      f.get(g.oy)
        .get(g.OH)
        .i32Eq()
        .if(() => {
          f.i32Const(0).set(g.oy);
          f.get(g.b).i32Const(1).i32Add().set(g.b);
        });
    });
}

/** Bytes of one position's channels that vector code covers (Cin rounded down to 4) and the rest, per function. */
interface ChannelBytes {
  all: Local;
  vector: Local;
}

function channelBytes(f: FunctionBuilder, channels: Local): ChannelBytes {
  const all = f.local('i32');
  const vector = f.local('i32');
  f.get(channels).i32Const(2).i32Shl().set(all);
  f.get(all).i32Const(-16).i32And().set(vector);
  return { all, vector };
}

type TapOp = 'copy' | 'zero' | 'add';

/** One tap's channels: dst[0..C) = src (copy), 0 (zero), or dst + src (add); vectors first, then single floats. */
function emitChannels(f: FunctionBuilder, op: TapOp, src: Local, dst: Local, bytes: ChannelBytes, at: Local): void {
  f.i32Const(0).set(at);
  countedLoop(f, at, bytes.vector, 16, () => {
    f.get(dst).get(at).i32Add();
    if (op === 'zero') f.v128Const0();
    else if (op === 'copy') f.get(src).get(at).i32Add().v128Load();
    else f.get(dst).get(at).i32Add().v128Load().get(src).get(at).i32Add().v128Load().f32x4Add();
    f.v128Store();
  });
  countedLoop(f, at, bytes.all, 4, () => {
    f.get(dst).get(at).i32Add();
    if (op === 'zero') f.f32Const(0);
    else if (op === 'copy') f.get(src).get(at).i32Add().f32Load();
    else f.get(dst).get(at).i32Add().f32Load().get(src).get(at).i32Add().f32Load().f32Add();
    f.f32Store();
  });
}

/**
 * im2col (`gather`: from x into P's rows) or col2im (`scatter`: from P's rows, added into dx). Params: (from, to,
 * ...geometry).
 */
function emitPatchWalk(module: ModuleBuilder, name: string, direction: 'gather' | 'scatter'): void {
  const f = module.function(
    name,
    Array.from({ length: 2 + GEOMETRY_PARAMS }, () => 'i32' as const),
  );
  const [from, to, ...rest] = f.paramLocals(17); // 2 pointers + the geometry
  const g = geometryLocals(rest);
  const r = f.local('i32');
  const fy = f.local('i32');
  const fx = f.local('i32');
  const y = f.local('i32');
  const xx = f.local('i32');
  const row = f.local('i32'); // the P pointer, one tap (C floats) further on per tap
  const pixel = f.local('i32');
  const at = f.local('i32');
  const bytes = channelBytes(f, g.C);
  // A filter row's FW taps read FW consecutive pixels and fill FW·C consecutive values of P: where all of them are in
  // range (everywhere but the borders), one copy or add of FW·C floats does that row.
  const run: ChannelBytes = { all: f.local('i32'), vector: f.local('i32') };
  const x0 = f.local('i32');
  f.get(bytes.all).get(g.FW).i32Mul().set(run.all);
  f.get(run.all).i32Const(-16).i32And().set(run.vector);
  f.get(direction === 'gather' ? to : from).set(row);
  f.i32Const(0).set(r);
  countedLoop(f, r, g.count, 1, () => {
    f.get(g.ox).get(g.sw).i32Mul().get(g.left).i32Sub().set(x0);
    f.i32Const(0).set(fy);
    countedLoop(f, fy, g.FH, 1, () => {
      f.get(g.oy).get(g.sh).i32Mul().get(fy).i32Add().get(g.top).i32Sub().set(y);
      // In range: 0 ≤ y < H and 0 ≤ x0, x0 + FW ≤ W (unsigned: a negative index is a huge unsigned one).
      f.get(y).get(g.H).i32LtU();
      f.get(x0).i32Const(0).i32GeS().i32And();
      f.get(x0).get(g.FW).i32Add().get(g.W).i32LeS().i32And();
      f.if(
        () => {
          pixelAddress(f, g, y, x0, bytes, direction === 'gather' ? from : to, pixel);
          if (direction === 'gather') emitChannels(f, 'copy', pixel, row, run, at);
          else emitChannels(f, 'add', row, pixel, run, at);
          f.get(row).get(run.all).i32Add().set(row);
        },
        () => {
          f.i32Const(0).set(fx);
          countedLoop(f, fx, g.FW, 1, () => {
            f.get(x0).get(fx).i32Add().set(xx);
            f.get(y).get(g.H).i32LtU().get(xx).get(g.W).i32LtU().i32And();
            f.if(
              () => {
                pixelAddress(f, g, y, xx, bytes, direction === 'gather' ? from : to, pixel);
                if (direction === 'gather') emitChannels(f, 'copy', pixel, row, bytes, at);
                else emitChannels(f, 'add', row, pixel, bytes, at);
              },
              direction === 'gather' ? () => emitChannels(f, 'zero', pixel, row, bytes, at) : undefined,
            );
            f.get(row).get(bytes.all).i32Add().set(row);
          });
        },
      );
    });
    nextPosition(f, g);
  });
}

/** pixel = base + byte offset of x[b, y, column, 0]. */
function pixelAddress(
  f: FunctionBuilder,
  g: GeometryLocals,
  y: Local,
  column: Local,
  bytes: ChannelBytes,
  base: Local,
  pixel: Local,
): void {
  f.get(g.b).get(g.H).i32Mul().get(y).i32Add().get(g.W).i32Mul().get(column).i32Add();
  f.get(bytes.all).i32Mul().get(base).i32Add().set(pixel);
}

/**
 * max_pool_grad(x, dy, dx, ...geometry): dx (zeroed by the caller) += each window's dy at the first in-range position
 * of its maximum, per channel; a window with no in-range position sends nothing. Four channels at a time: per lane,
 * a position replaces the best so far when there is none yet or `f32x4.gt` holds, which keeps the first of equal
 * values and never moves off a NaN, as the JS loop's `v > best` does; without branches, because which way a
 * comparison of data goes is unpredictable. The channels past the last multiple of 4 go one at a time, the same way.
 */
function emitMaxPoolGrad(module: ModuleBuilder): void {
  const f = module.function(
    MAX_POOL_GRAD_FUNCTION,
    Array.from({ length: 18 }, () => 'i32' as const),
  );
  const [x, dy, dx, ...rest] = f.paramLocals(18); // 3 pointers + the geometry
  const g = geometryLocals(rest);
  const r = f.local('i32');
  const c = f.local('i32');
  const fy = f.local('i32');
  const fx = f.local('i32');
  const y = f.local('i32');
  const xx = f.local('i32');
  const pixel = f.local('i32'); // byte offset of the tap's first channel in x (and dx)
  const dyAt = f.local('i32');
  const target = f.local('i32');
  const better = f.local('i32');
  const value = f.local('f32');
  const best = f.local('f32');
  const at = f.local('i32'); // per channel: the pixel of the maximum so far, −1 for none
  const values = f.local('v128');
  const bests = f.local('v128');
  const ats = f.local('v128');
  const replace = f.local('v128');
  const zero = f.local('v128');
  const bytes = channelBytes(f, g.C);
  f.v128Const0().set(zero);

  /** Runs `visit` for each in-range tap of the current window, with `pixel` set. */
  const forEachTap = (visit: () => void): void => {
    f.i32Const(0).set(fy);
    countedLoop(f, fy, g.FH, 1, () => {
      f.get(g.oy).get(g.sh).i32Mul().get(fy).i32Add().get(g.top).i32Sub().set(y);
      f.i32Const(0).set(fx);
      countedLoop(f, fx, g.FW, 1, () => {
        f.get(g.ox).get(g.sw).i32Mul().get(fx).i32Add().get(g.left).i32Sub().set(xx);
        f.get(y).get(g.H).i32LtU().get(xx).get(g.W).i32LtU().i32And();
        f.if(() => {
          f.get(g.b).get(g.H).i32Mul().get(y).i32Add().get(g.W).i32Mul().get(xx).i32Add();
          f.get(bytes.all).i32Mul().set(pixel);
          visit();
        });
      });
    });
  };
  /** dx[at + channel] += dy[window + channel], unless at < 0; `channel` in bytes. */
  const send = (channel: () => void): void => {
    f.get(at)
      .i32Const(0)
      .i32GeS()
      .if(() => {
        f.get(dx).get(at).i32Add();
        channel();
        f.i32Add().set(target);
        f.get(target).get(target).f32Load();
        f.get(dyAt);
        channel();
        f.i32Add().f32Load().f32Add().f32Store();
      });
  };

  f.get(dy).set(dyAt);
  f.i32Const(0).set(r);
  countedLoop(f, r, g.count, 1, () => {
    f.i32Const(0).set(c);
    countedLoop(f, c, bytes.vector, 16, () => {
      f.i32Const(-1).i32x4Splat().set(ats);
      forEachTap(() => {
        f.get(x).get(pixel).i32Add().get(c).i32Add().v128Load().set(values);
        f.get(ats).get(zero).i32x4LtS().get(values).get(bests).f32x4Gt().v128Or().set(replace);
        f.get(values).get(bests).get(replace).v128Bitselect().set(bests);
        f.get(pixel).i32x4Splat().get(ats).get(replace).v128Bitselect().set(ats);
      });
      for (let lane = 0; lane < 4; lane++) {
        f.get(ats).i32x4ExtractLane(lane).set(at);
        send(() =>
          f
            .get(c)
            .i32Const(4 * lane)
            .i32Add(),
        );
      }
    });
    countedLoop(f, c, bytes.all, 4, () => {
      f.i32Const(-1).set(at);
      forEachTap(() => {
        f.get(x).get(pixel).i32Add().get(c).i32Add().f32Load().set(value);
        f.get(at).i32Const(0).i32LtS().get(value).get(best).f32Gt().i32Or().set(better);
        f.get(value).get(best).get(better).select().set(best);
        f.get(pixel).get(at).get(better).select().set(at);
      });
      send(() => f.get(c));
    });
    f.get(dyAt).get(bytes.all).i32Add().set(dyAt);
    nextPosition(f, g);
  });
}

export function emitPatches(module: ModuleBuilder): void {
  emitPatchWalk(module, IM2COL_FUNCTION, 'gather');
  emitPatchWalk(module, COL2IM_FUNCTION, 'scatter');
  emitMaxPoolGrad(module);
}
