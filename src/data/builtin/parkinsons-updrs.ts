/**
 * parkinsons-updrs: UCI Parkinsons Telemonitoring (Tsanas et al. 2010), 5,875 voice recordings of 42 patients, two
 * regression tasks on the same rows: motor UPDRS and total UPDRS. Reads the original parkinsons_updrs.data
 * (gzipped) shipped in datasets/parkinsons-updrs/ and adds a seeded split column: by row (default) or by patient.
 */
import { UsageError } from '../../errors.js';
import { createRng } from '../../util/rng.js';
import type { BuiltinDataset, Column } from '../types.js';
import {
  categoricalColumn,
  groupSplit,
  numericColumn,
  randomSplit,
  readShippedText,
  resolveOptions,
} from './shared.js';

export const PARKINSONS_FOLDER = 'parkinsons-updrs';
export const PARKINSONS_FILE = 'parkinsons_updrs.data.gz';
export const PARKINSONS_ROWS = 5875;

/** Table column name ← header name in parkinsons_updrs.data, for the features. */
export const PARKINSONS_FEATURES: ReadonlyArray<readonly [string, string]> = [
  ['age', 'age'],
  ['sex', 'sex'],
  ['jitter_pct', 'Jitter(%)'],
  ['jitter_abs', 'Jitter(Abs)'],
  ['jitter_rap', 'Jitter:RAP'],
  ['jitter_ppq5', 'Jitter:PPQ5'],
  ['jitter_ddp', 'Jitter:DDP'],
  ['shimmer', 'Shimmer'],
  ['shimmer_db', 'Shimmer(dB)'],
  ['shimmer_apq3', 'Shimmer:APQ3'],
  ['shimmer_apq5', 'Shimmer:APQ5'],
  ['shimmer_apq11', 'Shimmer:APQ11'],
  ['shimmer_dda', 'Shimmer:DDA'],
  ['nhr', 'NHR'],
  ['hnr', 'HNR'],
  ['rpde', 'RPDE'],
  ['dfa', 'DFA'],
  ['ppe', 'PPE'],
];
export const PARKINSONS_TARGETS: ReadonlyArray<readonly [string, string]> = [
  ['motor_updrs', 'motor_UPDRS'],
  ['total_updrs', 'total_UPDRS'],
];

export interface ParkinsonsSource {
  header: string[];
  /** Row-major numbers, header.length per row. */
  rows: number[][];
}

/** Parses parkinsons_updrs.data: a header line then comma-separated numbers (exponents like 3.38e-005). */
export function parseParkinsons(text: string): ParkinsonsSource {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = (lines.shift() ?? '').split(',');
  const rows = lines.map((line, i) => {
    const values = line.split(',').map(Number);
    if (values.length !== header.length || values.some((v) => !Number.isFinite(v))) {
      throw new Error(`parkinsons_updrs.data line ${i + 2}: bad row`);
    }
    return values;
  });
  return { header, rows };
}

let sourceCache: Promise<ParkinsonsSource> | undefined;
export function loadParkinsonsSource(): Promise<ParkinsonsSource> {
  sourceCache ??= readShippedText(PARKINSONS_FOLDER, PARKINSONS_FILE).then(parseParkinsons);
  return sourceCache;
}

export const parkinsonsOptionsSchema: Record<string, unknown> = {
  type: 'object',
  additionalProperties: false,
  properties: {
    split: {
      type: 'string',
      enum: ['row', 'subject'],
      default: 'row',
      description:
        "'row': recordings split at random (the usual protocol; the same patient appears in train and test). " +
        "'subject': whole patients split at random (honest generalisation to new patients; much harder).",
    },
    val_fraction: {
      type: 'number',
      minimum: 0,
      maximum: 0.5,
      default: 0.15,
      description: 'Share of rows (or patients) in val.',
    },
    test_fraction: {
      type: 'number',
      minimum: 0,
      maximum: 0.5,
      default: 0.2,
      description: 'Share of rows (or patients) in test.',
    },
  },
};

export const parkinsonsUpdrs: BuiltinDataset = {
  name: 'parkinsons-updrs',
  description:
    'UCI Parkinsons Telemonitoring: 5,875 voice recordings of 42 early-stage patients; two regression tasks, motor ' +
    'and total UPDRS, from age, sex and 16 voice measures. Split by row (default) or by patient.',
  licence: 'CC-BY-4.0 (A. Tsanas, M. Little, "Parkinsons Telemonitoring", UCI Machine Learning Repository)',
  citation:
    "Tsanas, A., Little, M. A., McSharry, P. E. & Ramig, L. O. (2010). Accurate telemonitoring of Parkinson's " +
    'disease progression by non-invasive speech tests. IEEE Transactions on Biomedical Engineering 57(4):884-893. ' +
    'Dataset: Tsanas, A. & Little, M. (2009). Parkinsons Telemonitoring. UCI Machine Learning Repository. ' +
    'https://doi.org/10.24432/C5ZS3N',
  folder: PARKINSONS_FOLDER,
  features: PARKINSONS_FEATURES.map(([name]) => name),
  tasks: PARKINSONS_TARGETS.map(([name]) => ({ name, type: 'regression' as const, targets: [name] })),
  splitColumn: 'split',
  optionsSchema: parkinsonsOptionsSchema,
  async load(options, seed) {
    const opts = resolveOptions('parkinsons-updrs', parkinsonsOptionsSchema, options) as {
      split: 'row' | 'subject';
      val_fraction: number;
      test_fraction: number;
    };
    if (opts.val_fraction + opts.test_fraction >= 1) {
      throw new UsageError('parkinsons-updrs: val_fraction + test_fraction must be below 1', [
        `got val_fraction ${opts.val_fraction} + test_fraction ${opts.test_fraction}`,
      ]);
    }
    const { header, rows } = await loadParkinsonsSource();
    const col = (src: string): number[] => {
      const k = header.indexOf(src);
      if (k < 0) throw new Error(`parkinsons_updrs.data has no column ${src}`);
      return rows.map((r) => r[k]!);
    };
    const columns: Column[] = [...PARKINSONS_FEATURES, ...PARKINSONS_TARGETS].map(([name, src]) =>
      numericColumn(name, col(src)),
    );
    const rng = createRng(seed).fork('parkinsons-updrs/split');
    const split =
      opts.split === 'subject'
        ? groupSplit(col('subject#'), rng, opts.val_fraction, opts.test_fraction)
        : randomSplit(rows.length, rng, opts.val_fraction, opts.test_fraction);
    columns.push(categoricalColumn('split', split));
    return { source: 'built-in dataset parkinsons-updrs', rowCount: rows.length, columns };
  },
};
