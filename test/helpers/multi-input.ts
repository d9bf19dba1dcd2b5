/** Two data sources for multi-input MTL tests (test/multi-input*.test.ts) and a config that gives each task one. */
import { writeSyntheticCsv } from './csv.js';

/** source.csv: 40 rows, x ~ N(0, 1), y = x0 + x1. target.csv: 20 rows, x ~ N(5, 3²) (another scale), z = x0 − x1. */
export function writeSources(dir: string): void {
  writeSyntheticCsv(dir, 'source.csv', {
    seed: 1,
    rows: 40,
    header: ['x0', 'x1', 'y'],
    row: (rng) => {
      const [a, b] = [rng.normal(), rng.normal()];
      return [a, b, a + b];
    },
  });
  writeSyntheticCsv(dir, 'target.csv', {
    seed: 2,
    rows: 20,
    header: ['x0', 'x1', 'z'],
    row: (rng) => {
      const [a, b] = [5 + 3 * rng.normal(), 5 + 3 * rng.normal()];
      return [a, b, (a - b) / 3];
    },
  });
  writeSyntheticCsv(dir, 'wide.csv', {
    seed: 3,
    rows: 20,
    header: ['x0', 'x1', 'x2', 'z'],
    row: (rng) => [rng.normal(), rng.normal(), rng.normal(), rng.normal()],
  });
}

export const configText = (targetData = 'csv: target.csv, split: { train: 0.5, val: 0.25, test: 0.25 }', extra = '') =>
  `name: multi
seed: 4
backend: wasm
data: { csv: source.csv, split: { train: 0.6, val: 0.2, test: 0.2 } }
tasks:
  - { name: y, type: regression }
  - { name: z, type: regression, data: { ${targetData} } }
model: { trunk: [{ type: dense, units: 8, activation: tanh }] }
training: { epochs: 5, batch_size: 8, lr: 0.03 }
${extra}`;
