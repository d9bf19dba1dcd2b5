/**
 * A TensorBoard event file reader written for the tests, independent of src/runs/tfevents.ts (which uses protobufjs
 * and crc-32): the TFRecord framing with both masked CRC32Cs checked by a bitwise CRC32C, and the `Event` / `Summary`
 * / `Value` messages decoded from the protobuf wire format by hand. It throws on anything it does not expect.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Bitwise CRC32C (Castagnoli, reflected polynomial 0x82f63b78): slow and obviously right. */
export function referenceCrc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** TFRecord's mask, in BigInt arithmetic (no 32-bit shortcuts shared with the code under test). */
export function referenceMask(crc: number): number {
  const c = BigInt(crc);
  const rotated = ((c >> 15n) | (c << 17n)) & 0xffffffffn;
  return Number((rotated + 0xa282ead8n) & 0xffffffffn);
}

export interface ReadEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  /** tag → simple_value, for summary events. */
  scalars?: Record<string, number>;
}

/** The events of one file; throws on a bad length CRC, a bad data CRC, trailing bytes or an unknown field. */
export function readEventFile(file: string): ReadEvent[] {
  const bytes = readFileSync(file);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const events: ReadEvent[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (offset + 12 > bytes.length) throw new Error(`${file}: a record header cut short at byte ${offset}`);
    const length = Number(view.getBigUint64(offset, true));
    const lengthCrc = view.getUint32(offset + 8, true);
    if (lengthCrc !== referenceMask(referenceCrc32c(bytes.subarray(offset, offset + 8))))
      throw new Error(`${file}: bad length CRC at byte ${offset}`);
    const data = bytes.subarray(offset + 12, offset + 12 + length);
    if (data.length !== length || offset + 16 + length > bytes.length)
      throw new Error(`${file}: a record cut short at byte ${offset}`);
    if (view.getUint32(offset + 12 + length, true) !== referenceMask(referenceCrc32c(data)))
      throw new Error(`${file}: bad data CRC at byte ${offset}`);
    events.push(decodeEvent(data));
    offset += 16 + length;
  }
  return events;
}

/** The one event file in `folder` (TensorBoard's name for it checked), read. */
export function readEventFolder(folder: string): { name: string; events: ReadEvent[] } {
  const names = readdirSync(folder);
  if (names.length !== 1) throw new Error(`${folder}: expected one event file, found ${names.join(', ')}`);
  const name = names[0] ?? '';
  return { name, events: readEventFile(path.join(folder, name)) };
}

/** The scalars of a folder's events as `tag → [step, value][]`, in file order. */
export function scalarSeries(events: readonly ReadEvent[]): Record<string, [number, number][]> {
  const out: Record<string, [number, number][]> = {};
  for (const event of events) {
    for (const [tag, value] of Object.entries(event.scalars ?? {})) {
      const series = out[tag] ?? [];
      series.push([event.step, value]);
      out[tag] = series;
    }
  }
  return out;
}

interface Field {
  number: number;
  wireType: number;
  /** varint, fixed64 or fixed32 as raw bytes, or the length-delimited payload. */
  bytes: Uint8Array;
  varint?: bigint;
}

function fields(data: Uint8Array): Field[] {
  const out: Field[] = [];
  let offset = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = data[offset++];
      if (byte === undefined) throw new Error('varint cut short');
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (offset < data.length) {
    const key = Number(varint());
    const number = key >> 3;
    const wireType = key & 7;
    if (wireType === 0) {
      const start = offset;
      const value = varint();
      out.push({ number, wireType, bytes: data.subarray(start, offset), varint: value });
    } else if (wireType === 1 || wireType === 5) {
      const size = wireType === 1 ? 8 : 4;
      out.push({ number, wireType, bytes: data.subarray(offset, offset + size) });
      offset += size;
    } else if (wireType === 2) {
      const size = Number(varint());
      out.push({ number, wireType, bytes: data.subarray(offset, offset + size) });
      offset += size;
    } else throw new Error(`unexpected wire type ${wireType}`);
  }
  if (offset !== data.length) throw new Error('message cut short');
  return out;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function decodeEvent(data: Uint8Array): ReadEvent {
  const event: ReadEvent = { wallTime: Number.NaN, step: 0 };
  for (const field of fields(data)) {
    if (field.number === 1 && field.wireType === 1) event.wallTime = view(field.bytes).getFloat64(0, true);
    else if (field.number === 2 && field.wireType === 0) event.step = Number(field.varint);
    else if (field.number === 3 && field.wireType === 2) event.fileVersion = new TextDecoder().decode(field.bytes);
    else if (field.number === 5 && field.wireType === 2) event.scalars = decodeSummary(field.bytes);
    else throw new Error(`Event: unexpected field ${field.number} (wire type ${field.wireType})`);
  }
  return event;
}

function decodeSummary(data: Uint8Array): Record<string, number> {
  const scalars: Record<string, number> = {};
  for (const field of fields(data)) {
    if (field.number !== 1 || field.wireType !== 2) throw new Error(`Summary: unexpected field ${field.number}`);
    let tag: string | undefined;
    let value: number | undefined;
    for (const inner of fields(field.bytes)) {
      if (inner.number === 1 && inner.wireType === 2) tag = new TextDecoder().decode(inner.bytes);
      else if (inner.number === 2 && inner.wireType === 5) value = view(inner.bytes).getFloat32(0, true);
      else throw new Error(`Value: unexpected field ${inner.number} (wire type ${inner.wireType})`);
    }
    if (tag === undefined || value === undefined) throw new Error('Value: no tag or no simple_value');
    if (tag in scalars) throw new Error(`Summary: tag ${tag} twice`);
    scalars[tag] = value;
  }
  return scalars;
}
