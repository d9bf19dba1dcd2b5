/**
 * The module around the assembler's functions (simd/assembler.ts): one imported memory, one type per function, every
 * function exported by name. Sections 1 (type), 2 (import), 3 (function), 7 (export) and 10 (code) of the binary
 * format.
 */
import { FunctionBuilder } from './assembler.js';
import { nameBytes, unsignedLeb, VALUE_TYPE_CODE, type ValueType } from './encoding.js';

/** A module that imports one memory (`env.memory`) and exports its functions. */
export class ModuleBuilder {
  private readonly functions: FunctionBuilder[] = [];

  constructor(private readonly sharedMemory: boolean) {}

  function(name: string, params: readonly ValueType[], results: readonly ValueType[] = []): FunctionBuilder {
    const fn = new FunctionBuilder(name, params, results);
    this.functions.push(fn);
    return fn;
  }

  encode(): Uint8Array {
    const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const section = (id: number, body: number[]): void => {
      out.push(id);
      unsignedLeb(body.length, out);
      out.push(...body);
    };
    // One type per function (duplicates are allowed and keep the indices simple).
    const types: number[] = [];
    unsignedLeb(this.functions.length, types);
    for (const fn of this.functions) {
      types.push(0x60);
      unsignedLeb(fn.params.length, types);
      for (const p of fn.params) types.push(VALUE_TYPE_CODE[p]);
      unsignedLeb(fn.results.length, types);
      for (const r of fn.results) types.push(VALUE_TYPE_CODE[r]);
    }
    section(1, types);
    const imports: number[] = [];
    unsignedLeb(1, imports);
    nameBytes('env', imports);
    nameBytes('memory', imports);
    imports.push(0x02);
    // Limits: min 0 and no maximum fits any unshared memory; a shared one must declare a maximum (65536 pages = 4 GiB).
    if (this.sharedMemory) {
      imports.push(0x03);
      unsignedLeb(0, imports);
      unsignedLeb(65536, imports);
    } else {
      imports.push(0x00);
      unsignedLeb(0, imports);
    }
    section(2, imports);
    const declarations: number[] = [];
    unsignedLeb(this.functions.length, declarations);
    this.functions.forEach((_, i) => unsignedLeb(i, declarations));
    section(3, declarations);
    const exports: number[] = [];
    unsignedLeb(this.functions.length, exports);
    this.functions.forEach((fn, i) => {
      nameBytes(fn.name, exports);
      exports.push(0x00);
      unsignedLeb(i, exports);
    });
    section(7, exports);
    const code: number[] = [];
    unsignedLeb(this.functions.length, code);
    for (const fn of this.functions) {
      const body: number[] = [];
      fn.encodeLocals(body);
      body.push(...fn.code, 0x0b);
      unsignedLeb(body.length, code);
      code.push(...body);
    }
    section(10, code);
    return Uint8Array.from(out);
  }
}
