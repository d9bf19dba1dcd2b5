/**
 * Tiny data (#14 point 8): the split sizes are stated, a split too small to train on or one a fraction asked for but
 * got no row of is refused, and small val/test splits are warned about (data/split-sizes.ts has the rule).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIN_EVAL_ROWS, MIN_TRAIN_ROWS, parseConfigText, prepareData, type PreparedData } from '../src/index.js';
import { rejectedUsageError } from './helpers/expect.js';
import { tempDir, writeFile } from './helpers.js';

/** `rows` rows of x, y (y a number), plus `part` holding `parts[i % parts.length]` when given. */
function prepare(rows: number, data = '', parts?: string[]): Promise<PreparedData> {
  const dir = tempDir();
  const lines = Array.from(
    { length: rows },
    (_, i) => `${i},${(i * 0.7) % 3}${parts ? `,${parts[i % parts.length]}` : ''}`,
  );
  writeFile(dir, 'd.csv', `x,y${parts ? ',part' : ''}\n${lines.join('\n')}\n`);
  const text = `data: { csv: d.csv${data} }\ntasks: [{ name: y, type: regression }]\n`;
  return prepareData(parseConfigText(text, { file: path.join(dir, 'exp.yaml') }).config, dir);
}

async function shown(promise: Promise<unknown>): Promise<string> {
  const error = await rejectedUsageError(promise);
  expect(error.exitCode).toBe(2);
  return error.format().replace(/^\S*\/(\w+\.csv)/, '$1');
}

describe('refused', () => {
  it('two rows: no val, no test, too few to train on', async () => {
    expect(await shown(prepare(2))).toBe(
      'd.csv: too few rows for this split: 2 usable rows give train 2, val 0, test 0.\n' +
        '  - the val split (data.split.val: 0.15) gets no row: it needs at least 4 usable rows (or set ' +
        'data.split.val: 0 to train without validation)\n' +
        '  - the test split (data.split.test: 0.15) gets no row: it needs at least 4 usable rows\n' +
        `  - the training split has 2 rows; at least ${MIN_TRAIN_ROWS} are needed\n` +
        '  - add rows, or change data.split',
    );
  });

  it('five rows: one test row, three to train on', async () => {
    expect(await shown(prepare(5))).toBe(
      'd.csv: too few rows for this split: 5 usable rows give train 3, val 1, test 1.\n' +
        '  - the training split has 3 rows; at least 5 are needed\n' +
        '  - add rows, or change data.split',
    );
  });

  it('counts the rows dropped for missing values', async () => {
    const dir = tempDir();
    writeFile(dir, 'd.csv', `x,y\n${Array.from({ length: 20 }, (_, i) => `${i < 14 ? '' : i},${i}`).join('\n')}\n`);
    const config = parseConfigText('data: { csv: d.csv, missing: drop }\ntasks: [{ name: y, type: regression }]\n', {
      file: path.join(dir, 'exp.yaml'),
    }).config;
    expect(await shown(prepareData(config, dir))).toMatch(
      new RegExp(
        String.raw`^d\.csv: too few rows for this split: 6 usable rows \(14 of 20 dropped: missing values\) give ` +
          String.raw`train 4, val 1, test 1\.`,
      ),
    );
  });
});

describe('stated and warned', () => {
  it('states the sizes; warns about val and test splits under the minimum', async () => {
    const prepared = await prepare(12);
    expect(prepared.report).toMatchObject({ rows: 12, usable: 12, splits: { train: 8, val: 2, test: 2 } });
    expect(prepared.report.warnings).toEqual([
      `the val split has only 2 rows (fewer than ${MIN_EVAL_ROWS}): its metrics say little; add rows or raise ` +
        'data.split.val',
      `the test split has only 2 rows (fewer than ${MIN_EVAL_ROWS}): its metrics say little; add rows or raise ` +
        'data.split.test',
    ]);
    expect((await prepare(80)).report.warnings).toEqual([]);
  });

  it('an explicit val: 0 trains on the training loss, with a warning', async () => {
    const prepared = await prepare(80, ', split: { train: 0.8, val: 0, test: 0.2 }');
    expect(prepared.report.splits).toEqual({ train: 64, val: 0, test: 16 });
    expect(prepared.report.warnings).toEqual([
      'no validation rows: the best checkpoint and early stopping follow the mean training loss',
    ]);
  });

  it('a split column without test rows: a warning', async () => {
    const prepared = await prepare(40, ', split: { column: part }', ['train', 'train', 'val']);
    expect(prepared.report.warnings).toEqual(['no test rows: the run will report no test metrics']);
  });
});
