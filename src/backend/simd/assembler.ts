/**
 * A small WebAssembly assembler: enough of the binary format (MVP + fixed-width SIMD) to build the project's own
 * wasm kernels (simd/module.ts) at run time, from TypeScript, without a toolchain. The kernels are generated
 * rather than written out by hand because their loops are unrolled over register tiles whose sizes are parameters.
 *
 * Only what the kernels use is here. The encoding follows the WebAssembly core specification 2.0, §5 (binary format):
 * LEB128 integers, sections 1 (type), 2 (import), 3 (function), 7 (export), 10 (code); SIMD opcodes are the 0xFD
 * prefix followed by the LEB128 sub-opcode (relaxed SIMD's `f32x4.relaxed_madd`, 0x105, encodes as FD 85 02).
 */

import { signedLeb, unsignedLeb, VALUE_TYPE_CODE, type ValueType } from './encoding.js';

export type { ValueType } from './encoding.js';

/** A local variable (or parameter) of a function being built. */
export interface Local {
  readonly index: number;
  readonly type: ValueType;
}

/** A tuple of N locals (N a literal number), so destructuring parameters needs no undefined checks. */
export type LocalTuple<N extends number, Acc extends Local[] = []> = Acc['length'] extends N
  ? Acc
  : LocalTuple<N, [...Acc, Local]>;

/** log2 of the natural alignment, the memarg's first field. */
const ALIGN = { f32: 2, v128: 4 } as const;

/**
 * The body of one function. Instructions are methods named after their text-format mnemonics (dots dropped,
 * camelCase); each appends its encoding. Structured control (block/loop/if) takes a callback for its body.
 */
export class FunctionBuilder {
  readonly code: number[] = [];
  private readonly localTypes: ValueType[] = [];

  constructor(
    readonly name: string,
    readonly params: readonly ValueType[],
    readonly results: readonly ValueType[],
  ) {}

  param(index: number): Local {
    const type = this.params[index];
    if (type === undefined) throw new Error(`${this.name}: no parameter ${index}`);
    return { index, type };
  }

  /** Every parameter as a local, in order: destructure it as `const [a, b] = f.paramLocals(2)`. */
  paramLocals<N extends number>(count: N): LocalTuple<N> {
    if (count !== this.params.length)
      throw new Error(`${this.name}: has ${this.params.length} parameters, not ${count}`);
    const locals: Local[] = this.params.map((type, index) => ({ index, type }));
    return locals as LocalTuple<N>;
  }

  local(type: ValueType): Local {
    this.localTypes.push(type);
    return { index: this.params.length + this.localTypes.length - 1, type };
  }

  /** Local declarations, grouped in runs of one type as the format wants. */
  encodeLocals(out: number[]): void {
    const runs: Array<[number, ValueType]> = [];
    for (const type of this.localTypes) {
      const last = runs[runs.length - 1];
      if (last && last[1] === type) last[0]++;
      else runs.push([1, type]);
    }
    unsignedLeb(runs.length, out);
    for (const [count, type] of runs) {
      unsignedLeb(count, out);
      out.push(VALUE_TYPE_CODE[type]);
    }
  }

