/**
 * adult-income: UCI Adult (1994 US Census extract) with two binary tasks on the same people, after the census
 * experiments of the MMoE paper (Ma et al. 2018): income above 50K, and never married. Reads the original
 * adult.data (gzipped) shipped in datasets/adult-income/ and takes a fixed subsample (option `rows`).
 */
import { UsageError } from '../../errors.js';
import { createRng } from '../../util/rng.js';
import type { BuiltinDataset, Column } from '../types.js';
import { categoricalColumn, numericColumn, readShippedText, resolveOptions } from './shared.js';

export const ADULT_FOLDER = 'adult-income';
export const ADULT_FILE = 'adult.data.gz';
/** Rows of the original adult.data. */
export const ADULT_TOTAL_ROWS = 32561;

/** The 15 fields of an adult.data line, in order. */
export const ADULT_SOURCE_FIELDS = [
  'age',
  'workclass',
  'fnlwgt',
  'education',
  'education-num',
  'marital-status',
  'occupation',
  'relationship',
  'race',
  'sex',
  'capital-gain',
  'capital-loss',
  'hours-per-week',
  'native-country',
  'income',
] as const;

const numericFeatures: Array<[string, string]> = [
  ['age', 'age'],
  ['education_num', 'education-num'],
  ['capital_gain', 'capital-gain'],
  ['capital_loss', 'capital-loss'],
  ['hours_per_week', 'hours-per-week'],
];
const categoricalFeatures: Array<[string, string]> = [
  ['workclass', 'workclass'],
  ['occupation', 'occupation'],
  ['race', 'race'],
  ['sex', 'sex'],
  ['native_country', 'native-country'],
];

/** Parses adult.data: comma+space separated, '?' for unknown (kept as '' in categorical columns). */
export function parseAdult(text: string): string[][] {
  const rows: string[][] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const fields = line.split(',').map((f) => f.trim());
    if (fields.length !== ADULT_SOURCE_FIELDS.length) {
      throw new Error(`adult.data: expected ${ADULT_SOURCE_FIELDS.length} fields, got ${fields.length}: ${line}`);
    }
    rows.push(fields);
  }
  return rows;
}

/** Indices (ascending) of the rows kept for `rows`: all of them, or a fixed seeded sample that ignores the run seed. */
export function adultRowSelection(total: number, rows: number): Int32Array {
  if (rows >= total) return Int32Array.from({ length: total }, (_, i) => i);
  const perm = createRng('adult-income/rows').permutation(total);
  return perm.slice(0, rows).sort();
}

let sourceCache: Promise<string[][]> | undefined;
function loadSource(): Promise<string[][]> {
  sourceCache ??= readShippedText(ADULT_FOLDER, ADULT_FILE).then(parseAdult);
  return sourceCache;
}

export const adultIncomeOptionsSchema: Record<string, unknown> = {
  type: 'object',
  additionalProperties: false,
  properties: {
    rows: {
      type: 'integer',
      minimum: 100,
      maximum: ADULT_TOTAL_ROWS,
      default: 10000,
      description:
        'How many of the 32,561 rows to use: a fixed random sample (the same for every seed), in file order. ' +
        '32561 = all.',
    },
    extra_columns: {
      type: 'array',
      items: { enum: ['education', 'marital_status', 'relationship'] },
      uniqueItems: true,
      default: [],
      description:
        'Further categorical columns of adult.data to add to the table (not used as features unless data.features ' +
        'names them or lists no features): e.g. relationship, which says much about sex (Husband, Wife), for the ' +
        'adversarial examples of issue #18.',
    },
  },
};

const extraColumns: Record<string, (typeof ADULT_SOURCE_FIELDS)[number]> = {
  education: 'education',
  marital_status: 'marital-status',
  relationship: 'relationship',
};

export const adultIncome: BuiltinDataset = {
  name: 'adult-income',
  description:
    'UCI Adult census extract (1994 CPS): two binary tasks on the same people, income > 50K and never married ' +
    '(as in the census experiments of MMoE, Ma et al. 2018). 10 features, 5 of them categorical; a fixed ' +
    '10,000-row sample by default.',
  licence: 'CC-BY-4.0 (B. Becker, R. Kohavi, "Adult", UCI Machine Learning Repository)',
  citation:
    'Becker, B. & Kohavi, R. (1996). Adult [Dataset]. UCI Machine Learning Repository. ' +
    'https://doi.org/10.24432/C5XW20. Kohavi, R. (1996). Scaling Up the Accuracy of Naive-Bayes Classifiers: a ' +
    'Decision-Tree Hybrid. KDD-96.',
  folder: ADULT_FOLDER,
  features: [...numericFeatures, ...categoricalFeatures].map(([name]) => name),
  categoricalFeatures: categoricalFeatures.map(([name]) => name),
  tasks: [
    { name: 'income', type: 'binary', targets: ['income'] },
    { name: 'never_married', type: 'binary', targets: ['never_married'] },
  ],
  optionsSchema: adultIncomeOptionsSchema,
  async load(options) {
    const resolved = resolveOptions('adult-income', adultIncomeOptionsSchema, options) as {
      rows: number;
      extra_columns: string[];
    };
    const rows = resolved.rows;
    const source = await loadSource();
    const keep = adultRowSelection(source.length, rows);
    const field = (name: (typeof ADULT_SOURCE_FIELDS)[number]): number => ADULT_SOURCE_FIELDS.indexOf(name);
    const picked = Array.from(keep, (i) => source[i]!);
    const columns: Column[] = [];
    for (const [name, src] of numericFeatures) {
      const k = field(src as (typeof ADULT_SOURCE_FIELDS)[number]);
      columns.push(
        numericColumn(
          name,
          picked.map((r) => (r[k] === '?' ? Number.NaN : Number(r[k]))),
        ),
      );
    }
    for (const [name, src] of categoricalFeatures) {
      const k = field(src as (typeof ADULT_SOURCE_FIELDS)[number]);
      columns.push(
        categoricalColumn(
          name,
          picked.map((r) => (r[k] === '?' ? '' : r[k]!)),
        ),
      );
    }
    for (const name of resolved.extra_columns) {
      const source = extraColumns[name];
      if (!source)
        throw new UsageError(`adult-income: unknown extra column "${name}"`, [
          `known: ${Object.keys(extraColumns).join(', ')}`,
        ]);
      const k = field(source);
      columns.push(
        categoricalColumn(
          name,
          picked.map((r) => (r[k] === '?' ? '' : r[k]!)),
        ),
      );
    }
    const income = field('income');
    const marital = field('marital-status');
    columns.push(
      numericColumn(
        'income',
        picked.map((r) => (r[income] === '>50K' ? 1 : 0)),
      ),
    );
    columns.push(
      numericColumn(
        'never_married',
        picked.map((r) => (r[marital] === 'Never-married' ? 1 : 0)),
      ),
    );
    return { source: 'built-in dataset adult-income', rowCount: picked.length, columns };
  },
};
