/**
 * TensorBoard event files (issue #19): the format against known values, and what a run writes, read back with the
 * test's own reader (test/helpers/tfevents-reader.ts: framing, both CRCs, protobuf decoded by hand) and compared with
 * metrics.jsonl and epochs.jsonl.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type * as Protobuf from 'protobufjs/light.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainExperiment } from '../src/api/train.js';
import { parseConfigText } from '../src/config/load.js';
import { readEpochLog, readMetricRows } from '../src/runs/logs.js';
import {
  crc32c,
  decodeEventRecords,
  encodeEvent,
  encodeEventRecords,
  EVENT_PROTO_DEFINITION,
  frameRecord,
  maskedCrc32c,
  type TensorBoardEvent,
} from '../src/runs/tfevents.js';
import { tempDir } from './helpers.js';
import { digitsConfig } from './helpers/configs.js';
import {
  readEventFolder,
  referenceCrc32c,
  referenceMask,
  scalarSeries,
  type ReadEvent,
} from './helpers/tfevents-reader.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const hex = (data: Uint8Array): string => Buffer.from(data).toString('hex');

describe('the event file format', () => {
  it('CRC32C("123456789") is 0xE3069283, from crc-32 and from the bitwise reference', () => {
    expect(crc32c(bytes('123456789'))).toBe(0xe3069283);
    expect(referenceCrc32c(bytes('123456789'))).toBe(0xe3069283);
  });

  it('the masked CRC is the CRC rotated right by 15 bits plus 0xa282ead8 (mod 2^32)', () => {
    // 0xE3069283 rotated right by 15: 0x2507C60D; + 0xA282EAD8 = 0xC78AB0E5.
    expect(maskedCrc32c(bytes('123456789'))).toBe(0xc78ab0e5);
    for (const text of ['', 'a', 'brain.Event:2', 'x'.repeat(1000)])
      expect(maskedCrc32c(bytes(text))).toBe(referenceMask(referenceCrc32c(bytes(text))));
  });

  it('frames a record: uint64 length (LE), masked CRC of the length, data, masked CRC of the data', () => {
    const record = frameRecord(bytes('abc'));
    expect(record.length).toBe(8 + 4 + 3 + 4);
    expect(hex(record.subarray(0, 8))).toBe('0300000000000000');
    const view = new DataView(record.buffer);
    expect(view.getUint32(8, true)).toBe(referenceMask(referenceCrc32c(record.subarray(0, 8))));
    expect(hex(record.subarray(12, 15))).toBe(hex(bytes('abc')));
    expect(view.getUint32(15, true)).toBe(referenceMask(referenceCrc32c(bytes('abc'))));
  });

  it('encodes Event { wall_time 1, step 2, file_version 3 | summary 5 { value { tag 1, simple_value 2 } } }', () => {
    // 09 + double 1.5 (LE) · 10 03 (step 3) · 2a 0a (summary, 10 bytes): 0a 08 (value, 8 bytes): 0a 01 'a' ·
    // 15 + float 0.5 (LE).
    expect(hex(encodeEvent({ wallTime: 1.5, step: 3, scalars: { a: 0.5 } }))).toBe(
      '09000000000000f83f' + '1003' + '2a0a' + '0a08' + '0a0161' + '150000003f',
    );
    // A value of 0 is written (simple_value is a oneof member: TensorBoard skips a Value without it).
    expect(hex(encodeEvent({ wallTime: 1.5, step: 3, scalars: { a: 0 } }))).toMatch(/0a016115 ?00000000$/);
    expect(hex(encodeEvent({ wallTime: 1.5, step: 0, fileVersion: 'brain.Event:2' }))).toBe(
      `09000000000000f83f1a0d${hex(bytes('brain.Event:2'))}`,
    );
  });

  it('encodes the bytes protobufjs encodes from the same definition, for every kind of value', () => {
    const protobuf: typeof Protobuf = createRequire(import.meta.url)('protobufjs/light.js');
    const type = protobuf.Root.fromJSON(EVENT_PROTO_DEFINITION).lookupType('Event');
    const reference = (event: TensorBoardEvent): string => {
      const what =
        'fileVersion' in event
          ? { fileVersion: event.fileVersion }
          : { summary: { value: Object.entries(event.scalars).map(([tag, simpleValue]) => ({ tag, simpleValue })) } };
      return hex(type.encode(type.fromObject({ wallTime: event.wallTime, step: event.step, ...what })).finish());
    };
    const events: TensorBoardEvent[] = [
      { wallTime: 0, step: 0, fileVersion: 'brain.Event:2' },
      { wallTime: 1733500000.123456, step: 0, scalars: {} },
      { wallTime: -2.5, step: 1, scalars: { '': 1 } },
      // Steps across varint byte boundaries, up to 2^53 − 1.
      ...[127, 128, 16383, 16384, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 5, 2 ** 53 - 1].map((step) => ({
        wallTime: 1.5,
        step,
        scalars: { loss: 0.25 },
      })),
      {
        wallTime: 1e9,
        step: 12,
        scalars: {
          'mean/loss': 0,
          'left/accuracy': -0,
          'väl/∂loss ✓': 3.4028234663852886e38,
          tiny: 1e-45,
          big: 1e39,
          nan: Number.NaN,
          inf: Number.POSITIVE_INFINITY,
          third: 1 / 3,
          [`long/${'x'.repeat(300)}`]: 7,
        },
      },
    ];
    for (const event of events) expect(hex(encodeEvent(event)), JSON.stringify(event)).toBe(reference(event));
  });

  it('reads its records back, up to a damaged or cut-short one', () => {
    const events: TensorBoardEvent[] = [
      { wallTime: 10.25, step: 0, fileVersion: 'brain.Event:2' },
      { wallTime: 11.5, step: 1, scalars: { 'a/loss': 0.5, 'cosine/a|b': -0.25 } },
      { wallTime: 12.75, step: 2, scalars: { 'a/loss': 0.125 } },
    ];
    const file = encodeEventRecords(events);
    expect(decodeEventRecords(file)).toEqual(events);
    expect(decodeEventRecords(file.subarray(0, file.length - 1))).toEqual(events.slice(0, 2));
    const damaged = file.slice();
    damaged[damaged.length - 6] = (damaged[damaged.length - 6] ?? 0) ^ 1; // a bit of the last record's data
    expect(decodeEventRecords(damaged)).toEqual(events.slice(0, 2));
  });
});

/** metrics rows as the events' scalars should hold them: `tag → [step, value][]`, values rounded to float32. */
function expectedSeries(
  rows: readonly { epoch: number; metrics: Record<string, number> }[],
): Record<string, [number, number][]> {
  const out: Record<string, [number, number][]> = {};
  for (const row of rows) {
    for (const [tag, value] of Object.entries(row.metrics)) {
      const series = out[tag] ?? [];
      series.push([row.epoch, Math.fround(value)]);
      out[tag] = series;
    }
  }
  return out;
}

