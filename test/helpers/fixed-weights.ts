/**
 * Fixed-weight checks of architectures: every variable of a model set to known small numbers, and the plain-JS
 * operations the expected outputs are written with (rows of numbers, no TF.js), independent of the implementation.
 */
import { tf } from '../../src/tf.js';
import { expect } from 'vitest';
import { checkpointVariables } from '../../src/model/checkpoint.js';
import type { MultiTaskModel } from '../../src/model/types.js';

export type Rows = number[][];

/** Variable values by name, as flat lists (row-major, the variable's own layout). */
export type KnownValues = Map<string, number[]>;

/**
 * Sets every variable of the model to a known value list: the k-th value of the i-th variable (in checkpoint order)
 * is ((7·k + 3·i) mod 13 − 6) / 10, in [−0.6, 0.6]; batch-norm moving variances get 0.5 + |that| (positive).
 */
export function assignKnownValues(model: MultiTaskModel): KnownValues {
  const known: KnownValues = new Map();
  checkpointVariables(model).forEach((variable, i) => {
    const values = Array.from({ length: variable.size }, (_, k) => {
      const v = (((7 * k + 3 * i) % 13) - 6) / 10;
      return variable.name.endsWith('moving_variance') ? 0.5 + Math.abs(v) : v;
    });
    variable.assign(tf.tensor(values, variable.shape));
    known.set(variable.name, values);
  });
  return known;
}

/** The values of a variable, failing the test when the model has no variable of that name. */
export function valuesOf(known: KnownValues, name: string): number[] {
  const values = known.get(name);
  expect(values, `variable ${name}`).toBeDefined();
  return values ?? [];
}

/** A [batch, columns] tensor as rows. */
export function rowsOf(t: tf.Tensor): Rows {
  const columns = t.shape.slice(1).reduce((a, b) => a * b, 1);
  const values = Array.from(t.dataSync());
  return Array.from({ length: t.shape[0]! }, (_, r) => values.slice(r * columns, (r + 1) * columns));
}

/** x·K + b for each row x, with K stored row-major as [in, out]. */
export function denseRows(x: Rows, kernel: number[], bias: number[]): Rows {
  const out = bias.length;
  return x.map((row) => bias.map((b, o) => row.reduce((sum, v, i) => sum + v * kernel[i * out + o]!, b)));
}

export const mapRows = (x: Rows, f: (v: number) => number): Rows => x.map((row) => row.map(f));
export const relu = (v: number): number => Math.max(v, 0);
export const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));
export const multiplyRows = (a: Rows, b: Rows): Rows => a.map((row, r) => row.map((v, c) => v * b[r]![c]!));
export const concatRows = (a: Rows, b: Rows): Rows => a.map((row, r) => [...row, ...b[r]!]);

export function softmaxRows(x: Rows): Rows {
  return x.map((row) => {
    const top = Math.max(...row);
    const exps = row.map((v) => Math.exp(v - top));
    const total = exps.reduce((a, b) => a + b, 0);
    return exps.map((e) => e / total);
  });
}

/** Σ_e g[e] · experts[e] per row. */
export function mixRows(experts: Rows[], gates: Rows): Rows {
  return gates.map((g, r) => experts[0]![r]!.map((_, c) => g.reduce((sum, w, e) => sum + w * experts[e]![r]![c]!, 0)));
}

/**
 * Batch normalisation per column: with `moving` statistics (inference), or with the rows' own mean and biased
 * variance (training).
 */
export function batchNormRows(
  x: Rows,
  gamma: number[],
  beta: number[],
  epsilon: number,
  moving?: { mean: number[]; variance: number[] },
): Rows {
  const n = x.length;
  const mean = moving?.mean ?? gamma.map((_, c) => x.reduce((s, row) => s + row[c]!, 0) / n);
  const variance = moving?.variance ?? gamma.map((_, c) => x.reduce((s, row) => s + (row[c]! - mean[c]!) ** 2, 0) / n);
  return x.map((row) => row.map((v, c) => ((v - mean[c]!) / Math.sqrt(variance[c]! + epsilon)) * gamma[c]! + beta[c]!));
}

/** The closeness of two row lists, entry by entry. */
export function expectRowsClose(actual: Rows, expected: Rows, digits = 5): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((row, r) => {
    expect(row.length, `row ${r}`).toBe(expected[r]!.length);
    row.forEach((v, c) => expect(v, `row ${r}, column ${c}`).toBeCloseTo(expected[r]![c]!, digits));
  });
}
