/**
 * penguins: Palmer Archipelago penguins (Gorman et al. 2014, via the palmerpenguins R package, CC0), a mixed
 * two-task case on the same birds: species (multiclass, 3) and body mass (regression). Reads penguins.csv shipped
 * in datasets/penguins/ and keeps the 333 complete rows.
 */
import type { BuiltinDataset, Column } from '../types.js';
import { categoricalColumn, numericColumn, parseSimpleCsv, readShippedText, resolveOptions } from './shared.js';

export const PENGUINS_FOLDER = 'penguins';
export const PENGUINS_FILE = 'penguins.csv';
export const PENGUINS_SPECIES = ['Adelie', 'Chinstrap', 'Gentoo'] as const;

const numericFeatures = ['bill_length_mm', 'bill_depth_mm', 'flipper_length_mm'];
const categoricalFeatures = ['island', 'sex'];
const used = [...numericFeatures, ...categoricalFeatures, 'species', 'body_mass_g'];

export const penguinsOptionsSchema: Record<string, unknown> = {
  type: 'object',
  additionalProperties: false,
  properties: {},
};

export const penguins: BuiltinDataset = {
  name: 'penguins',
  description:
    'Palmer Archipelago (Antarctica) penguins, 333 complete records: species (multiclass: Adelie, Chinstrap, ' +
    'Gentoo) and body mass in grams (regression) from bill length and depth, flipper length, island and sex.',
  licence: 'CC0-1.0 (palmerpenguins; data by K. Gorman and the Palmer Station LTER)',
  citation:
    'Horst, A. M., Hill, A. P. & Gorman, K. B. (2020). palmerpenguins: Palmer Archipelago (Antarctica) penguin ' +
    'data. R package version 0.1.1. https://doi.org/10.5281/zenodo.3960218. Gorman, K. B., Williams, T. D. & ' +
    'Fraser, W. R. (2014). Ecological sexual dimorphism and environmental variability within a community of ' +
    'Antarctic penguins (genus Pygoscelis). PLoS ONE 9(3):e90081.',
  folder: PENGUINS_FOLDER,
  features: [...numericFeatures, ...categoricalFeatures],
  categoricalFeatures,
  tasks: [
    { name: 'species', type: 'multiclass', targets: ['species'] },
    { name: 'body_mass', type: 'regression', targets: ['body_mass_g'] },
  ],
  optionsSchema: penguinsOptionsSchema,
  async load(options) {
    resolveOptions('penguins', penguinsOptionsSchema, options);
    const { header, rows } = parseSimpleCsv(await readShippedText(PENGUINS_FOLDER, PENGUINS_FILE), true);
    const idx = (name: string): number => {
      const k = (header as string[]).indexOf(name);
      if (k < 0) throw new Error(`penguins.csv has no column ${name}`);
      return k;
    };
    const complete = rows.filter((r) => used.every((name) => r[idx(name)] !== 'NA' && r[idx(name)] !== ''));
    const columns: Column[] = [
      ...numericFeatures.map((name) =>
        numericColumn(
          name,
          complete.map((r) => Number(r[idx(name)])),
        ),
      ),
      ...categoricalFeatures.map((name) =>
        categoricalColumn(
          name,
          complete.map((r) => r[idx(name)]!),
        ),
      ),
      categoricalColumn(
        'species',
        complete.map((r) => r[idx('species')]!),
      ),
      numericColumn(
        'body_mass_g',
        complete.map((r) => Number(r[idx('body_mass_g')])),
      ),
    ];
    return { source: 'built-in dataset penguins', rowCount: complete.length, columns };
  },
};