function pick(series: Record<string, [number, number][]>, prefix: string): Record<string, [number, number][]> {
  return Object.fromEntries(Object.entries(series).filter(([tag]) => tag.startsWith(prefix)));
}

const CONFIG = `${digitsConfig({
  name: 'tensorboard',
  seed: 3,
  samples: 300,
  trunk: ['{ type: dense, units: 8, activation: relu }'],
  training: { batch_size: 32, epochs: 3, lr: 0.01 },
})}strategy: { name: pcgrad }\n`;

describe('a run writes TensorBoard event files', () => {
  let dir = '';
  const folders: Record<string, { name: string; events: ReadEvent[] }> = {};

  beforeAll(async () => {
    const summary = await trainExperiment(parseConfigText(CONFIG), { runsDir: tempDir('mtl-tb-') });
    expect(summary.status).toBe('completed');
    dir = summary.dir;
    for (const split of ['train', 'val', 'test'])
      folders[split] = readEventFolder(path.join(dir, 'tensorboard', split));
  });

  it('one folder per split, each with events.out.tfevents.<unix seconds>.<host>, file_version first', () => {
    expect(readdirSync(path.join(dir, 'tensorboard')).sort()).toEqual(['test', 'train', 'val']);
    const host = os.hostname().replace(/[^A-Za-z0-9._-]/g, '_');
    for (const { name, events } of Object.values(folders)) {
      const first = events[0];
      expect(first).toEqual({ wallTime: first?.wallTime, step: 0, fileVersion: 'brain.Event:2' });
      expect(name).toBe(`events.out.tfevents.${Math.floor(first?.wallTime ?? 0)}.${host}`);
      expect(events.slice(1).every((e) => e.fileVersion === undefined && e.scalars !== undefined)).toBe(true);
      // Wall times: seconds since 1970, in order.
      const times = events.map((e) => e.wallTime);
      expect(times).toEqual([...times].sort((a, b) => a - b));
      expect(Math.abs((first?.wallTime ?? 0) - Date.now() / 1000)).toBeLessThan(600);
    }
  });

  it('train: the losses of metrics.jsonl, and learning rate, task weights and gradient cosines of epochs.jsonl', () => {
    const rows = readMetricRows(dir);
    const epochs = readEpochLog(dir);
    const series = scalarSeries(folders.train?.events ?? []);
    expect(folders.train?.events.slice(1).map((e) => e.step)).toEqual([1, 2, 3]);
    expect(pick(series, 'left/')).toEqual(pick(expectedSeries(rows.filter((r) => r.split === 'train')), 'left/'));
    const trainRows = rows.filter((r) => r.split === 'train');
    const facts = epochs.map((e) => ({
      epoch: e.epoch,
      metrics: {
        learning_rate: e.learningRate,
        ...Object.fromEntries(Object.entries(e.taskWeights).map(([task, w]) => [`weights/${task}`, w])),
        ...Object.fromEntries(Object.entries(e.gradientCosines ?? {}).map(([pair, c]) => [`cosine/${pair}`, c])),
      },
    }));
    expect(Object.keys(series).sort()).toEqual([
      'cosine/left|right',
      'learning_rate',
      'left/loss',
      'mean/loss',
      'right/loss',
      'weights/left',
      'weights/right',
    ]);
    expect(series).toEqual({ ...expectedSeries(trainRows), ...expectedSeries(facts) });
    // pcgrad's cosines are real measurements, not a constant.
    expect(new Set(series['cosine/left|right']?.map(([, c]) => c)).size).toBe(3);
  });

  it('val: every validation metric per epoch; test: the final test metrics at the best epoch', () => {
    const rows = readMetricRows(dir);
    const val = rows.filter((r) => r.split === 'val');
    expect(scalarSeries(folders.val?.events ?? [])).toEqual(expectedSeries(val));
    expect(Object.keys(val[0]?.metrics ?? {})).toContain('left/accuracy');
    const test = rows.filter((r) => r.split === 'test');
    expect(test).toHaveLength(1);
    expect(scalarSeries(folders.test?.events ?? [])).toEqual(expectedSeries(test));
  });

  it('a few hundred bytes per epoch', () => {
    const bytes = (split: string): number =>
      statSync(path.join(dir, 'tensorboard', split, folders[split]?.name ?? '')).size;
    // 3 epochs; the train file holds 7 scalars an epoch, the val file 9.
    const perEpoch = (bytes('train') + bytes('val')) / 3;
    expect(perEpoch).toBeGreaterThan(100);
    expect(perEpoch).toBeLessThan(600);
  });

  it('logging.tensorboard: false writes none', async () => {
    const summary = await trainExperiment(
      parseConfigText(`${CONFIG.replace('epochs: 3', 'epochs: 1')}logging: { tensorboard: false }\n`),
      { runsDir: tempDir('mtl-tb-') },
    );
    expect(summary.status).toBe('completed');
    expect(existsSync(path.join(summary.dir, 'tensorboard'))).toBe(false);
    expect(existsSync(path.join(summary.dir, 'metrics.jsonl'))).toBe(true);
  });
});
