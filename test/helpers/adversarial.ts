/**
 * Two data sources with a shift that survives each source's own standardisation (a multi-input run, issue #17):
 * a.csv has x0, x1 independent, b.csv has x1 ≈ x0 (correlated). y = x0 + noise on a, z = −x0 + noise on b, so both
 * tasks can be solved from x0 alone, where the sources look alike; a discriminator on features that keep x1 tells
 * the sources apart.
 */
import { writeSyntheticCsv } from './csv.js';

export function writeShiftedSources(dir: string, rows = 300): void {
  writeSyntheticCsv(dir, 'a.csv', {
    seed: 5,
    rows,
    header: ['x0', 'x1', 'y'],
    digits: 4,
    row: (rng) => {
      const [a, b] = [rng.normal(), rng.normal()];
      return [a, b, a + 0.1 * rng.normal()];
    },
  });
  writeSyntheticCsv(dir, 'b.csv', {
    seed: 6,
    rows,
    header: ['x0', 'x1', 'z'],
    digits: 4,
    row: (rng) => {
      const a = rng.normal();
      return [a, a + 0.1 * rng.normal(), -a + 0.1 * rng.normal()];
    },
  });
}

/** y on a.csv, z on b.csv; a hard-sharing tanh trunk; `adversary` and `model` lines as given. */
export function shiftedConfig(options: { epochs: number; adversary?: string; model?: string; extra?: string }): string {
  return `name: shifted
seed: 3
backend: wasm
data: { csv: a.csv }
tasks:
  - { name: y, type: regression }
  - { name: z, type: regression, data: { csv: b.csv } }
model: ${options.model ?? '{ trunk: [{ type: dense, units: 4, activation: tanh }] }'}
training: { epochs: ${options.epochs}, batch_size: 32, lr: 0.01, early_stopping: { patience: 0 } }
${options.adversary ? `adversary: ${options.adversary}\n` : ''}${options.extra ?? ''}`;
}
