/**
 * The byte-level encodings of the WebAssembly binary format (core specification 2.0, §5) that the assembler and the
 * module writer share: value types, LEB128 integers and names.
 */

export type ValueType = 'i32' | 'f32' | 'v128';

export const VALUE_TYPE_CODE: Record<ValueType, number> = { i32: 0x7f, f32: 0x7d, v128: 0x7b };

export function unsignedLeb(value: number, out: number[]): void {
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
}

export function signedLeb(value: number, out: number[]): void {
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return;
  }
}

export function nameBytes(name: string, out: number[]): void {
  const bytes = new TextEncoder().encode(name);
  unsignedLeb(bytes.length, out);
  out.push(...bytes);
}