  private op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }

  private simd(subOpcode: number): this {
    this.code.push(0xfd);
    unsignedLeb(subOpcode, this.code);
    return this;
  }

  private memarg(align: number, offset: number): this {
    if (offset < 0) throw new Error(`${this.name}: negative memory offset ${offset}`);
    unsignedLeb(align, this.code);
    unsignedLeb(offset, this.code);
    return this;
  }

  // Control. Depth 0 in br/brIf is the innermost enclosing block or loop.
  block(body: () => void): this {
    this.op(0x02, 0x40);
    body();
    return this.op(0x0b);
  }
  loop(body: () => void): this {
    this.op(0x03, 0x40);
    body();
    return this.op(0x0b);
  }
  if(then: () => void, otherwise?: () => void): this {
    this.op(0x04, 0x40);
    then();
    if (otherwise) {
      this.op(0x05);
      otherwise();
    }
    return this.op(0x0b);
  }
  br(depth: number): this {
    this.op(0x0c);
    unsignedLeb(depth, this.code);
    return this;
  }
  brIf(depth: number): this {
    this.op(0x0d);
    unsignedLeb(depth, this.code);
    return this;
  }
  return(): this {
    return this.op(0x0f);
  }

  // Variables.
  get(local: Local): this {
    this.op(0x20);
    unsignedLeb(local.index, this.code);
    return this;
  }
  set(local: Local): this {
    this.op(0x21);
    unsignedLeb(local.index, this.code);
    return this;
  }
  tee(local: Local): this {
    this.op(0x22);
    unsignedLeb(local.index, this.code);
    return this;
  }

  // i32.
  i32Const(value: number): this {
    this.op(0x41);
    signedLeb(value, this.code);
    return this;
  }
  i32Add(): this {
    return this.op(0x6a);
  }
  i32Sub(): this {
    return this.op(0x6b);
  }
  i32Mul(): this {
    return this.op(0x6c);
  }
  i32Shl(): this {
    return this.op(0x74);
  }
  i32And(): this {
    return this.op(0x71);
  }
  i32Or(): this {
    return this.op(0x72);
  }
  i32Eqz(): this {
    return this.op(0x45);
  }
  i32Eq(): this {
    return this.op(0x46);
  }
  i32Ne(): this {
    return this.op(0x47);
  }
  i32LtS(): this {
    return this.op(0x48);
  }
  i32LtU(): this {
    return this.op(0x49);
  }
  i32GtS(): this {
    return this.op(0x4a);
  }
  i32LeS(): this {
    return this.op(0x4c);
  }
  i32GeS(): this {
    return this.op(0x4e);
  }

  i32Load(offset = 0): this {
    return this.op(0x28).memarg(2, offset);
  }
  /** Pops address, value. */
  i32Store(offset = 0): this {
    return this.op(0x36).memarg(2, offset);
  }
  i32Load8U(offset = 0): this {
    return this.op(0x2d).memarg(0, offset);
  }
  /** Pops address, value; stores the low byte. */
  i32Store8(offset = 0): this {
    return this.op(0x3a).memarg(0, offset);
  }
  // f32 (scalar).
  f32Const(value: number): this {
    this.op(0x43);
    const bytes = new Uint8Array(new Float32Array([value]).buffer);
    this.code.push(...bytes);
    return this;
  }
  f32Load(offset = 0): this {
    return this.op(0x2a).memarg(ALIGN.f32, offset);
  }
  f32Store(offset = 0): this {
    return this.op(0x38).memarg(ALIGN.f32, offset);
  }
  f32Add(): this {
    return this.op(0x92);
  }
  f32Sub(): this {
    return this.op(0x93);
  }
  f32Mul(): this {
    return this.op(0x94);
  }
  f32Div(): this {
    return this.op(0x95);
  }
  f32Sqrt(): this {
    return this.op(0x91);
  }
  f32Max(): this {
    return this.op(0x97);
  }
  f32Gt(): this {
    return this.op(0x5e);
  }
  drop(): this {
    return this.op(0x1a);
  }
  select(): this {
    return this.op(0x1b);
  }

  // v128 / f32x4.
  v128Load(offset = 0): this {
    return this.simd(0x00).memarg(ALIGN.v128, offset);
  }
  v128Store(offset = 0): this {
    return this.simd(0x0b).memarg(ALIGN.v128, offset);
  }
  v128Load32Splat(offset = 0): this {
    return this.simd(0x09).memarg(ALIGN.f32, offset);
  }
  v128Const0(): this {
    this.simd(0x0c);
    for (let i = 0; i < 16; i++) this.code.push(0);
    return this;
  }
  f32x4Splat(): this {
    return this.simd(0x13);
  }
  f32x4ExtractLane(lane: number): this {
    this.simd(0x1f);
    this.code.push(lane);
    return this;
  }
  /** i8x16.shuffle with lane indices given per 32-bit lane (each expands to its 4 bytes). */
  shuffle32(lanes: readonly [number, number, number, number]): this {
    this.simd(0x0d);
    for (const lane of lanes) for (let b = 0; b < 4; b++) this.code.push(lane * 4 + b);
    return this;
  }
  i32x4Splat(): this {
    return this.simd(0x11);
  }
  i32x4ExtractLane(lane: number): this {
    this.simd(0x1b);
    this.code.push(lane);
    return this;
  }
  i32x4LtS(): this {
    return this.simd(0x39);
  }
  v128Or(): this {
    return this.simd(0x50);
  }
  f32x4Eq(): this {
    return this.simd(0x41);
  }
  f32x4Gt(): this {
    return this.simd(0x44);
  }
  v128Bitselect(): this {
    return this.simd(0x52);
  }
  f32x4Sqrt(): this {
    return this.simd(0xe3);
  }
  f32x4Add(): this {
    return this.simd(0xe4);
  }
  f32x4Sub(): this {
    return this.simd(0xe5);
  }
  f32x4Mul(): this {
    return this.simd(0xe6);
  }
  f32x4Div(): this {
    return this.simd(0xe7);
  }
  f32x4Max(): this {
    return this.simd(0xe9);
  }
  /**
   * Relaxed SIMD (WebAssembly 3.0; Node ≥ 22, or Node 20 with --experimental-wasm-relaxed-simd): pops a, b, c and
   * pushes a·b + c, rounded once where the hardware fuses it (x86 FMA3, Arm NEON), else twice. Sub-opcode 0x105.
   */
  f32x4RelaxedMadd(): this {
    return this.simd(0x105);
  }

  // f64x2: float64 sums over long float32 vectors (simd/long-vectors.ts).
  /** f64x2.promote_low_f32x4: lanes 0 and 1 of an f32x4 as two float64 (exact). */
  f64x2PromoteLowF32x4(): this {
    return this.simd(0x5f);
  }
  /** f32x4.demote_f64x2_zero: two float64 rounded to float32 (nearest, ties to even) in lanes 0 and 1, zeros after. */
  f32x4DemoteF64x2Zero(): this {
    return this.simd(0x5e);
  }
  /** v128.load64_splat: one 8-byte value (a float64) in both halves. */
  v128Load64Splat(offset = 0): this {
    return this.simd(0x0a).memarg(3, offset);
  }
  f64x2Add(): this {
    return this.simd(0xf0);
  }
  f64x2Mul(): this {
    return this.simd(0xf2);
  }
}
