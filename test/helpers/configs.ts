/**
 * Config templates shared by several test files, as YAML text for `parseConfigText` (or already loaded where the
 * template writes its own data). The same arguments always give the same config, so results asserted on stay put.
 */
import path from 'node:path';
import { parseConfigText, type LoadedConfig } from '../../src/config/load.js';
import type { ResolvedConfig } from '../../src/config/types.js';
import { prepareData, type PreparedData } from '../../src/data/prepare.js';
import { writeLinearRegressionCsv } from './csv.js';

/**
 * The smallest valid config: multi-digits with its two tasks, everything else default. Validation tests append
 * sections to it (`${TWO_DIGIT_TASKS}strategy: …`); eight lines, so what is appended starts on line 9.
 */
export const TWO_DIGIT_TASKS = `name: t
data:
  dataset: multi-digits
tasks:
  - name: left
    type: multiclass
  - name: right
    type: multiclass
`;

/** YAML scalars or flow collections, written as given (`0.003`, `'{ metric: mean/accuracy }'`). */
export type YamlFields = Readonly<Record<string, string | number>>;

/**
 * Two-digit multi-digits (tasks `left` and `right`, multiclass) on wasm. `trunk` holds one YAML flow mapping per
 * layer; `training` the fields of the training section, in order.
 */
export function digitsConfig(options: {
  name: string;
  seed: number;
  samples: number;
  trunk: readonly string[];
  training: YamlFields;
}): string {
  return [
    `name: ${options.name}`,
    `seed: ${options.seed}`,
    'backend: wasm',
    'data:',
    '  dataset: multi-digits',
    `  options: { samples: ${options.samples} }`,
    'tasks:',
    '  - { name: left, type: multiclass }',
    '  - { name: right, type: multiclass }',
    'model:',
    '  trunk:',
    ...options.trunk.map((layer) => `    - ${layer}`),
    'training:',
    ...Object.entries(options.training).map(([key, value]) => `  ${key}: ${value}`),
    '',
  ].join('\n');
}

/**
 * The README's accuracy claim: 2,000 composites, a dense trunk with dropout and batch-norm, early stopping on mean
 * accuracy. `training` adds or replaces training fields.
 */
export function quickDigitsConfig(epochs: number, training: YamlFields = {}): string {
  return digitsConfig({
    name: 'quick',
    seed: 11,
    samples: 2000,
    trunk: ['{ type: dense, units: 64, activation: relu }', '{ type: dropout, rate: 0.1 }', '{ type: batch-norm }'],
    training: { lr: 0.003, batch_size: 64, epochs, early_stopping: '{ metric: mean/accuracy }', ...training },
  });
}

/** A small, fast run: 600 composites, one dense layer of 16, batches of 32. */
export function smallDigitsConfig(epochs = 1): string {
  return digitsConfig({
    name: 'overhead',
    seed: 5,
    samples: 600,
    trunk: ['{ type: dense, units: 16, activation: relu }'],
    training: { batch_size: 32, epochs },
  });
}

/** {@link smallDigitsConfig}, resolved and its data prepared (the splits encoded), for tests below the trainer. */
export async function smallDigitsData(): Promise<{ config: ResolvedConfig; data: PreparedData }> {
  const { config } = parseConfigText(smallDigitsConfig());
  return { config, data: await prepareData(config, process.cwd()) };
}

/**
 * Two regression tasks (`a` on y1, `b` on y2) on a 40-row CSV written into `dir`, with one dense layer of 8: a run
 * takes a few milliseconds an epoch. `training` sets training fields; `data` replaces the data section's fields
 * after `csv` (e.g. `split: { train: 0.8, val: 0, test: 0.2 }`).
 */
export function tinyRegressionConfig(dir: string, training: YamlFields, data: YamlFields = {}): LoadedConfig {
  writeLinearRegressionCsv(dir, 'tiny.csv', {
    seed: 3,
    rows: 40,
    features: 4,
    targets: [
      { weights: [1, -1, 0.5, 0], noise: 0.1 },
      { weights: [0, 0.5, 1, -1], noise: 0.1 },
    ],
  });
  const text = [
    'name: tiny',
    'seed: 1',
    'backend: wasm',
    'data:',
    '  csv: tiny.csv',
    ...Object.entries(data).map(([key, value]) => `  ${key}: ${value}`),
    'tasks:',
    '  - { name: a, type: regression, target: y1 }',
    '  - { name: b, type: regression, target: y2 }',
    'model:',
    '  trunk: [{ type: dense, units: 8 }]',
    'training:',
    ...Object.entries(training).map(([key, value]) => `  ${key}: ${value}`),
    '',
  ].join('\n');
  return parseConfigText(text, { file: path.join(dir, 'tiny.yaml') });
}
