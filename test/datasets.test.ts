import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { builtinDatasets, getBuiltinDataset } from '../src/data/builtin/index.js';
import {
  buildMultiDigits,
  composeDigits,
  loadDigitSource,
  multiDigitsFeatureNames,
  splitDigitPools,
} from '../src/data/builtin/multi-digits.js';
import { ADULT_TOTAL_ROWS, adultRowSelection } from '../src/data/builtin/adult-income.js';
import { loadParkinsonsSource } from '../src/data/builtin/parkinsons-updrs.js';
import type { BuiltinDataset, Column, DataTable } from '../src/data/types.js';
import { datasetPath } from '../src/util/paths.js';
import { parseConfigText } from '../src/config/load.js';
import { splitTable } from '../src/data/prepare.js';

/** What each shipped dataset promises with default options. */
const expected: Record<string, { rows: number; seedDependent: boolean }> = {
  'multi-digits': { rows: 6000, seedDependent: true },
  'adult-income': { rows: 10000, seedDependent: false },
  'parkinsons-updrs': { rows: 5875, seedDependent: true },
  penguins: { rows: 333, seedDependent: false },
  'synthetic-correlated': { rows: 2000, seedDependent: true },
};

function column(table: DataTable, name: string): Column {
  const col = table.columns.find((c) => c.name === name);
  if (col === undefined) throw new Error(`no column ${name} in ${table.source}`);
  return col;
}

function numeric(table: DataTable, name: string): Float64Array {
  const col = column(table, name);
  if (col.kind !== 'numeric') throw new Error(`${name} is not numeric`);
  return col.values;
}

function categorical(table: DataTable, name: string): string[] {
  const col = column(table, name);
  if (col.kind !== 'categorical') throw new Error(`${name} is not categorical`);
  return col.values;
}

/** A comparable snapshot of a table (typed arrays to plain arrays). */
function snapshot(table: DataTable): unknown {
  return {
    rowCount: table.rowCount,
    columns: table.columns.map((c) => ({
      kind: c.kind,
      name: c.name,
      values: Array.from(c.values as ArrayLike<unknown>),
    })),
  };
}

/** `sha256  file` lines of a README's checksum block. */
function readmeChecksums(folder: string): Map<string, string> {
  const text = readFileSync(datasetPath(folder, 'README.md'), 'utf8');
  const sums = new Map<string, string>();
  for (const m of text.matchAll(/^([0-9a-f]{64}) {2}(\S+)$/gm)) sums.set(m[2]!, m[1]!);
  return sums;
}

