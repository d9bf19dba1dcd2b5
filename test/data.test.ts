import { describe, expect, it } from 'vitest';
import { readCsv } from '../src/data/csv.js';
import { prepareData } from '../src/data/prepare.js';
import { parseConfigText } from '../src/config/load.js';
import { UsageError } from '../src/errors.js';
import { tempDir, writeFile } from './helpers.js';

async function message(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as UsageError).format();
  }
  throw new Error('expected a UsageError');
}

describe('CSV reading', () => {
  it('types columns, handles quotes and missing cells', async () => {
    const dir = tempDir();
    const file = writeFile(dir, 'd.csv', 'a,b,label\n1,"x, y",yes\n2.5,,no\nNA,z,yes\n');
    const table = await readCsv(file, 'd.csv');
    expect(table.rowCount).toBe(3);
    const [a, b, label] = table.columns;
    expect(a?.kind).toBe('numeric');
    expect(Array.from(a?.values as Float64Array)).toEqual([1, 2.5, NaN]);
    expect(b).toEqual({ kind: 'categorical', name: 'b', values: ['x, y', '', 'z'] });
    expect(label?.kind).toBe('categorical');
  });

  it('names the file and line of a malformed row', async () => {
    const dir = tempDir();
    const file = writeFile(dir, 'bad.csv', 'a,b,c\n1,2,3\n4,5\n');
    expect(await message(readCsv(file, 'bad.csv'))).toBe(
      'bad.csv:3: row has 2 fields but the header has 3 columns (a, b, c). Check for a missing or extra comma, or ' +
        'quote fields that contain commas.',
    );
  });

  it('names a missing column with a suggestion', async () => {
    const dir = tempDir();
    writeFile(dir, 'd.csv', 'x1,x2,target\n1,2,0\n2,3,1\n3,4,0\n4,5,1\n');
    const file = writeFile(
      dir,
      'exp.yaml',
      'data: { csv: d.csv }\ntasks: [{ name: y, type: binary, target: targte }]\n',
    );
    const loaded = parseConfigText('data: { csv: d.csv }\ntasks: [{ name: y, type: binary, target: targte }]\n', {
      file,
    });
    expect(await message(prepareData(loaded.config, dir))).toMatch(
      new RegExp(
        String.raw`^tasks\[y\]\.targets\[0\]: column "targte" is not in .*d\.csv; did you mean ` +
          String.raw`"target"\?\n {2}- columns there: x1, x2, target$`,
      ),
    );
  });

  it('reports missing values with their line under the error policy, and drops or imputes otherwise', async () => {
    const dir = tempDir();
    const csv = 'x1,x2,y\n1,2,0\n,3,1\n3,4,0\n4,,1\n5,6,0\n6,7,1\n7,8,0\n8,9,1\n9,1,0\n';
    writeFile(dir, 'd.csv', csv);
    const file = `${dir}/exp.yaml`;
    const make = (missing: string) =>
      parseConfigText(
        `data: { csv: d.csv, missing: ${missing}, split: {train: 0.8, val: 0, test: 0.2} }\ntasks: [{ name: y, ` +
          `type: binary }]\n`,
        { file },
      ).config;
    expect(await message(prepareData(make('error'), dir))).toMatch(/line 3, column "x1"\n {2}- line 5, column "x2"/);
    const dropped = await prepareData(make('drop'), dir);
    expect(dropped.splits.train.rows + dropped.splits.test.rows).toBe(7);
    const imputed = await prepareData(make('impute'), dir);
    expect(imputed.splits.train.rows + imputed.splits.test.rows).toBe(9);
  });

  it('splits the same way for the same seed, fits normalisation on train only, one-hot encodes text', async () => {
    const dir = tempDir();
    const rows = Array.from({ length: 40 }, (_, i) => `${i},${['red', 'green', 'blue'][i % 3]},${i % 2}`);
    writeFile(dir, 'd.csv', `x,colour,y\n${rows.join('\n')}\n`);
    const text = 'seed: 3\ndata: { csv: d.csv }\ntasks: [{ name: y, type: binary }]\n';
    const a = await prepareData(parseConfigText(text, { file: `${dir}/e.yaml` }).config, dir);
    const b = await prepareData(parseConfigText(text, { file: `${dir}/e.yaml` }).config, dir);
    const c = await prepareData(
      parseConfigText(text.replace('seed: 3', 'seed: 4'), { file: `${dir}/e.yaml` }).config,
      dir,
    );
    expect(Array.from(a.splits.test.x)).toEqual(Array.from(b.splits.test.x));
    expect(Array.from(a.splits.test.x)).not.toEqual(Array.from(c.splits.test.x));
    expect(a.preprocessing.inputSize).toBe(4); // x + 3 colours
    expect([a.splits.train.rows, a.splits.val.rows, a.splits.test.rows]).toEqual([28, 6, 6]);
    // standardised with train statistics: the train column has mean 0 and std 1
    const xs = Array.from({ length: a.splits.train.rows }, (_, i) => a.splits.train.x[i * 4]!);
    const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
    const std = Math.sqrt(xs.reduce((s, v) => s + (v - mean) ** 2, 0) / xs.length);
    expect(mean).toBeCloseTo(0, 5);
    expect(std).toBeCloseTo(1, 5);
  });
});

describe('built-in dataset features', () => {
  it("never takes another task's target as an input when a config keeps one task", async () => {
    const text = 'data: { dataset: penguins }\ntasks: [{ name: species, type: multiclass }]\n';
    const prepared = await prepareData(parseConfigText(text).config, process.cwd());
    const columns = prepared.preprocessing.features.map((f) => f.column);
    expect(columns).not.toContain('body_mass_g');
    expect(columns).not.toContain('species');
  });
});
