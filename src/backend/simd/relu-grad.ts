/**
 * The gradient through a ReLU, dz = dy ⊙ step(y), in one pass: what TF.js's `Step` (alpha 0) then `Multiply` give,
 * the same products bit for bit (dy·1, dy·0, dy·NaN; a product with 1 or 0 is exact, and −0 for a negative dy times 0
 * stays −0), without the mask tensor and the second pass. step(y) is 1 for y > 0, NaN for a NaN y (as TF.js's `Step`),
 * else 0.
 */
import type { ModuleBuilder } from './module-builder.js';

export const RELU_GRAD_FUNCTION = 'relu_grad';

/** (dy, y, out, blocks): out[0..4·blocks) = dy ⊙ step(y); pointers in bytes, any alignment; no tail (the caller). */
export function emitReluGrad(module: ModuleBuilder): void {
  const f = module.function(RELU_GRAD_FUNCTION, ['i32', 'i32', 'i32', 'i32']);
  const [dy, y, out, blocks] = f.paramLocals(4);
  const one = f.local('v128');
  const zero = f.local('v128');
  const value = f.local('v128');
  const mask = f.local('v128');
  const offset = f.local('i32');
  const end = f.local('i32');
  f.f32Const(1).f32x4Splat().set(one);
  f.v128Const0().set(zero);
  f.i32Const(0).set(offset);
  f.get(blocks).i32Const(4).i32Shl().set(end);
  f.block(() =>
    f.loop(() => {
      f.get(offset).get(end).i32GeS().brIf(1);
      f.get(y).get(offset).i32Add().v128Load().set(value);
      // 1 where y > 0, else 0; then y itself where y is NaN (y ≠ y), so that the product is NaN as with `Step`.
      f.get(one).get(zero).get(value).get(zero).f32x4Gt().v128Bitselect().set(mask);
      f.get(mask).get(value).get(value).get(value).f32x4Eq().v128Bitselect().set(mask);
      f.get(out).get(offset).i32Add();
      f.get(dy).get(offset).i32Add().v128Load().get(mask).f32x4Mul().v128Store();
      f.get(offset).i32Const(16).i32Add().set(offset);
      f.br(0);
    }),
  );
}