describe('registry', () => {
  it('lists every dataset that has an expectation, and only those', () => {
    expect([...builtinDatasets.keys()].sort()).toEqual(Object.keys(expected).sort());
  });

  it('getBuiltinDataset finds by name and rejects unknown names with the list of known ones', () => {
    expect(getBuiltinDataset('multi-digits').name).toBe('multi-digits');
    let error: unknown;
    try {
      getBuiltinDataset('mnist');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    const text = (error as UsageError).format();
    for (const name of builtinDatasets.keys()) expect(text).toContain(name);
  });

  it('datasets/README.md lists every dataset', () => {
    const text = readFileSync(datasetPath('README.md'), 'utf8');
    for (const name of builtinDatasets.keys()) expect(text).toContain(`\`${name}\``);
  });
});

describe.each([...builtinDatasets.values()].map((d) => [d.name, d] as [string, BuiltinDataset]))('%s', (name, ds) => {
  const promise = expected[name];

  it('declares its metadata consistently', () => {
    expect(ds.name).toBe(name);
    expect(ds.licence).toMatch(/CC-BY-4\.0|CC0-1\.0|PDDL|Public domain|^generated/i);
    expect(ds.citation.length).toBeGreaterThan(10);
    expect(ds.tasks.length).toBeGreaterThanOrEqual(2);
    expect(ds.optionsSchema['type']).toBe('object');
    expect(ds.optionsSchema['additionalProperties']).toBe(false);
    const taskNames = ds.tasks.map((t) => t.name);
    expect(new Set(taskNames).size).toBe(taskNames.length);
  });

  it('loads with the promised columns and row count', async () => {
    const table = await ds.load({}, 7);
    expect(table.rowCount).toBe(promise?.rows);
    for (const col of table.columns) expect(col.values.length).toBe(table.rowCount);
    const names = table.columns.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const f of ds.features) {
      const kind = ds.categoricalFeatures?.includes(f) ? 'categorical' : 'numeric';
      expect(column(table, f).kind).toBe(kind);
    }
    for (const task of ds.tasks) {
      for (const target of task.targets) {
        const col = column(table, target);
        if (task.type === 'regression') {
          expect(col.kind).toBe('numeric');
          expect((col.values as Float64Array).every((v) => Number.isFinite(v))).toBe(true);
        }
        if (task.type === 'multiclass' || task.type === 'binary') {
          const distinct = new Set(Array.from(col.values as ArrayLike<unknown>));
          expect(distinct.size).toBeGreaterThanOrEqual(2);
          if (task.type === 'binary') expect(distinct.size).toBe(2);
        }
      }
    }
    if (ds.splitColumn !== undefined) {
      const split = categorical(table, ds.splitColumn);
      expect(new Set(split)).toEqual(new Set(['train', 'val', 'test']));
    }
  });

  it('is deterministic for a seed', async () => {
    const a = await ds.load({}, 11);
    const b = await ds.load({}, 11);
    expect(snapshot(a)).toEqual(snapshot(b));
  });

  it(`${promise?.seedDependent === true ? 'changes' : 'does not change'} with the seed`, async () => {
    const a = await ds.load({}, 11);
    const b = await ds.load({}, 12);
    if (promise?.seedDependent === true) expect(snapshot(a)).not.toEqual(snapshot(b));
    else expect(snapshot(a)).toEqual(snapshot(b));
  });

  it('rejects unknown options', async () => {
    await expect(ds.load({ no_such_option: 1 }, 1)).rejects.toBeInstanceOf(UsageError);
  });

  it('ships files whose sha256 matches its README', () => {
    if (ds.folder === undefined) return;
    const sums = readmeChecksums(ds.folder);
    const files = readdirSync(datasetPath(ds.folder)).filter((f) => f !== 'README.md');
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const bytes = readFileSync(datasetPath(ds.folder, file));
      expect(bytes.length).toBeLessThan(2 * 1024 * 1024);
      expect(sums.get(file), `README checksum for ${file}`).toBe(createHash('sha256').update(bytes).digest('hex'));
    }
  });
});

