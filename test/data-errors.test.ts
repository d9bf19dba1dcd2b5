/**
 * Mistakes in a user's data, through the public API: each is a UsageError (exit code 2) whose message names the
 * file or the config field, what is wrong there, and what to do.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText, prepareData, readCsv, type UsageError } from '../src/index.js';
import { tempDir, writeFile } from './helpers.js';
import { rejectedUsageError } from './helpers/expect.js';

/** The text a user sees for `promise`'s UsageError; it must carry exit code 2. */
async function shown(promise: Promise<unknown>): Promise<string> {
  const error: UsageError = await rejectedUsageError(promise);
  expect(error.exitCode).toBe(2);
  return error.format();
}

/** Reads `csv` as d.csv. */
function readText(csv: string): Promise<unknown> {
  const dir = tempDir();
  return readCsv(writeFile(dir, 'd.csv', csv), 'd.csv');
}

/** Prepares the data of a config (YAML text) whose `data.csv` is d.csv holding `csv`. */
function prepare(csv: string, config: string): Promise<unknown> {
  const dir = tempDir();
  writeFile(dir, 'd.csv', csv);
  const loaded = parseConfigText(config, { file: path.join(dir, 'exp.yaml') });
  return prepareData(loaded.config, dir);
}

const lines = (count: number, row: (i: number) => string): string =>
  Array.from({ length: count }, (_, i) => row(i)).join('\n');

describe('CSV header and rows', () => {
  it('a duplicate column name: its line, both columns, rename one', async () => {
    expect(await shown(readText('a,b,a\n1,2,3\n'))).toBe(
      'd.csv:1: column name "a" appears twice (columns 1 and 3); rename one of them.',
    );
  });

  it('an empty column name, in the middle or after a trailing comma', async () => {
    expect(await shown(readText('a,,b\n1,2,3\n'))).toBe(
      'd.csv:1: column 2 has an empty name; every column needs a header.',
    );
    expect(await shown(readText('a,b,\n1,2,3\n'))).toBe(
      'd.csv:1: column 3 has an empty name; every column needs a header.',
    );
  });

  it('a header without rows, and an empty file', async () => {
    expect(await shown(readText('a,b\n'))).toBe(
      'd.csv: has a header but no data rows; add one row per example below the header.',
    );
    expect(await shown(readText('a,b\r\n\r\n'))).toBe(
      'd.csv: has a header but no data rows; add one row per example below the header.',
    );
    expect(await shown(readText(''))).toBe('d.csv: the file is empty; expected a header row with column names.');
  });

  it('a header problem met while training names the file', async () => {
    expect(
      await shown(prepare('x,y,x\n1,2,3\n', 'data: { csv: d.csv }\ntasks: [{ name: y, type: regression }]\n')),
    ).toMatch(/d\.csv:1: column name "x" appears twice \(columns 1 and 3\); rename one of them\.$/);
  });
});

describe('task targets', () => {
  const binary = 'data: { csv: d.csv }\ntasks: [{ name: y, type: binary }]\n';

  it('a binary target with three labels: use multiclass', async () => {
    expect(await shown(prepare(`x,y\n${lines(9, (i) => `${i},${'abc'[i % 3]}`)}\n`, binary))).toBe(
      'tasks[y]: a binary task needs exactly 2 distinct labels in column "y", found 3 (a, b, c). Use type ' +
        'multiclass for more.',
    );
  });

  it('a binary target with one label (the other only where the target is empty): both labels must occur', async () => {
    const csv = `x,y\n${lines(8, (i) => `${i},a`)}\n9,\n`;
    expect(await shown(prepare(csv, binary.replace('csv: d.csv', 'csv: d.csv, missing: drop')))).toBe(
      'tasks[y]: a binary task needs exactly 2 distinct labels in column "y", found 1 (a). Both labels must occur ' +
        'in the rows used (rows with a missing target are left out).',
    );
  });

  it('multilabel values other than 0 and 1: the column, the line and the value', async () => {
    const config = 'data: { csv: d.csv }\ntasks: [{ name: tags, type: multilabel, targets: [t1, t2] }]\n';
    expect(await shown(prepare(`x,t1,t2\n${lines(9, (i) => `${i},${i % 2},${i % 3}`)}\n`, config))).toBe(
      'tasks[tags]: multilabel target column "t2" must hold 0 or 1; line 4 has "2".',
    );
    expect(await shown(prepare(`x,t1,t2\n${lines(9, (i) => `${i},${i % 2},yes`)}\n`, config))).toBe(
      'tasks[tags]: multilabel target column "t2" must hold 0 or 1; line 2 has "yes".',
    );
  });

  it('a regression target holding text', async () => {
    const config = 'data: { csv: d.csv }\ntasks: [{ name: price, type: regression }]\n';
    expect(
      await shown(prepare(`x,price\n${lines(9, (i) => `${i},${i % 2 === 0 ? 'cheap' : '12.5'}`)}\n`, config)),
    ).toBe(
      'tasks[price]: regression target column "price" must hold finite numbers; line 2 has "cheap" (and 4 more ' +
        'cells that are not numbers). Fix them, or use type multiclass if the column holds classes.',
    );
  });
});

describe('splits', () => {
  const byColumn = 'data: { csv: d.csv, split: { column: part } }\ntasks: [{ name: y, type: regression }]\n';

  it('a split-column value other than train, val or test: the file, the line and the value', async () => {
    const message = await shown(
      prepare(`x,y,part\n${lines(9, (i) => `${i},${i},${['train', 'valid', 'test'][i % 3]}`)}\n`, byColumn),
    );
    expect(message).toMatch(/d\.csv: line 3: split column "part" holds "valid"; expected train, val or test\.$/);
  });

  it('a split column without training rows: mark them', async () => {
    const message = await shown(
      prepare(`x,y,part\n${lines(9, (i) => `${i},${i},${i % 2 ? 'val' : 'test'}`)}\n`, byColumn),
    );
    expect(message).toMatch(
      /d\.csv: no usable row has split "train" in column "part"; mark the training rows "train"\.$/,
    );
    // The training rows exist but every one of them lacks its target, so none is usable.
    const dropping = byColumn.replace('csv: d.csv', 'csv: d.csv, missing: drop');
    const dropped = await shown(
      prepare(`x,y,part\n1,,train\n${lines(6, (i) => `${i},${i},${i % 2 ? 'val' : 'test'}`)}\n`, dropping),
    );
    expect(dropped).toMatch(/no usable row has split "train" in column "part"/);
  });

  it('split fractions that leave no training rows: the counts, raise train or add rows', async () => {
    const config =
      'data: { csv: d.csv, split: { train: 0.1, val: 0.45, test: 0.45 } }\ntasks: [{ name: y, type: regression }]\n';
    expect(await shown(prepare('x,y\n1,1\n2,2\n', config))).toBe(
      'data.split: 2 usable rows split 0.1/0.45/0.45 leave none for training (val 1, test 1 rows); raise ' +
        'data.split.train or add rows.',
    );
  });
});
