/**
 * The latent-feature data of the transfer-effect tests (test/transfer-effect.test.ts, test/multi-input-effect.test.ts):
 * x ∈ ℝ⁸ ~ N(0, I); latent z = |W x|; source tasks s1–s3 (source.csv, 600 rows)
 * and the target t (target.csv, 24 train / 40 val / 300 test rows by its `split` column) are linear read-outs of z.
 */
import { writeSyntheticCsv } from './csv.js';

const W = [
  [0.9, -0.6, 0.3, 0.0, 0.5, -0.2, 0.1, 0.4],
  [-0.3, 0.2, 0.8, -0.7, 0.0, 0.6, -0.4, 0.1],
  [0.2, 0.7, -0.1, 0.5, -0.8, 0.0, 0.3, -0.6],
];
const READ_OUTS = {
  s1: [1, 0.5, -0.5],
  s2: [-0.4, 1, 0.6],
  s3: [0.3, -0.7, 1],
  t: [0.8, -0.9, 0.7],
};

function latent(x: readonly number[]): number[] {
  return W.map((row) => Math.abs(row.reduce((sum, w, i) => sum + w * (x[i] ?? 0), 0)));
}

function readOut(z: readonly number[], weights: readonly number[]): number {
  return z.reduce((sum, value, k) => sum + value * (weights[k] ?? 0), 0);
}

const FEATURES = Array.from({ length: 8 }, (_, i) => `x${i}`);

export function writeLatentData(dir: string): void {
  writeSyntheticCsv(dir, 'source.csv', {
    seed: 1,
    rows: 600,
    header: [...FEATURES, 's1', 's2', 's3'],
    row: (rng) => {
      const x = FEATURES.map(() => rng.normal());
      const z = latent(x);
      return [...x, ...[READ_OUTS.s1, READ_OUTS.s2, READ_OUTS.s3].map((w) => readOut(z, w) + 0.05 * rng.normal())];
    },
  });
  writeSyntheticCsv(dir, 'target.csv', {
    seed: 2,
    rows: 364,
    header: [...FEATURES, 't', 'split'],
    row: (rng, index) => {
      const x = FEATURES.map(() => rng.normal());
      const split = index < 24 ? 'train' : index < 64 ? 'val' : 'test';
      return [...x, readOut(latent(x), READ_OUTS.t) + 0.05 * rng.normal(), split];
    },
  });
}