describe('multi-digits specifics', () => {
  const defaults = { samples: 6000, offset: 4, val_fraction: 0.15, test_fraction: 0.2 };

  it('ships the 1,797 source images, 0..16, about 180 per class', async () => {
    const source = await loadDigitSource();
    expect(source.count).toBe(1797);
    expect(Math.max(...source.pixels)).toBe(16);
    const counts = new Array<number>(10).fill(0);
    for (const y of source.labels) counts[y] = counts[y]! + 1;
    expect(counts).toEqual([178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
  });

  it('combines overlapping pixels with max and scales to [0,1] (hand example)', () => {
    const left = new Array<number>(64).fill(0);
    const right = new Array<number>(64).fill(0);
    left[0 * 8 + 5] = 4; // row 0, col 5
    right[0 * 8 + 1] = 12; // row 0, col 1 -> composite col 1 + 4 = 5: overlaps left's pixel
    left[2 * 8 + 6] = 16; // row 2, col 6
    right[2 * 8 + 2] = 8; // row 2, col 2 -> composite col 6: overlaps, left wins
    left[7 * 8 + 0] = 2; // row 7, col 0: left only
    right[7 * 8 + 7] = 10; // row 7, col 7 -> composite col 11: right only
    const img = composeDigits(left, right, 4);
    expect(img.length).toBe(8 * 12);
    const at = (r: number, c: number): number => img[r * 12 + c]!;
    expect(at(0, 5)).toBe(12 / 16);
    expect(at(2, 6)).toBe(1);
    expect(at(7, 0)).toBe(2 / 16);
    expect(at(7, 11)).toBe(10 / 16);
    const nonZero = Array.from(img).filter((v) => v !== 0).length;
    expect(nonZero).toBe(4);
    // offset 0: full overlap, offset 8: no overlap
    expect(composeDigits(left, right, 0).length).toBe(64);
    const apart = composeDigits(left, right, 8);
    expect(apart[0 * 16 + 5]).toBe(4 / 16);
    expect(apart[0 * 16 + 9]).toBe(12 / 16);
  });

  it('names features px_r_c row-major for each offset', () => {
    expect(multiDigitsFeatureNames(4).length).toBe(96);
    expect(multiDigitsFeatureNames(4).slice(0, 2)).toEqual(['px_0_0', 'px_0_1']);
    expect(multiDigitsFeatureNames(4)[12]).toBe('px_1_0');
    expect(multiDigitsFeatureNames(0).length).toBe(64);
    expect(multiDigitsFeatureNames(8).at(-1)).toBe('px_7_15');
  });

  it('puts every source image in exactly one pool, stratified by class', async () => {
    const source = await loadDigitSource();
    const pools = splitDigitPools(source.labels, 3, 0.15, 0.2);
    const all = [...pools.train, ...pools.val, ...pools.test].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 1797 }, (_, i) => i));
    expect(pools.test.length).toBeGreaterThan(340);
    expect(pools.test.length).toBeLessThan(380);
    const testClasses = new Array<number>(10).fill(0);
    for (const i of pools.test) testClasses[source.labels[i]!]! += 1;
    for (const c of testClasses) expect(c).toBeGreaterThanOrEqual(34);
  });

  it('never uses a source image in two splits (no leakage)', async () => {
    const source = await loadDigitSource();
    for (const seed of [0, 1, 42]) {
      const built = buildMultiDigits(source, defaults, seed);
      const split = categorical(built.table, 'split');
      const poolOf = new Map<number, string>();
      for (const name of ['train', 'val', 'test'] as const) for (const i of built.pools[name]) poolOf.set(i, name);
      const usedBy = new Map<number, Set<string>>();
      const problems: string[] = [];
      for (let row = 0; row < split.length; row++) {
        const a = built.leftIndex[row]!;
        const b = built.rightIndex[row]!;
        if (a === b) problems.push(`row ${row}: same image twice`);
        for (const idx of [a, b]) {
          if (poolOf.get(idx) !== split[row]) problems.push(`row ${row}: image ${idx} is not in pool ${split[row]}`);
          const set = usedBy.get(idx) ?? new Set<string>();
          set.add(split[row]!);
          usedBy.set(idx, set);
        }
      }
      for (const [idx, set] of usedBy)
        if (set.size > 1) problems.push(`image ${idx} used in ${[...set].join(' and ')}`);
      expect(problems).toEqual([]);
      expect(usedBy.size).toBeGreaterThan(1500); // most source images are used at least once
    }
  });

  it('rows match their source images and labels', async () => {
    const source = await loadDigitSource();
    const built = buildMultiDigits(source, { ...defaults, samples: 50 }, 5);
    const names = multiDigitsFeatureNames(4);
    const left = numeric(built.table, 'left');
    const right = numeric(built.table, 'right');
    for (let row = 0; row < 50; row++) {
      const a = built.leftIndex[row]!;
      const b = built.rightIndex[row]!;
      expect(left[row]).toBe(source.labels[a]);
      expect(right[row]).toBe(source.labels[b]);
      const img = composeDigits(
        source.pixels.subarray(a * 64, a * 64 + 64),
        source.pixels.subarray(b * 64, b * 64 + 64),
        4,
      );
      names.forEach((n, p) => expect(numeric(built.table, n)[row]).toBe(img[p]));
    }
  });

  it('has split sizes from the fractions and roughly uniform classes', async () => {
    const table = await getBuiltinDataset('multi-digits').load({}, 9);
    const split = categorical(table, 'split');
    expect(split.filter((s) => s === 'train').length).toBe(3900);
    expect(split.filter((s) => s === 'val').length).toBe(900);
    expect(split.filter((s) => s === 'test').length).toBe(1200);
    for (const target of ['left', 'right']) {
      const counts = new Array<number>(10).fill(0);
      const values = numeric(table, target);
      expect(values.every((y) => Number.isInteger(y) && y >= 0 && y <= 9)).toBe(true);
      for (const y of values) counts[y]! += 1;
      for (const c of counts) {
        expect(c).toBeGreaterThan(600 * 0.8);
        expect(c).toBeLessThan(600 * 1.2);
      }
    }
    const outside = multiDigitsFeatureNames(4).filter((n) => !numeric(table, n).every((v) => v >= 0 && v <= 1));
    expect(outside).toEqual([]);
  });

  it('follows its options and rejects bad ones', async () => {
    const ds = getBuiltinDataset('multi-digits');
    const wide = await ds.load({ samples: 100, offset: 8, val_fraction: 0, test_fraction: 0.3 }, 1);
    expect(wide.rowCount).toBe(100);
    expect(wide.columns.filter((c) => c.name.startsWith('px_')).length).toBe(128);
    expect(new Set(categorical(wide, 'split'))).toEqual(new Set(['train', 'test']));
    await expect(ds.load({ offset: 9 }, 1)).rejects.toBeInstanceOf(UsageError);
    await expect(ds.load({ samples: 12.5 }, 1)).rejects.toBeInstanceOf(UsageError);
    await expect(ds.load({ val_fraction: '0.1' }, 1)).rejects.toBeInstanceOf(UsageError);
  });

  it('keeps the same pools when only samples change (pools depend on seed and fractions only)', async () => {
    const source = await loadDigitSource();
    const a = buildMultiDigits(source, defaults, 4);
    const b = buildMultiDigits(source, { ...defaults, samples: 300 }, 4);
    expect(Array.from(a.pools.test)).toEqual(Array.from(b.pools.test));
  });
});

