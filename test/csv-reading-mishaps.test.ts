/**
 * CSV files as they come from other systems and editors (found in QA): line endings mixed within a file, quoted
 * fields that span lines, a quote never closed, files that are not UTF-8. Each reads correctly or is a UsageError
 * (exit 2) naming the line where the row starts and how to fix the file.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lineOf } from '../src/data/cells.js';
import { firstInvalidUtf8 } from '../src/data/csv-bytes.js';
import { parseConfigText, prepareData, readCsv, type DataTable, type UsageError } from '../src/index.js';
import { mtl } from './helpers/cli.js';
import { rejectedUsageError } from './helpers/expect.js';
import { tempDir, writeFile } from './helpers.js';

/** The text a user sees for `promise`'s UsageError; it must carry exit code 2. */
async function shown(promise: Promise<unknown>): Promise<string> {
  const error: UsageError = await rejectedUsageError(promise);
  expect(error.exitCode).toBe(2);
  return error.format();
}

/** Reads `content` (text, or bytes as they are) as d.csv. */
function read(content: string | Buffer): Promise<DataTable> {
  const file = path.join(tempDir(), 'd.csv');
  writeFileSync(file, content);
  return readCsv(file, 'd.csv');
}

/** Prepares the data of a config (YAML text) whose `data.csv` is d.csv holding `csv`. */
function prepare(csv: string, config: string): Promise<unknown> {
  const dir = tempDir();
  writeFile(dir, 'd.csv', csv);
  const loaded = parseConfigText(config, { file: path.join(dir, 'exp.yaml') });
  return prepareData(loaded.config, dir);
}

const rows = <T>(count: number, row: (i: number) => T): T[] => Array.from({ length: count }, (_, i) => row(i));

/** A column's cells as plain values, NaN included. */
const cellsOf = (table: DataTable, c: number): unknown[] => {
  const values = table.columns[c]?.values;
  return values ? [...values] : [];
};

describe('line endings', () => {
  it('a CRLF header with LF rows (rows appended on Unix to a Windows file): every row, no stray \\r', async () => {
    const table = await read(`age,churned,spend\r\n${rows(40, (i) => `${20 + i},${i % 2},${i}.5`).join('\n')}\n`);
    expect(table.rowCount).toBe(40);
    expect(table.columns.map((c) => c.name)).toEqual(['age', 'churned', 'spend']);
    expect(table.columns.map((c) => c.kind)).toEqual(['numeric', 'numeric', 'numeric']);
    expect(cellsOf(table, 2).slice(0, 3)).toEqual([0.5, 1.5, 2.5]);
    expect(Array.from(table.lines ?? [])).toEqual(rows(40, (i) => i + 2));
  });

  it('CRLF, LF and CR mixed row by row, over many read chunks and split multi-byte characters', async () => {
    const endings = ['\r\n', '\n', '\r'];
    // Rows of different lengths, so that the 64 KiB chunks end at every kind of place: in a CRLF, in a "ü".
    const body = rows(6000, (i) => `${i},Zürich${'ü'.repeat(i % 7)},${i % 3}${endings[i % 3]}`).join('');
    const table = await read(`n,city,k\r\n${body}`);
    expect(table.rowCount).toBe(6000);
    expect(cellsOf(table, 0)).toEqual(rows(6000, (i) => i));
    expect(cellsOf(table, 1)).toEqual(rows(6000, (i) => `Zürich${'ü'.repeat(i % 7)}`));
    expect(lineOf(5999, table)).toBe(6001);
  });

  it('a text cell at the end of a CRLF row keeps no \\r', async () => {
    const table = await read('a,b\r\n1,x\n2,y\r\n3,z\r');
    expect(cellsOf(table, 1)).toEqual(['x', 'y', 'z']);
  });
});

