/**
 * How CSV columns are typed (#14 point 3) and the messages of bad cells (point 9): a column is numeric when most of
 * its cells are numbers, and the few that are not are errors naming line and column, never a reason to one-hot
 * encode the whole column; text columns are categorical.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText, prepareData, readCsv, sortLabels, type PreparedData } from '../src/index.js';
import { rejectedUsageError } from './helpers/expect.js';
import { tempDir, writeFile } from './helpers.js';

/** 30 rows: x (0…29), weight (numbers, `bad` on line 9 when given), colour (red/green/blue), y (numbers). */
function csvWith(bad?: string): string {
  const rows = Array.from({ length: 30 }, (_, i) => {
    const weight = i === 7 && bad !== undefined ? bad : String(50 + ((i * 7) % 13));
    return `${i},${weight},${['red', 'green', 'blue'][i % 3]},${(i * 0.37) % 5}`;
  });
  return `x,weight,colour,y\n${rows.join('\n')}\n`;
}

function prepare(csv: string, data = ''): Promise<PreparedData> {
  const dir = tempDir();
  writeFile(dir, 'd.csv', csv);
  const text = `data: { csv: d.csv${data} }\ntasks: [{ name: y, type: regression }]\n`;
  return prepareData(parseConfigText(text, { file: path.join(dir, 'exp.yaml') }).config, dir);
}

async function shown(promise: Promise<unknown>): Promise<string> {
  const error = await rejectedUsageError(promise);
  expect(error.exitCode).toBe(2);
  // The file is named relative to the working directory: keep its base name.
  return error.format().replace(/^\S*\/(\w+\.csv)/, '$1');
}

const FIXES =
  '  - fix the cell, or leave it empty (or NA) to mark a missing value, which data.missing then handles\n' +
  '  - or list "weight" in data.categorical to one-hot encode the column as text';

describe('one bad cell in a numeric column', () => {
  it('keeps the column numeric when read', async () => {
    const dir = tempDir();
    const table = await readCsv(writeFile(dir, 'd.csv', csvWith('heavy')), 'd.csv');
    const weight = table.columns[1];
    expect(weight?.kind).toBe('numeric');
    expect(weight?.kind === 'numeric' ? [...(weight.unparsed ?? [])] : []).toEqual([[7, 'heavy']]);
  });

  // Number() reads 0x10, 0b11 and 0o7 as 16, 3 and 7: in a data file such a cell is a typo or a code, not a number.
  it.each(['heavy', 'inf', 'Infinity', '-Infinity', '1e400', '0x10', '0X1F', '0b11', '0o7'])(
    '"%s" is an error naming line and column',
    async (bad) => {
      expect(await shown(prepare(csvWith(bad)))).toBe(
        `d.csv: line 9, column "weight": "${bad}" is not a finite number, but the column's other values are ` +
          `numbers.\n${FIXES}`,
      );
    },
  );

  it('whatever data.missing says: only empty cells and NA-like markers are missing', async () => {
    for (const missing of ['drop', 'impute']) {
      expect(await shown(prepare(csvWith('heavy'), `, missing: ${missing}`))).toMatch(/^d\.csv: line 9, column/);
    }
    const dropped = await prepare(csvWith('NA'), ', missing: drop');
    expect(dropped.report.usable).toBe(29);
  });

  it('lists several bad cells at once', async () => {
    const csv = csvWith('heavy').replace(/\n(1[35]),\d+,/g, '\n$1,light,');
    const message = await shown(prepare(csv, ', missing: impute'));
    expect(message).toBe(
      'd.csv: column "weight" holds numbers, but 3 of its cells are not finite numbers:\n' +
        '  - line 9: "heavy"\n  - line 15: "light"\n  - line 17: "light"\n' +
        FIXES.replace('the cell, or leave it', 'these cells, or leave them'),
    );
  });

  it('a column listed in data.categorical is one-hot encoded: its cells are categories, none is an error', async () => {
    const prepared = await prepare(csvWith('heavy'), ', categorical: [weight]');
    const weight = prepared.preprocessing.features.find((f) => f.column === 'weight');
    expect(weight?.kind).toBe('categorical');
    expect(prepared.report.columns.find((c) => c.name === 'weight')).toMatchObject({
      type: 'numeric',
      use: 'categorical feature',
      declared: true,
    });
  });

  it('a clean column is one input, not one per value (input width 1 + 3 colours + x)', async () => {
    const prepared = await prepare(csvWith());
    expect(prepared.preprocessing.inputSize).toBe(5);
    expect(prepared.report.columns.map((c) => [c.name, c.type, c.use])).toEqual([
      ['x', 'numeric', 'numeric feature'],
      ['weight', 'numeric', 'numeric feature'],
      ['colour', 'text', 'categorical feature'],
      ['y', 'numeric', 'target'],
    ]);
  });

  it('decimal notation is a number however it is written: sign, leading or trailing point, exponent', async () => {
    const forms = ['+5', '-5', '.5', '5.', '1e3', '-1.5E-3', '007'];
    const csv = csvWith().replace(/\n([0-6]),\d+,/g, (_, i: string) => `\n${i},${forms[Number(i)]},`);
    expect(csv).toContain('\n6,007,');
    const dir = tempDir();
    const table = await readCsv(writeFile(dir, 'd.csv', csv), 'd.csv');
    const weight = table.columns[1];
    expect(weight?.kind === 'numeric' ? [...weight.values.slice(0, 7)] : weight).toEqual([
      5, -5, 0.5, 5, 1000, -0.0015, 7,
    ]);
    expect(weight?.kind === 'numeric' ? weight.unparsed : weight).toBeUndefined();
  });

  it('a column of hexadecimal codes is text (categorical), not numbers', async () => {
    const csv = csvWith().replace(/,(red|green|blue),/g, (_, c: string) => `,0x${c.length}0,`);
    expect(csv).toContain(',0x30,');
    const prepared = await prepare(csv);
    expect(prepared.report.columns.find((c) => c.name === 'colour')).toMatchObject({
      type: 'text',
      use: 'categorical feature',
    });
    expect(prepared.preprocessing.features.find((f) => f.column === 'colour')).toMatchObject({
      kind: 'categorical',
      categories: ['0x30', '0x40', '0x50'],
    });
  });

  it('labels sort as numbers only when every one is written in decimal', () => {
    expect(sortLabels(['10', '2', '-1.5', '1e1'])).toEqual(['-1.5', '2', '10', '1e1']);
    expect(sortLabels(['9', '0x10', '10'])).toEqual(['0x10', '10', '9']);
  });

  it('a text column with a few numeric cells stays text', async () => {
    // Every fourth colour is the code 7: 8 numbers among 30 cells.
    const csv = csvWith()
      .split('\n')
      .map((line, i) => (i > 0 && i % 4 === 1 ? line.replace(/,(red|green|blue),/, ',7,') : line))
      .join('\n');
    expect(csv.match(/,7,/g)?.length).toBe(8);
    const prepared = await prepare(csv);
    expect(prepared.report.columns.find((c) => c.name === 'colour')?.type).toBe('text');
  });
});