describe('adult-income specifics', () => {
  const ds = getBuiltinDataset('adult-income');

  it('takes the same fixed sample for every seed, in file order', async () => {
    const a = await ds.load({}, 1);
    const b = await ds.load({}, 2);
    expect(snapshot(a)).toEqual(snapshot(b));
    const sel = adultRowSelection(ADULT_TOTAL_ROWS, 10000);
    expect(sel.length).toBe(10000);
    expect(new Set(sel).size).toBe(10000);
    expect(Array.from(sel).every((v, i) => i === 0 || v > sel[i - 1]!)).toBe(true);
  });

  it('reads all 32,561 rows with the known class balance and missing values', async () => {
    const all = await ds.load({ rows: ADULT_TOTAL_ROWS }, 1);
    expect(all.rowCount).toBe(32561);
    const income = numeric(all, 'income');
    const neverMarried = numeric(all, 'never_married');
    expect(income.reduce((s, v) => s + v, 0)).toBe(7841);
    expect(neverMarried.reduce((s, v) => s + v, 0)).toBe(10683);
    expect(categorical(all, 'workclass').filter((v) => v === '').length).toBe(1836);
    expect(categorical(all, 'occupation').filter((v) => v === '').length).toBe(1843);
    expect(categorical(all, 'native_country').filter((v) => v === '').length).toBe(583);
    expect(new Set(categorical(all, 'sex'))).toEqual(new Set(['Male', 'Female']));
    expect(numeric(all, 'age')[0]).toBe(39); // first line of adult.data
    expect(categorical(all, 'workclass')[0]).toBe('State-gov');
    for (const name of ['marital_status', 'relationship', 'fnlwgt', 'education']) {
      expect(all.columns.some((c) => c.name === name)).toBe(false);
    }
  });

  it('keeps a sample whose class balance is close to the full file', async () => {
    const t = await ds.load({}, 1);
    const rate = numeric(t, 'income').reduce((s, v) => s + v, 0) / t.rowCount;
    expect(rate).toBeGreaterThan(0.22);
    expect(rate).toBeLessThan(0.26);
    await expect(ds.load({ rows: 50 }, 1)).rejects.toBeInstanceOf(UsageError);
  });
});