describe('rows after a quoted field that spans lines', () => {
  const csv = 'age,note,churned,spend\n30,"a\nb",0,1.5\n31,c,1,2.5\n32,d,0,3.5\nforty,e,1,4.5\n';

  it('each row knows the line it starts on', async () => {
    const table = await read(csv);
    expect(Array.from(table.lines ?? [])).toEqual([2, 4, 5, 6]);
    expect(cellsOf(table, 1)[0]).toBe('a\nb');
    expect(lineOf(3, table)).toBe(6);
  });

  it('a cell that is not a number names its physical line (6), not its record number (5)', async () => {
    const config = 'data: { csv: d.csv, features: [age, churned] }\ntasks: [{ name: spend, type: regression }]\n';
    expect(await shown(prepare(csv, config))).toMatch(
      /d\.csv: line 6, column "age": "forty" is not a finite number, but the column's other values are numbers\./,
    );
  });

  it('a target that is not a number names its physical line too (regression and multilabel targets)', async () => {
    const words = csv.replace('32,d,0,3.5', '32,d,0,high');
    const regression = 'data: { csv: d.csv, features: [age] }\ntasks: [{ name: spend, type: regression }]\n';
    expect(await shown(prepare(words.replace('forty', '40'), regression))).toMatch(/line 5 has "high"/);
    const multilabel =
      'data: { csv: d.csv, features: [age] }\ntasks: [{ name: c, type: multilabel, targets: [churned] }]\n';
    const two = csv.replace('forty', '40').replace('32,d,0,3.5', '32,d,2,3.5');
    expect(await shown(prepare(two, multilabel))).toMatch(/must hold 0 or 1; line 5 has "2"/);
  });

  it('a ragged row names the line it starts on, also when it spans lines', async () => {
    expect(await shown(read('a,b,c\n1,"x\ny",3\n4,"p\nq"\n7,8,9\n'))).toBe(
      'd.csv:4: row has 2 fields but the header has 3 columns (a, b, c). Check for a missing or extra comma, or ' +
        'quote fields that contain commas.',
    );
  });

  it('empty lines between rows are counted', async () => {
    const table = await read('a,b\n\n1,2\r\n\r\n\n3,4\n');
    expect(Array.from(table.lines ?? [])).toEqual([3, 6]);
  });
});

describe('another separator', () => {
  it('a file separated by semicolons or tabs is named so (it read as one text column)', async () => {
    expect(await shown(read('age;city;y\n1;a;2\n'))).toBe(
      'd.csv:1: the header is one column, "age;city;y", separated by semicolons: mtl reads comma-separated files. ' +
        'Save the file as CSV with commas (or replace the semicolons with commas).',
    );
    expect(await shown(read('age\tcity\ty\n1\ta\t2\n'))).toContain('"age\\tcity\\ty", separated by tabs');
  });
});

describe('quotes', () => {
  it('a quote never closed: the line it opens on, in mtl words, with the fix', async () => {
    const good = (count: number): string[] => rows(count, (i) => `${i},x,1,2.3`);
    const csv = `a,b,c,d\n${[...good(5), 'NN,"oops,1,2.3', ...good(34)].join('\n')}\n`;
    expect(await shown(read(csv))).toBe(
      'd.csv:7: a quote opens in this row and is never closed, so the rest of the file (to line 41) reads as one ' +
        'field. Close the quote, or write a quote inside a quoted field as two ("").',
    );
  });

  it('a quote closed lines later, before more text: the line it opens on and the line it closes on', async () => {
    expect(await shown(read('a,b,c\n1,2,3\n4,"five,6\n7,8,"nine"x\n'))).toBe(
      'd.csv:3: the quoted field 2, opened here and closed on line 4, is followed by more text before the next ' +
        'comma. Quote the whole field, close the quote where the field ends, or write a quote inside a quoted ' +
        'field as two ("").',
    );
  });

  it('a quote inside a field that does not start with one', async () => {
    expect(await shown(read('a,b\n1,2\n3,4 "inch"\n'))).toBe(
      'd.csv:3: field 2 holds a quote but does not start with one. Quote the whole field and write a quote ' +
        'inside a quoted field as two (""), or remove the quote.',
    );
  });
});

