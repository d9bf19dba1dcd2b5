/**
 * Seeded synthetic CSVs for tests that train on a small table of their own. The same options always give the same
 * bytes, so a test that asserts on a training result keeps asserting on the same data.
 */
import { createRng, type Rng } from '../../src/util/rng.js';
import { writeFile } from '../helpers.js';

/** A cell: numbers are written with a fixed number of decimals, text as it is. */
export type Cell = number | string;

export interface SyntheticCsv {
  seed: number;
  rows: number;
  header: readonly string[];
  /** One row's cells, drawn from the generator (shared by all rows, in row order). */
  row(rng: Rng, index: number): readonly Cell[];
  /** Decimals of numeric cells (default 5). */
  digits?: number;
}

/** Writes the table into `dir` and returns the file's path. */
export function writeSyntheticCsv(dir: string, name: string, spec: SyntheticCsv): string {
  const rng = createRng(spec.seed);
  const digits = spec.digits ?? 5;
  const lines = [spec.header.join(',')];
  for (let r = 0; r < spec.rows; r++) {
    lines.push(
      spec
        .row(rng, r)
        .map((cell) => (typeof cell === 'number' ? cell.toFixed(digits) : cell))
        .join(','),
    );
  }
  return writeFile(dir, name, `${lines.join('\n')}\n`);
}

/** y = scale · (weights · x) + noise · N(0, 1). */
export interface LinearTarget {
  weights: readonly number[];
  scale?: number;
  noise: number;
}

/**
 * Regression targets linear in standard-normal features: columns x0…x{n−1}, then y1…yK. Per row the features are
 * drawn first, then each target's noise in target order.
 */
export function writeLinearRegressionCsv(
  dir: string,
  name: string,
  spec: { seed: number; rows: number; features: number; targets: readonly LinearTarget[]; digits?: number },
): string {
  const header = [
    ...Array.from({ length: spec.features }, (_, i) => `x${i}`),
    ...spec.targets.map((_, k) => `y${k + 1}`),
  ];
  return writeSyntheticCsv(dir, name, {
    seed: spec.seed,
    rows: spec.rows,
    header,
    ...(spec.digits === undefined ? {} : { digits: spec.digits }),
    row: (rng) => {
      const x = Array.from({ length: spec.features }, () => rng.normal());
      const ys = spec.targets.map(
        (t) => (t.scale ?? 1) * x.reduce((s, v, i) => s + v * (t.weights[i] ?? 0), 0) + t.noise * rng.normal(),
      );
      return [...x, ...ys];
    },
  });
}