describe('parkinsons-updrs specifics', () => {
  const ds = getBuiltinDataset('parkinsons-updrs');

  it('matches the published description of the data', async () => {
    const t = await ds.load({}, 1);
    const mean = (v: Float64Array): number => v.reduce((s, x) => s + x, 0) / v.length;
    expect(mean(numeric(t, 'motor_updrs'))).toBeCloseTo(21.296, 2);
    expect(mean(numeric(t, 'total_updrs'))).toBeCloseTo(29.019, 2);
    expect(mean(numeric(t, 'age'))).toBeCloseTo(64.805, 2);
    expect(numeric(t, 'jitter_abs')[0]).toBeCloseTo(3.38e-5, 10);
    const split = categorical(t, 'split');
    expect(split.filter((s) => s === 'test').length).toBe(1175);
    expect(split.filter((s) => s === 'val').length).toBe(881);
  });

  it('keeps each patient in one split with split: subject', async () => {
    const { header, rows } = await loadParkinsonsSource();
    const k = header.indexOf('subject#');
    for (const seed of [1, 2]) {
      const t = await ds.load({ split: 'subject' }, seed);
      const split = categorical(t, 'split');
      const splitsOf = new Map<number, Set<string>>();
      rows.forEach((r, i) => {
        const set = splitsOf.get(r[k]!) ?? new Set<string>();
        set.add(split[i]!);
        splitsOf.set(r[k]!, set);
      });
      expect(splitsOf.size).toBe(42);
      expect([...splitsOf.values()].every((s) => s.size === 1)).toBe(true);
      const patientsIn = (name: string): number => [...splitsOf.values()].filter((s) => s.has(name)).length;
      expect([patientsIn('train'), patientsIn('val'), patientsIn('test')]).toEqual([28, 6, 8]);
    }
    const a = categorical(await ds.load({ split: 'subject' }, 1), 'split');
    const b = categorical(await ds.load({ split: 'subject' }, 2), 'split');
    expect(a).not.toEqual(b);
    await expect(ds.load({ split: 'patient' }, 1)).rejects.toBeInstanceOf(UsageError);
    await expect(ds.load({ val_fraction: 0.5, test_fraction: 0.5 }, 1)).rejects.toBeInstanceOf(UsageError);
  });
});

describe('penguins specifics', () => {
  it('keeps the 333 complete rows with the known species counts', async () => {
    const t = await getBuiltinDataset('penguins').load({}, 1);
    const counts = new Map<string, number>();
    for (const s of categorical(t, 'species')) counts.set(s, (counts.get(s) ?? 0) + 1);
    expect(Object.fromEntries(counts)).toEqual({ Adelie: 146, Chinstrap: 68, Gentoo: 119 });
    expect(new Set(categorical(t, 'sex'))).toEqual(new Set(['female', 'male']));
    expect(numeric(t, 'body_mass_g')[0]).toBe(3750);
    expect(numeric(t, 'bill_length_mm').every((v) => Number.isFinite(v))).toBe(true);
  });
});

describe('synthetic-correlated specifics', () => {
  it('keeps every generated target out of the features, also one the config does not train (no leakage)', async () => {
    const config = parseConfigText(
      `data: { dataset: synthetic-correlated, options: { tasks: 3, samples: 200 } }
tasks:
  - { name: y1, type: regression }
  - { name: y2, type: regression }
`,
      { file: 'exp.yaml' },
    );
    const { features, table } = await splitTable(config.config, '.');
    expect(table.columns.map((c) => c.name)).toContain('y3');
    expect(features).toEqual(Array.from({ length: 16 }, (_, j) => `x${j}`));
  });
});