describe('encodings', () => {
  it('Latin-1: the line and column of the first byte that is not UTF-8, and to save the file as UTF-8', async () => {
    const latin1 = Buffer.from('age,city\n1,Bern\n2,Zürich\n', 'latin1');
    expect(await shown(read(latin1))).toBe(
      'd.csv:3: is not UTF-8 text: the byte 0xFC at column 4 is not valid UTF-8 (the file is probably Latin-1 or ' +
        'Windows-1252, as older spreadsheets save CSV); save it as UTF-8 (in a spreadsheet: "CSV UTF-8"; or ' +
        'convert it: iconv -f WINDOWS-1252 -t UTF-8 in.csv > out.csv).',
    );
    // In the header, where a garbled name would otherwise pass unnoticed.
    expect(await shown(read(Buffer.from('âge,city\n1,Bern\n', 'latin1')))).toMatch(
      /^d\.csv:1: is not UTF-8 text: the byte 0xE2 at column 1 /,
    );
  });

  it('a byte that is not UTF-8 after the first read chunk, and at the very end', async () => {
    const head = `n,city\n${rows(5000, (i) => `${i},Zürich`).join('\n')}\n`;
    expect(await shown(read(Buffer.concat([Buffer.from(head), Buffer.from('5000,Z\xfcrich\n', 'latin1')])))).toMatch(
      /^d\.csv:5002: is not UTF-8 text: the byte 0xFC at column 7 /,
    );
    expect(await shown(read(Buffer.concat([Buffer.from(head), Buffer.from([0xe2, 0x82])])))).toMatch(
      /^d\.csv:5002: is not UTF-8 text: the byte 0xE2 at column 1 /,
    );
  });

  it('UTF-16 and UTF-32 with a byte order mark: the encoding, and to save as UTF-8', async () => {
    const utf16 = Buffer.from('\ufeffa,b\n1,2\n', 'utf16le');
    expect(await shown(read(utf16))).toBe(
      "d.csv is UTF-16 (little-endian): it starts with that encoding's byte order mark; save it as UTF-8 (in a " +
        'spreadsheet: "CSV UTF-8"; or convert it: iconv -f UTF-16 -t UTF-8 in.csv > out.csv).',
    );
    expect(await shown(read(Buffer.from([0xfe, 0xff, 0, 0x61, 0, 0x0a])))).toMatch(/^d\.csv is UTF-16 \(big-endian\)/);
    expect(await shown(read(Buffer.from([0xff, 0xfe, 0, 0, 0x61, 0, 0, 0])))).toMatch(
      /^d\.csv is UTF-32 \(little-endian\)/,
    );
  });

  it('UTF-8 with a BOM still reads, its first column name without the BOM', async () => {
    const table = await read('\ufeffâge,city\r\n1,Zürich\r\n');
    expect(table.columns.map((c) => c.name)).toEqual(['âge', 'city']);
    expect(cellsOf(table, 1)).toEqual(['Zürich']);
  });

  it('the UTF-8 check: overlong forms, surrogates and code points above U+10FFFF are invalid', () => {
    expect(firstInvalidUtf8(Buffer.from('aé€😀'))).toBe(10);
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xc0, 0x80]))).toBe(1);
    expect(firstInvalidUtf8(Buffer.from([0x61, 0x62, 0xed, 0xa0, 0x80]))).toBe(2);
    expect(firstInvalidUtf8(Buffer.from([0xf4, 0x90, 0x80, 0x80]))).toBe(0);
    expect(firstInvalidUtf8(Buffer.from([0xe0, 0x9f, 0x80]))).toBe(0);
  });
});

describe('mtl validate', () => {
  it('reads a CRLF header with LF rows, and refuses a UTF-16 file with exit 2 and no stack trace', () => {
    const dir = tempDir();
    const csv = `age,churned,spend\r\n${rows(40, (i) => `${20 + i},${i % 2},${(i * 0.37) % 3}`).join('\n')}\n`;
    writeFile(dir, 'x.csv', csv);
    const config = writeFile(dir, 'exp.yaml', 'data: { csv: x.csv }\ntasks: [{ name: churned, type: binary }]\n');
    const ok = mtl(['validate', config]);
    expect(ok.stderr).not.toMatch(/fields but the header/);
    expect(ok.code).toBe(0);
    writeFileSync(path.join(dir, 'x.csv'), Buffer.from([0xff, 0xfe, 0x61, 0, 0x2c, 0, 0x62, 0, 0x0a, 0]));
    const bad = mtl(['validate', config]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/x\.csv is UTF-16 \(little-endian\).*save it as UTF-8/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });
});
