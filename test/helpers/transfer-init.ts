import path from 'node:path';
import { parseConfigText, type LoadedConfig } from '../../src/index.js';

/**
 * `init:` (issue #17): a run starts from another run's checkpoint. The source trains y1 and y2 of a three-task
 * synthetic-correlated table; the new runs train y2 (a head the source has) and y3 (one it does not).
 */
export function transferConfig(dir: string, name: string, fields: TransferFields): LoadedConfig {
  return parseConfigText(transferConfigText(name, fields), { file: path.join(dir, `${name}.yaml`) });
}

/** The text of {@link transferConfig}, to write as a file for the CLI. */
export function transferConfigText(name: string, fields: TransferFields): string {
  // Explicit features: the table's other targets (y3 for the source) must not become inputs.
  const features = Array.from({ length: fields.features ?? 6 }, (_, i) => `x${i}`).join(', ');
  const training = { epochs: 2, lr: 0.01, batch_size: 32, ...fields.training };
  const text = [
    `name: ${name}`,
    'seed: 0',
    'backend: wasm',
    'data:',
    '  dataset: synthetic-correlated',
    `  options: { tasks: 3, features: 6, samples: ${fields.samples ?? 120} }`,
    `  features: [${features}]`,
    'tasks:',
    ...fields.tasks.map((task) => `  - { name: ${task}, type: regression }`),
    `model: { trunk: [{ type: dense, units: ${fields.units ?? 8}, activation: relu }] }`,
    `training: { ${Object.entries(training)
      .map(([key, value]) => `${key}: ${value}`)
      .join(', ')} }`,
    ...(fields.init ? ['init:', ...fields.init.map((line) => `  ${line}`)] : []),
    '',
  ].join('\n');
  return text;
}

export interface TransferFields {
  tasks: string[];
  units?: number;
  init?: string[];
  training?: Record<string, number>;
  features?: number;
  samples?: number;
}
