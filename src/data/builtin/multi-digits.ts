/**
 * multi-digits: a MultiMNIST-style two-task benchmark (Sener & Koltun 2018) built at load time from the 1,797 8×8
 * UCI "Optical Recognition of Handwritten Digits" images shipped in datasets/multi-digits/digits.csv.gz.
 *
 * Each composite is 8 rows × (8 + offset) columns: a "left" digit at column 0, a "right" digit at column `offset`,
 * overlapping pixels combined with max, values scaled from 0..16 to [0, 1]. Tasks: classify the left digit and the
 * right digit. The SOURCE images are split into train/val/test pools first (stratified by class, seeded), and pairs
 * are drawn only within a pool, so no source image is seen in two splits.
 *
 * This file is the generator; datasets/multi-digits/README.md points here.
 */
import { UsageError } from '../../errors.js';
import { createRng } from '../../util/rng.js';
import type { BuiltinDataset, Column, DataTable } from '../types.js';
import { categoricalColumn, numericColumn, parseSimpleCsv, readShippedText, resolveOptions } from './shared.js';

/** Side of one source digit image, in pixels. */
export const DIGIT_SIZE = 8;
/** Largest source pixel value (4×4 blocks of a 32×32 bitmap, counted). */
export const DIGIT_MAX_VALUE = 16;
export const MULTI_DIGITS_FOLDER = 'multi-digits';
export const MULTI_DIGITS_FILE = 'digits.csv.gz';

/** The source images: `pixels` holds `count` images of 64 values (row-major), `labels` their digit 0..9. */
export interface DigitSource {
  count: number;
  pixels: Uint8Array;
  labels: Uint8Array;
}

export interface MultiDigitsOptions {
  samples: number;
  offset: number;
  val_fraction: number;
  test_fraction: number;
}

export type SplitName = 'train' | 'val' | 'test';
export const SPLIT_NAMES: readonly SplitName[] = ['train', 'val', 'test'];

/** Source image indices per split pool (each sorted ascending). */
export type DigitPools = Record<SplitName, Int32Array>;

export interface MultiDigitsBuild {
  table: DataTable;
  /** Source image index of the left / right digit of each row. */
  leftIndex: Int32Array;
  rightIndex: Int32Array;
  pools: DigitPools;
}

/** Parses the scikit-learn digits.csv layout: no header, 64 pixel values then the label, one image a line. */
export function parseDigitsCsv(text: string): DigitSource {
  const { rows } = parseSimpleCsv(text, false);
  const width = DIGIT_SIZE * DIGIT_SIZE;
  const pixels = new Uint8Array(rows.length * width);
  const labels = new Uint8Array(rows.length);
  rows.forEach((row, i) => {
    if (row.length !== width + 1)
      throw new Error(`digits.csv line ${i + 1}: expected ${width + 1} fields, got ${row.length}`);
    for (let k = 0; k < width; k++) {
      const v = Number(row[k]);
      if (!Number.isInteger(v) || v < 0 || v > DIGIT_MAX_VALUE)
        throw new Error(`digits.csv line ${i + 1}: bad pixel ${row[k]}`);
      pixels[i * width + k] = v;
    }
    const label = Number(row[width]);
    if (!Number.isInteger(label) || label < 0 || label > 9)
      throw new Error(`digits.csv line ${i + 1}: bad label ${row[width]}`);
    labels[i] = label;
  });
  return { count: rows.length, pixels, labels };
}

let sourceCache: Promise<DigitSource> | undefined;

/** Reads (once per process) the shipped source images. */
export function loadDigitSource(): Promise<DigitSource> {
  sourceCache ??= readShippedText(MULTI_DIGITS_FOLDER, MULTI_DIGITS_FILE).then(parseDigitsCsv);
  return sourceCache;
}

/** The 64 raw pixel values of source image `index`. */
export function digitPixels(source: DigitSource, index: number): Uint8Array {
  const width = DIGIT_SIZE * DIGIT_SIZE;
  return source.pixels.subarray(index * width, (index + 1) * width);
}

