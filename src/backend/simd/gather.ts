/**
 * Row gather on the wasm backend's heap: out[i] = x[index[i]] for rows of `rowBytes` bytes, one `memory.copy` per row
 * (bulk memory, a native memmove). The trainer gathers its whole training split in a new order every epoch (the
 * quickstart: 4,200 rows of 96 values). Done from JS (one `copyWithin` per row) this costs 0.3 ms once the JIT has
 * compiled the loop but 3–5 ms before, i.e. in the first epochs; in wasm it is compiled before it first runs.
 */
import type { ModuleBuilder } from './assembler.js';

export const GATHER_ROWS_FUNCTION = 'gather_rows';

/** gather_rows(x, index, count, rowBytes, out): pointers in bytes; index holds `count` int32 row numbers. */
export function emitGatherRows(module: ModuleBuilder): void {
  const f = module.function(GATHER_ROWS_FUNCTION, ['i32', 'i32', 'i32', 'i32', 'i32']);
  const [x, index, count, rowBytes, out] = [0, 1, 2, 3, 4].map((i) => f.param(i));
  const end = f.local('i32');
  f.get(index).get(count).i32Const(2).i32Shl().i32Add().set(end);
  f.block(() =>
    f.loop(() => {
      f.get(index).get(end).i32GeS().brIf(1);
      // memory.copy(out, x + index[i]·rowBytes, rowBytes)
      f.get(out);
      f.get(x).get(index).i32Load().get(rowBytes).i32Mul().i32Add();
      f.get(rowBytes);
      f.memoryCopy();
      f.get(out).get(rowBytes).i32Add().set(out);
      f.get(index).i32Const(4).i32Add().set(index);
      f.br(0);
    }),
  );
}