describe('a regression target that holds text', () => {
  it('quotes a cell that is not a number, with its line, even when the first value is a number', async () => {
    const prices = Array.from({ length: 12 }, (_, i) => `${i},${i % 2 === 0 ? '12.5' : 'cheap'}`);
    const csv = `x,price\n${prices.join('\n')}\n`;
    const dir = tempDir();
    writeFile(dir, 'd.csv', csv);
    const text = 'data: { csv: d.csv }\ntasks: [{ name: price, type: regression }]\n';
    const config = parseConfigText(text, { file: path.join(dir, 'exp.yaml') }).config;
    expect(await shown(prepareData(config, dir))).toBe(
      'tasks[price]: regression target column "price" must hold finite numbers; line 3 has "cheap" (and 5 more ' +
        'cells that are not numbers). Fix them, or use type multiclass if the column holds classes.',
    );
  });

  it('one bad cell in a numeric target: its line and text', async () => {
    const csv = csvWith().replace(/\n7,(\d+),(\w+),[\d.]+\n/, '\n7,$1,$2,n/a\n');
    expect(await shown(prepare(csv))).toBe(
      'tasks[y]: regression target column "y" must hold finite numbers; line 9 has "n/a". Fix it, or use type ' +
        'multiclass if the column holds classes.',
    );
  });
});

describe('ragged rows', () => {
  it('name the header’s column count and every bad line, also far into the file', async () => {
    const rows = Array.from({ length: 300 }, (_, i) => (i === 150 || i === 200 ? `${i},1` : `${i},1,2`));
    const dir = tempDir();
    const file = writeFile(dir, 'r.csv', `a,b,c\n${rows.join('\n')}\n`);
    expect(await shown(readCsv(file, 'r.csv'))).toBe(
      "r.csv: 2 rows do not have the header's 3 columns (a, b, c). Check for a missing or extra comma, or quote " +
        'fields that contain commas.\n  - line 152 has 2 fields\n  - line 202 has 2 fields',
    );
  });

  it('a ragged row right under the header', async () => {
    const dir = tempDir();
    const file = writeFile(dir, 'r.csv', 'a,b,c\n1,2,3,4\n5,6,7\n');
    expect(await shown(readCsv(file, 'r.csv'))).toBe(
      'r.csv:2: row has 4 fields but the header has 3 columns (a, b, c). Check for a missing or extra comma, or ' +
        'quote fields that contain commas.',
    );
  });
});

describe('a category only in the val or test rows', () => {
  it('is encoded as all zeros during training, with a warning naming the column and the value', async () => {
    const part = (i: number): string => (i < 30 ? 'train' : i < 35 ? 'val' : 'test');
    const colour = (i: number): string => (i === 36 ? 'purple' : ['red', 'blue'][i % 2]!);
    const rows = Array.from({ length: 40 }, (_, i) => `${i},${colour(i)},${part(i)},${i % 3}`);
    const dir = tempDir();
    writeFile(dir, 'd.csv', `x,colour,part,y\n${rows.join('\n')}\n`);
    const text = 'data: { csv: d.csv, split: { column: part } }\ntasks: [{ name: y, type: regression }]\n';
    const prepared = await prepareData(parseConfigText(text, { file: path.join(dir, 'exp.yaml') }).config, dir);
    expect(prepared.report.warnings).toContain(
      'column "colour": 1 val/test row holds categories no training row has ("purple"); they are encoded as all zeros',
    );
    // Row 36 is the second test row: x, then the two colours, both 0.
    expect(Array.from(prepared.splits.test.x.slice(3, 6))).toEqual([expect.any(Number), 0, 0]);
  });
});