/** Feature column names of a composite with the given offset: px_<row>_<col>, row-major. */
export function multiDigitsFeatureNames(offset: number = 4): string[] {
  const names: string[] = [];
  for (let r = 0; r < DIGIT_SIZE; r++) for (let c = 0; c < DIGIT_SIZE + offset; c++) names.push(`px_${r}_${c}`);
  return names;
}

/**
 * One composite image, row-major, DIGIT_SIZE × (DIGIT_SIZE + offset): `left` (8×8, row-major) at column 0, `right`
 * at column `offset`, each pixel the max of the two images there (0 where an image does not reach) divided by
 * `maxValue`.
 */
export function composeDigits(
  left: ArrayLike<number>,
  right: ArrayLike<number>,
  offset: number,
  maxValue: number = DIGIT_MAX_VALUE,
): Float64Array {
  if (!Number.isInteger(offset) || offset < 0)
    throw new RangeError(`offset must be a non-negative integer, got ${offset}`);
  const n = DIGIT_SIZE;
  if (left.length !== n * n || right.length !== n * n) throw new RangeError(`digit images must have ${n * n} pixels`);
  const width = n + offset;
  const out = new Float64Array(n * width);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      const l = left[r * n + c]!;
      const iL = r * width + c;
      if (l > out[iL]!) out[iL] = l;
      const rv = right[r * n + c]!;
      const iR = r * width + c + offset;
      if (rv > out[iR]!) out[iR] = rv;
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = out[i]! / maxValue;
  return out;
}

/**
 * Splits source images into train/val/test pools, stratified by label: within each class (in label order) the
 * images are shuffled with a generator seeded by `seed`, the first round(n·test) go to test, the next round(n·val)
 * to val, the rest to train. Every index lands in exactly one pool.
 */
export function splitDigitPools(
  labels: ArrayLike<number>,
  seed: number,
  valFraction: number,
  testFraction: number,
): DigitPools {
  const rng = createRng(seed).fork('multi-digits/pools');
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    let list = byClass.get(y);
    if (list === undefined) {
      list = [];
      byClass.set(y, list);
    }
    list.push(i);
  }
  const pools: Record<SplitName, number[]> = { train: [], val: [], test: [] };
  for (const y of [...byClass.keys()].sort((a, b) => a - b)) {
    const idx = rng.shuffle(byClass.get(y) as number[]);
    const nTest = Math.round(idx.length * testFraction);
    const nVal = Math.min(idx.length - nTest, Math.round(idx.length * valFraction));
    pools.test.push(...idx.slice(0, nTest));
    pools.val.push(...idx.slice(nTest, nTest + nVal));
    pools.train.push(...idx.slice(nTest + nVal));
  }
  const sorted = (a: number[]): Int32Array => Int32Array.from(a).sort();
  return { train: sorted(pools.train), val: sorted(pools.val), test: sorted(pools.test) };
}

/** How many composites each split gets: round(samples·fraction) for val and test, the rest for train. */
export function compositeCounts(options: MultiDigitsOptions): Record<SplitName, number> {
  const test = Math.round(options.samples * options.test_fraction);
  const val = Math.round(options.samples * options.val_fraction);
  return { train: options.samples - val - test, val, test };
}

/**
 * Builds the composite table from the source images. Rows come grouped by split (train, then val, then test); the
 * left and right images of a row are two different source images of the same pool, each drawn uniformly.
 */
