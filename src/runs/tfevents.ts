/**
 * TensorBoard's event file format, written without TensorFlow's native summary writer (which needs the optional
 * native backend). An event file is a sequence of TFRecords, each
 *
 *   uint64 length (little-endian) · uint32 masked CRC32C of those 8 bytes · data · uint32 masked CRC32C of data
 *
 * with mask(crc) = ((crc >>> 15) | (crc << 17)) + 0xa282ead8 (mod 2³²), as tensorflow/core/lib/hash/crc32c.h defines
 * it. Each record's data is an `Event` protocol buffer (tensorboard/compat/proto/event.proto, summary.proto), of
 * which a scalar log needs three messages:
 *
 *   Event   { double wall_time = 1; int64 step = 2; oneof what { string file_version = 3; Summary summary = 5; } }
 *   Summary { repeated Value value = 1; }
 *   Value   { string tag = 1; oneof value { float simple_value = 2; … } }
 *
 * The first record of a file is the `file_version: "brain.Event:2"` event. Events are encoded here (encodeEvent) and
 * decoded with protobufjs (reflection from the definition below); the CRC is crc-32's CRC32C.
 */
import { createRequire } from 'node:module';
import CRC32C from 'crc-32/crc32c.js';
import type * as Protobuf from 'protobufjs/light.js';

/** What the first event of every file says (TensorBoard reads files of version 2). */
export const EVENT_FILE_VERSION = 'brain.Event:2';

/** The three messages (see above), as protobufjs reads a definition; decoding uses it, and the tests encode with it. */
export const EVENT_PROTO_DEFINITION: Protobuf.INamespace = {
  nested: {
    Event: {
      oneofs: { what: { oneof: ['fileVersion', 'summary'] } },
      fields: {
        wallTime: { type: 'double', id: 1 },
        step: { type: 'int64', id: 2 },
        fileVersion: { type: 'string', id: 3 },
        summary: { type: 'Summary', id: 5 },
      },
    },
    Summary: { fields: { value: { rule: 'repeated', type: 'Value', id: 1 } } },
    // In summary.proto simple_value is a member of the oneof `value` (with the image, histogram, … kinds), so it has
    // presence: written even when 0. TensorBoard reads a Value with no member set as no scalar at all.
    Value: {
      oneofs: { value: { oneof: ['simpleValue'] } },
      fields: { tag: { type: 'string', id: 1 }, simpleValue: { type: 'float', id: 2 } },
    },
  },
};

let eventType: Protobuf.Type | undefined;

/**
 * The `Event` message type, built on first use: protobufjs is loaded then (a synchronous require of the CommonJS
 * package), so commands that write no event file, and the CLI's start, do not pay its ~20–40 ms of loading.
 */
function eventMessage(): Protobuf.Type {
  if (!eventType) {
    const protobuf: typeof Protobuf = createRequire(import.meta.url)('protobufjs/light.js');
    eventType = protobuf.Root.fromJSON(EVENT_PROTO_DEFINITION).lookupType('Event');
  }
  return eventType;
}

/** One event: the file-version marker, or scalars (tag → value) at a step. */
export type TensorBoardEvent =
  | { wallTime: number; step: number; fileVersion: string }
  | { wallTime: number; step: number; scalars: Readonly<Record<string, number>> };

/** CRC32C (Castagnoli) of `data`, as an unsigned 32-bit integer. */
export function crc32c(data: Uint8Array): number {
  return CRC32C.buf(data) >>> 0;
}

/** The CRC as TFRecord stores it: rotated right by 15 bits plus a constant, so a CRC of CRCs stays informative. */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data);
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

/** One TFRecord: the framing around `data`. */
export function frameRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/**
 * The `Event` protocol buffer of one event, written directly (the same bytes protobufjs writes from the definition
 * above, test/tensorboard.test.ts compares them; a few events per epoch through protobufjs's reflection cost ~0.3 ms
 * an epoch, and its first use ~20 ms of loading). Fields in number order; a scalar field at its default (0, "") is
 * left out, as protobufjs leaves it out; oneof members (file_version, summary, simple_value) are always written. The
 * lengths are worked out first and the bytes written once into a buffer of that size: this runs once an epoch, where
 * V8 has not optimised it, so it does as few operations per byte as it can.
 */
export function encodeEvent(event: TensorBoardEvent): Uint8Array {
  const fileVersion = 'fileVersion' in event ? UTF8.encode(event.fileVersion) : undefined;
  const values = 'scalars' in event ? Object.entries(event.scalars).map(([tag, value]) => scalarValue(tag, value)) : [];
  const summaryLength = values.reduce((sum, v) => sum + 1 + varintLength(v.length) + v.length, 0);
  const what = fileVersion ? fileVersion.length : summaryLength;
  const size =
    (event.wallTime !== 0 ? 9 : 0) +
    (event.step !== 0 ? 1 + varintLength(event.step) : 0) +
    1 +
    varintLength(what) +
    what;
  const out = new ProtoWriter(size);
  if (event.wallTime !== 0) out.tag(1, WIRE_FIXED64).double(event.wallTime);
  if (event.step !== 0) out.tag(2, WIRE_VARINT).varint(event.step);
  if (fileVersion) {
    out.tag(3, WIRE_BYTES).varint(fileVersion.length).bytes(fileVersion);
  } else {
    out.tag(5, WIRE_BYTES).varint(summaryLength);
    for (const { tag, value, length } of values) {
      out.tag(1, WIRE_BYTES).varint(length);
      if (tag.length > 0) out.tag(1, WIRE_BYTES).varint(tag.length).bytes(tag);
      out.tag(2, WIRE_FIXED32).float(value);
    }
  }
  return out.finish();
}

