/**
 * Row gather on the wasm backend's heap: out[i] = x[index[i]] for rows of `rowBytes` bytes. The trainer gathers its
 * whole training split into the epoch's batches in a new order every epoch (the quickstart: 4,200 rows of 96 values
 * and of 10 one-hot values per task). Done from JS (one `copyWithin` per row) this cost 0.3 ms once the JIT had
 * compiled the loop but 3–5 ms before, i.e. in the first epochs; in wasm it is compiled before it first runs. Rows
 * are copied 16 bytes at a time with v128 loads and stores (then 4, then 1): a `memory.copy` per row is a call into
 * the runtime's memmove, ~30 % slower on the quickstart's rows of 40 and 384 bytes.
 */
import type { FunctionBuilder, Local } from './assembler.js';
import type { ModuleBuilder } from './module-builder.js';

export const GATHER_ROWS_FUNCTION = 'gather_rows';

/** gather_rows(x, index, count, rowBytes, out): pointers in bytes; index holds `count` int32 row numbers. */
export function emitGatherRows(module: ModuleBuilder): void {
  const f = module.function(GATHER_ROWS_FUNCTION, ['i32', 'i32', 'i32', 'i32', 'i32']);
  const [x, index, count, rowBytes, out] = f.paramLocals(5);
  const end = f.local('i32');
  const src = f.local('i32');
  const left = f.local('i32');
  f.get(index).get(count).i32Const(2).i32Shl().i32Add().set(end);
  f.block(() =>
    f.loop(() => {
      f.get(index).get(end).i32GeS().brIf(1);
      // src = x + index[i]·rowBytes; copy rowBytes bytes from src to out, advancing out.
      f.get(x).get(index).i32Load().get(rowBytes).i32Mul().i32Add().set(src);
      f.get(rowBytes).set(left);
      copyChunks(f, src, out, left, 16, () => f.get(out).get(src).v128Load().v128Store());
      copyChunks(f, src, out, left, 4, () => f.get(out).get(src).i32Load().i32Store());
      copyChunks(f, src, out, left, 1, () => f.get(out).get(src).i32Load8U().i32Store8());
      f.get(index).i32Const(4).i32Add().set(index);
      f.br(0);
    }),
  );
}

/** while (left ≥ size) { copy one chunk; src += size; out += size; left −= size } */
function copyChunks(f: FunctionBuilder, src: Local, out: Local, left: Local, size: number, copy: () => void): void {
  f.block(() =>
    f.loop(() => {
      f.get(left).i32Const(size).i32LtS().brIf(1);
      copy();
      f.get(src).i32Const(size).i32Add().set(src);
      f.get(out).i32Const(size).i32Add().set(out);
      f.get(left).i32Const(size).i32Sub().set(left);
      f.br(0);
    }),
  );
}