export function buildMultiDigits(source: DigitSource, options: MultiDigitsOptions, seed: number): MultiDigitsBuild {
  const { samples, offset } = options;
  if (options.val_fraction + options.test_fraction >= 1) {
    throw new UsageError('multi-digits: val_fraction + test_fraction must be below 1', [
      `got val_fraction ${options.val_fraction} + test_fraction ${options.test_fraction}`,
    ]);
  }
  const pools = splitDigitPools(source.labels, seed, options.val_fraction, options.test_fraction);
  const counts = compositeCounts(options);
  const names = multiDigitsFeatureNames(offset);
  const pixelCols = names.map(() => new Float64Array(samples));
  const left = new Float64Array(samples);
  const right = new Float64Array(samples);
  const split: string[] = new Array<string>(samples);
  const leftIndex = new Int32Array(samples);
  const rightIndex = new Int32Array(samples);
  const base = createRng(seed);
  base.fork('multi-digits/pools'); // keep the pair streams independent of the pool stream
  let row = 0;
  for (const name of SPLIT_NAMES) {
    const pool = pools[name];
    const count = counts[name];
    if (count > 0 && pool.length < 2) {
      throw new UsageError(`multi-digits: the ${name} pool has ${pool.length} source image(s), too few to pair`, [
        'raise the fraction for that split, or set it to 0 and also get no composites for it',
      ]);
    }
    const rng = base.fork(`multi-digits/pairs/${name}`);
    for (let k = 0; k < count; k++, row++) {
      const a = pool[rng.int(pool.length)]!;
      let bPos = rng.int(pool.length - 1);
      if (pool[bPos]! >= a) bPos += 1; // pool is sorted: skip a, so b != a
      const b = pool[bPos]!;
      const img = composeDigits(digitPixels(source, a), digitPixels(source, b), offset);
      for (let p = 0; p < img.length; p++) (pixelCols[p] as Float64Array)[row] = img[p]!;
      left[row] = source.labels[a]!;
      right[row] = source.labels[b]!;
      split[row] = name;
      leftIndex[row] = a;
      rightIndex[row] = b;
    }
  }
  const columns: Column[] = names.map((n, i) => ({ kind: 'numeric', name: n, values: pixelCols[i] as Float64Array }));
  columns.push(numericColumn('left', left), numericColumn('right', right), categoricalColumn('split', split));
  return {
    table: { source: 'built-in dataset multi-digits', rowCount: samples, columns },
    leftIndex,
    rightIndex,
    pools,
  };
}

export const multiDigitsOptionsSchema: Record<string, unknown> = {
  type: 'object',
  additionalProperties: false,
  properties: {
    samples: {
      type: 'integer',
      minimum: 10,
      maximum: 200000,
      default: 6000,
      description: 'Total number of composite images (train + val + test).',
    },
    offset: {
      type: 'integer',
      minimum: 0,
      maximum: 8,
      default: 4,
      description: 'Column where the right digit starts; the image is 8 × (8 + offset). 0 = full overlap, 8 = none.',
    },
    val_fraction: {
      type: 'number',
      minimum: 0,
      maximum: 0.5,
      default: 0.15,
      description: 'Fraction of source images (per class) and of composites in the validation split.',
    },
    test_fraction: {
      type: 'number',
      minimum: 0,
      maximum: 0.5,
      default: 0.2,
      description: 'Fraction of source images (per class) and of composites in the test split.',
    },
  },
};

export const multiDigits: BuiltinDataset = {
  name: 'multi-digits',
  description:
    'MultiMNIST-style two-digit composites (Sener & Koltun 2018) built from the 1,797 8×8 UCI handwritten digits: ' +
    'classify the left and the right digit. Features px_r_c in [0,1] (8 × (8+offset) pixels; the list here is for ' +
    'the default offset 4); split pools drawn from disjoint source images.',
  licence:
    'CC-BY-4.0 (E. Alpaydin, C. Kaynak, "Optical Recognition of Handwritten Digits", UCI Machine Learning Repository)',
  citation:
    'Alpaydin, E. & Kaynak, C. (1998). Optical Recognition of Handwritten Digits [Dataset]. UCI Machine Learning ' +
    'Repository. https://doi.org/10.24432/C50P49. Composite task after Sener, O. & Koltun, V. (2018). Multi-Task ' +
    'Learning as Multi-Objective Optimization. NeurIPS.',
  folder: MULTI_DIGITS_FOLDER,
  features: multiDigitsFeatureNames(4),
  tasks: [
    { name: 'left', type: 'multiclass', targets: ['left'] },
    { name: 'right', type: 'multiclass', targets: ['right'] },
  ],
  splitColumn: 'split',
  optionsSchema: multiDigitsOptionsSchema,
  async load(options, seed) {
    const resolved = resolveOptions('multi-digits', multiDigitsOptionsSchema, options) as unknown as MultiDigitsOptions;
    const source = await loadDigitSource();
    return buildMultiDigits(source, resolved, seed).table;
  },
};
