/**
 * Regression metrics over N×K row-major arrays (K target columns, original units). mse/mae/rmse pool all N·K cells,
 * so every column weighs by its scale; r2 is scale-free per column and then averaged. Sums are float64.
 * An empty split gives NaN.
 */
import type { MetricDefinition, TaskPredictions } from './types.js';

function meanOfCells(data: TaskPredictions, f: (error: number) => number): number {
  const { predictions: p, targets: t } = data;
  let sum = 0;
  for (let j = 0; j < p.length; j++) sum += f(p[j]! - t[j]!);
  return sum / p.length;
}

/** Mean squared error: Σ (ŷ − y)² / (N·K). */
export function mse(data: TaskPredictions): number {
  return meanOfCells(data, (e) => e * e);
}

/** Mean absolute error: Σ |ŷ − y| / (N·K). */
export function mae(data: TaskPredictions): number {
  return meanOfCells(data, Math.abs);
}

/** Root of the pooled mse (not the mean of per-column roots), so rmse² = mse always holds. */
export function rmse(data: TaskPredictions): number {
  return Math.sqrt(mse(data));
}

/**
 * Coefficient of determination per column, R²_k = 1 − SS_res/SS_tot with SS_res = Σ_i (y_ik − ŷ_ik)² and
 * SS_tot = Σ_i (y_ik − ȳ_k)², averaged over columns. A constant column has SS_tot = 0 and no defined R², so it is
 * skipped in the mean; NaN when every column is constant. Can be negative (worse than predicting the mean).
 */
export function r2(data: TaskPredictions): number {
  const { predictions: p, targets: t, rows, outputSize: width } = data;
  let sum = 0;
  let defined = 0;
  for (let k = 0; k < width; k++) {
    let mean = 0;
    for (let i = 0; i < rows; i++) mean += t[i * width + k]!;
    mean /= rows;
    let ssRes = 0;
    let ssTot = 0;
    // Two passes (mean first) rather than Σy² − Nȳ², which cancels catastrophically for large offsets.
    for (let i = 0; i < rows; i++) {
      const y = t[i * width + k]!;
      const e = y - p[i * width + k]!;
      const d = y - mean;
      ssRes += e * e;
      ssTot += d * d;
    }
    // Only an exactly constant column is skipped; a NaN must still poison the mean so divergence is visible.
    if (ssTot === 0) continue;
    sum += 1 - ssRes / ssTot;
    defined++;
  }
  return defined === 0 ? NaN : sum / defined;
}

export const regressionMetrics: readonly MetricDefinition[] = [
  {
    name: 'mse',
    higherIsBetter: false,
    appliesTo: ['regression'],
    description: 'mean squared error over all target columns',
    compute: mse,
  },
  {
    name: 'mae',
    higherIsBetter: false,
    appliesTo: ['regression'],
    description: 'mean absolute error over all target columns',
    compute: mae,
  },
  {
    name: 'rmse',
    higherIsBetter: false,
    appliesTo: ['regression'],
    description: 'square root of mse',
    compute: rmse,
  },
  {
    name: 'r2',
    higherIsBetter: true,
    appliesTo: ['regression'],
    description: 'coefficient of determination, mean over non-constant target columns',
    compute: r2,
  },
];