/** A `Value { tag, simple_value }` to write, with its encoded length (the tag left out when it is ""). */
function scalarValue(name: string, value: number): { tag: Uint8Array; value: number; length: number } {
  let tag = ENCODED_TAGS.get(name);
  if (!tag) {
    // The same few dozen tags come every epoch; bounded for a process that writes many runs.
    if (ENCODED_TAGS.size >= 4096) ENCODED_TAGS.clear();
    tag = UTF8.encode(name);
    ENCODED_TAGS.set(name, tag);
  }
  return { tag, value, length: (tag.length > 0 ? 1 + varintLength(tag.length) + tag.length : 0) + 1 + 4 };
}

const ENCODED_TAGS = new Map<string, Uint8Array>();

const UTF8 = new TextEncoder();
const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_BYTES = 2;
const WIRE_FIXED32 = 5;

/** Bytes of a non-negative integer as a base-128 varint. */
function varintLength(value: number): number {
  let bytes = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 0x80)) bytes++;
  return bytes;
}

/**
 * The protocol buffer wire format's pieces a scalar event needs (protobuf.dev/programming-guides/encoding), written
 * into a buffer of the message's size, worked out beforehand.
 */
class ProtoWriter {
  private readonly out: Uint8Array;
  private readonly view: DataView;
  private offset = 0;

  constructor(size: number) {
    this.out = new Uint8Array(size);
    this.view = new DataView(this.out.buffer);
  }

  tag(field: number, wireType: number): this {
    return this.varint(field * 8 + wireType);
  }

  /** A non-negative integer up to 2⁵³ as a base-128 varint, low groups first. */
  varint(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`internal: varint of ${value}`);
    let rest = value;
    while (rest >= 0x80) {
      this.out[this.offset++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.out[this.offset++] = rest;
    return this;
  }

  double(value: number): this {
    this.view.setFloat64(this.offset, value, true);
    this.offset += 8;
    return this;
  }

  float(value: number): this {
    this.view.setFloat32(this.offset, value, true);
    this.offset += 4;
    return this;
  }

  bytes(data: Uint8Array): this {
    this.out.set(data, this.offset);
    this.offset += data.length;
    return this;
  }

  finish(): Uint8Array {
    if (this.offset !== this.out.length)
      throw new Error(`internal: an event of ${this.out.length} bytes was written as ${this.offset}`);
    return this.out;
  }
}

/** Events framed as TFRecords, one after another: what an event file holds (or an append to one). */
export function encodeEventRecords(events: readonly TensorBoardEvent[]): Uint8Array {
  const records = events.map((event) => frameRecord(encodeEvent(event)));
  const out = new Uint8Array(records.reduce((sum, record) => sum + record.length, 0));
  let offset = 0;
  for (const record of records) {
    out.set(record, offset);
    offset += record.length;
  }
  return out;
}

/**
 * The events of an event file, up to its first damaged or cut-short record (a run killed mid-append leaves one at
 * the end): the records whose framing and both CRCs check and whose data decode as an `Event`. A resumed run reads
 * its old files only for their wall times; the values come from the run's records.
 */
export function decodeEventRecords(bytes: Uint8Array): TensorBoardEvent[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const events: TensorBoardEvent[] = [];
  let offset = 0;
  while (offset + 12 <= bytes.length) {
    const length = view.getBigUint64(offset, true);
    if (view.getUint32(offset + 8, true) !== maskedCrc32c(bytes.subarray(offset, offset + 8))) break;
    const end = offset + 12 + Number(length);
    if (end + 4 > bytes.length) break;
    const data = bytes.subarray(offset + 12, end);
    if (view.getUint32(end, true) !== maskedCrc32c(data)) break;
    const event = decodeEvent(data);
    if (!event) break;
    events.push(event);
    offset = end + 4;
  }
  return events;
}

function decodeEvent(data: Uint8Array): TensorBoardEvent | undefined {
  let fields: Record<string, unknown>;
  try {
    const message = eventMessage();
    fields = message.toObject(message.decode(data), { longs: Number, defaults: true });
  } catch {
    return undefined;
  }
  const { wallTime, step, fileVersion, summary } = fields;
  if (typeof wallTime !== 'number' || typeof step !== 'number') return undefined;
  if (typeof fileVersion === 'string' && fileVersion !== '') return { wallTime, step, fileVersion };
  const scalars: Record<string, number> = {};
  const values: unknown = isRecord(summary) ? summary.value : [];
  const list: readonly unknown[] = Array.isArray(values) ? values : [];
  for (const value of list) {
    if (isRecord(value) && typeof value.tag === 'string' && typeof value.simpleValue === 'number')
      scalars[value.tag] = value.simpleValue;
  }
  return { wallTime, step, scalars };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object';
}
