/**
 * The bias and activation of a fused matrix product, applied in place to C[rows×n] after the product, in WebAssembly
 * SIMD: c = act(c + bias[j]) with act ∈ {identity, relu}. Products are summed first and the bias added last, the
 * order of an unfused `matMul` then `add` (and of the cpu backend's fused kernel).
 */
import type { ModuleBuilder } from './module-builder.js';

export const EPILOGUE_FUNCTION = 'bias_activation';

/** (c, bias, rows, n, flags): flags bit 1 = add the bias, 2 = relu, 4 = the bias is one value for every column. */
export function emitEpilogue(module: ModuleBuilder): void {
  const f = module.function(EPILOGUE_FUNCTION, ['i32', 'i32', 'i32', 'i32', 'i32']);
  const [c, bias, rows, n, flags] = f.paramLocals(5);
  const row = f.local('i32');
  const offset = f.local('i32');
  const rowBytes = f.local('i32');
  const vectorBytes = f.local('i32');
  const pc = f.local('i32');
  const hasBias = f.local('i32');
  const relu = f.local('i32');
  const scalarBias = f.local('i32');
  const x = f.local('v128');
  const xs = f.local('f32');
  const zero = f.local('v128');
  f.v128Const0().set(zero);
  f.get(flags).i32Const(1).i32And().set(hasBias);
  f.get(flags).i32Const(2).i32And().set(relu);
  f.get(flags).i32Const(4).i32And().set(scalarBias);
  f.get(n).i32Const(2).i32Shl().set(rowBytes);
  f.get(rowBytes).i32Const(-16).i32And().set(vectorBytes);
  f.i32Const(0).set(row);
  f.get(c).set(pc);
  f.block(() =>
    f.loop(() => {
      f.get(row).get(rows).i32GeS().brIf(1);
      f.i32Const(0).set(offset);
      f.block(() =>
        f.loop(() => {
          f.get(offset).get(vectorBytes).i32GeS().brIf(1);
          f.get(pc).get(offset).i32Add().v128Load().set(x);
          f.get(hasBias).if(() =>
            f.get(scalarBias).if(
              () => f.get(x).get(bias).v128Load32Splat().f32x4Add().set(x),
              () => f.get(x).get(bias).get(offset).i32Add().v128Load().f32x4Add().set(x),
            ),
          );
          f.get(relu).if(() => f.get(x).get(zero).f32x4Max().set(x));
          f.get(pc).get(offset).i32Add().get(x).v128Store();
          f.get(offset).i32Const(16).i32Add().set(offset);
          f.br(0);
        }),
      );
      f.block(() =>
        f.loop(() => {
          f.get(offset).get(rowBytes).i32GeS().brIf(1);
          f.get(pc).get(offset).i32Add().f32Load().set(xs);
          f.get(hasBias).if(() =>
            f.get(scalarBias).if(
              () => f.get(xs).get(bias).f32Load().f32Add().set(xs),
              () => f.get(xs).get(bias).get(offset).i32Add().f32Load().f32Add().set(xs),
            ),
          );
          f.get(relu).if(() => f.get(xs).f32Const(0).f32Max().set(xs));
          f.get(pc).get(offset).i32Add().get(xs).f32Store();
          f.get(offset).i32Const(4).i32Add().set(offset);
          f.br(0);
        }),
      );
      f.get(pc).get(rowBytes).i32Add().set(pc);
      f.get(row).i32Const(1).i32Add().set(row);
      f.br(0);
    }),
  );
}
