/**
 * A feature discriminator between two domains of `data.domains` (issue #18: "real" and "fake" may be the features of
 * one domain against another's): `real: { domain: source }`, `fake: { domain: target }` picks each side's rows by
 * the row's domain, in training and when measured; an unknown domain is refused at its config line.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/config/load.js';
import { trainExperiment } from '../src/api/train.js';
import { readEpochLog } from '../src/runs/logs.js';
import { mtl } from './helpers/cli.js';
import { tempDir, writeFile } from './helpers.js';

const config = (weight: number, target = 'target'): string =>
  [
    'name: domains-gan',
    'seed: 0',
    'backend: wasm',
    'data:',
    '  dataset: synthetic-correlated',
    '  options: { samples: 600, features: 8, target_domain_shift: 3, target_domain_fraction: 0.5 }',
    '  domains: { column: domain, source: source, target: target, lambda: 0 }',
    'tasks:',
    '  - { name: y1, type: regression, metrics: [r2] }',
    '  - { name: y2, type: regression, metrics: [r2] }',
    'model:',
    '  trunk: [{ type: dense, units: 16, activation: relu }, { type: dense, units: 8, activation: tanh }]',
    'training: { epochs: 12, batch_size: 64, lr: 0.003 }',
    'adversary:',
    '  type: discriminator',
    '  features: shared',
    '  real: { domain: source }',
    `  fake: { domain: ${target} }`,
    '  hidden: [16]',
    '  steps: 2',
    `  weight: ${weight}`,
    '',
  ].join('\n');

async function lastAccuracies(weight: number): Promise<{ accuracy: number; chance: number }> {
  const dir = tempDir('mtl-feature-domains-');
  const loaded = parseConfigText(config(weight), { file: path.join(dir, 'exp.yaml') });
  const summary = await trainExperiment(loaded, { runsDir: path.join(dir, 'runs') });
  expect(summary.status).toBe('completed');
  const log = readEpochLog(summary.dir).map((e) => e.adversaries?.['feature-discriminator']);
  expect(log.every((entry) => entry !== undefined)).toBe(true);
  const last = log.slice(-4);
  const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
  return { accuracy: mean(last.map((e) => e?.accuracy ?? NaN)), chance: last[0]?.chance ?? NaN };
}

describe('a feature discriminator between two domains', () => {
  it('tells the shifted domains apart without the generator term, and less well with it', async () => {
    const without = await lastAccuracies(0);
    const withTerm = await lastAccuracies(2);
    console.log(
      `feature discriminator, source vs target domain: accuracy ${withTerm.accuracy.toFixed(3)} with w = 2, ` +
        `${without.accuracy.toFixed(3)} with w = 0 (chance ${without.chance.toFixed(3)})`,
    );
    // Chance: the larger side's share of the validation rows (source and target are each about half).
    expect(without.chance).toBeGreaterThan(0.4);
    expect(without.chance).toBeLessThan(0.65);
    expect(without.accuracy).toBeGreaterThan(without.chance + 0.1);
    expect(withTerm.accuracy).toBeLessThan(without.accuracy - 0.08);
  }, 120_000);

  it('refuses a domain data.domains does not have, at its config line', () => {
    const dir = tempDir('mtl-feature-domains-bad-');
    const file = writeFile(dir, 'exp.yaml', config(1, 'elsewhere'));
    const result = mtl(['validate', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /exp\.yaml:\d+:\d+: adversary\.fake\.domain: "elsewhere" is not a domain of data\.domains/,
    );
    expect(result.stderr).toContain('expected one of source, target');
  });
});
