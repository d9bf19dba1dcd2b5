/**
 * Classification metrics over plain typed arrays. Layouts follow `TaskPredictions`; shapes are checked once by
 * `computeMetrics` (registry.ts), so these functions assume `predictions` and `targets` already match `rows`.
 * Every sum is a JS number (float64) even though inputs are float32, so long sums do not lose precision.
 * An empty split gives NaN rather than 0, so "no data" never looks like a score.
 */
import type { MetricDefinition, PredictionLayout, TaskPredictions } from './types.js';

const THRESHOLD = 0.5;
/** Keeps log-loss finite for confidently wrong predictions (same bound as Keras' epsilon). */
export const LOG_LOSS_EPSILON = 1e-7;

function notApplicable(metric: string, type: PredictionLayout): never {
  throw new Error(`metric ${metric} does not apply to ${type} tasks`);
}

function argmaxRow(p: Float32Array, offset: number, width: number): number {
  // Ties go to the lowest class index, which makes the result deterministic across backends.
  let best = 0;
  for (let c = 1; c < width; c++) if (p[offset + c]! > p[offset + best]!) best = c;
  return best;
}

/** Fraction of correct decisions; for multilabel every (row, label) cell counts once. */
export function accuracy(data: TaskPredictions): number {
  const { predictions: p, targets: t, rows, outputSize: width } = data;
  let correct = 0;
  switch (data.type) {
    case 'multiclass':
      for (let i = 0; i < rows; i++) if (argmaxRow(p, i * width, width) === t[i]) correct++;
      return correct / rows;
    case 'binary':
    case 'multilabel':
      for (let j = 0; j < p.length; j++) if (p[j]! >= THRESHOLD === t[j]! >= THRESHOLD) correct++;
      return correct / p.length;
    default:
      return notApplicable('accuracy', data.type);
  }
}

/** F1 = 2TP / (2TP + FP + FN); undefined (NaN) when the class never occurs on either side. */
function f1(tp: number, fp: number, fn: number): number {
  const denom = 2 * tp + fp + fn;
  return denom === 0 ? NaN : (2 * tp) / denom;
}

/** Mean of the defined entries; NaN when none is defined. */
function meanDefined(values: ArrayLike<number>): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    if (!Number.isNaN(value)) {
      sum += value;
      count++;
    }
  }
  return count === 0 ? NaN : sum / count;
}

/**
 * One-vs-rest F1 per class from (true class, predicted class) pairs, given as two arrays; classes absent on both sides
 * give NaN. Plain arrays, no callback per row: this runs once per epoch per task, mostly before V8 optimises it.
 */
function perClassF1(classes: number, truth: ArrayLike<number>, predicted: ArrayLike<number>): Float64Array {
  const tp = new Float64Array(classes);
  const fp = new Float64Array(classes);
  const fn = new Float64Array(classes);
  for (let i = 0; i < truth.length; i++) {
    const a = truth[i]!;
    const b = predicted[i]!;
    if (a === b) tp[a]!++;
    else {
      fp[b]!++;
      fn[a]!++;
    }
  }
  const out = new Float64Array(classes);
  for (let c = 0; c < classes; c++) out[c] = f1(tp[c]!, fp[c]!, fn[c]!);
  return out;
}

/**
 * Unweighted mean of per-class F1, so rare classes weigh as much as common ones. Classes with no true and no
 * predicted positives are left out instead of counted as 0 or 1 (their F1 is 0/0). Binary averages the F1 of the
 * positive and of the negative class; multilabel averages the positive-class F1 of each label, same exclusion rule.
 */
export function macroF1(data: TaskPredictions): number {
  const { predictions: p, targets: t, rows, outputSize: width } = data;
  switch (data.type) {
    case 'multiclass': {
      const predicted = new Int32Array(rows);
      for (let i = 0; i < rows; i++) predicted[i] = argmaxRow(p, i * width, width);
      return meanDefined(perClassF1(width, t.subarray(0, rows), predicted));
    }
    case 'binary': {
      const truth = new Int32Array(rows);
      const predicted = new Int32Array(rows);
      for (let i = 0; i < rows; i++) {
        truth[i] = t[i]! >= THRESHOLD ? 1 : 0;
        predicted[i] = p[i]! >= THRESHOLD ? 1 : 0;
      }
      return meanDefined(perClassF1(2, truth, predicted));
    }
    case 'multilabel': {
      const perLabel = new Float64Array(width);
      for (let k = 0; k < width; k++) {
        let tp = 0;
        let fp = 0;
        let fn = 0;
        for (let i = 0; i < rows; i++) {
          const truth = t[i * width + k]! >= THRESHOLD;
          const predicted = p[i * width + k]! >= THRESHOLD;
          if (truth && predicted) tp++;
          else if (predicted) fp++;
          else if (truth) fn++;
        }
        perLabel[k] = f1(tp, fp, fn);
      }
      return meanDefined(perLabel);
    }
    default:
      return notApplicable('macro-f1', data.type);
  }
}

/**
 * ROC AUC of one score column as the Mann–Whitney statistic: AUC = (R₊ − n₊(n₊+1)/2) / (n₊·n₋), where R₊ is
 * the sum of the ranks of the positives and tied scores share their average rank (a tied pair counts ½). This
 * equals the area under the ROC curve with ties drawn as diagonal segments, in O(n log n), with no thresholds.
 * NaN when only one class is present (the area is undefined) or when any score is NaN (ranks would be meaningless).
 */
export function rankAuc(scores: Float64Array, positive: Uint8Array): number {
  const n = scores.length;
  let nPos = 0;
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(scores[i])) return NaN;
    nPos += positive[i]!;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positiveRankSum = 0;
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && scores[order[end]!] === scores[order[start]!]) end++;
    // Positions start..end-1 hold 1-based ranks start+1..end; each gets their mean.
    const averageRank = (start + 1 + end) / 2;
    for (let j = start; j < end; j++) if (positive[order[j]!] === 1) positiveRankSum += averageRank;
    start = end;
  }
  return (positiveRankSum - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

function columnAuc(p: Float32Array, t: Float32Array, rows: number, width: number, k: number): number {
  const scores = new Float64Array(rows);
  const positive = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) {
    scores[i] = p[i * width + k]!;
    positive[i] = t[i * width + k]! >= THRESHOLD ? 1 : 0;
  }
  return rankAuc(scores, positive);
}

/** ROC AUC; multilabel averages over the labels whose AUC is defined (both classes present). */
export function auc(data: TaskPredictions): number {
  const { predictions: p, targets: t, rows, outputSize: width } = data;
  switch (data.type) {
    case 'binary':
      return columnAuc(p, t, rows, 1, 0);
    case 'multilabel': {
      const perLabel = new Float64Array(width);
      for (let k = 0; k < width; k++) perLabel[k] = columnAuc(p, t, rows, width, k);
      return meanDefined(perLabel);
    }
    default:
      return notApplicable('auc', data.type);
  }
}

function clip(p: number): number {
  return Math.min(Math.max(p, LOG_LOSS_EPSILON), 1 - LOG_LOSS_EPSILON);
}

/**
 * Cross-entropy in nats. Multiclass: mean over rows of −ln p[target] (rows are not renormalised: the heads end in a
 * softmax). Binary/multilabel: mean over all cells of −(t·ln p + (1−t)·ln(1−p)). Probabilities are clipped to
 * [1e-7, 1 − 1e-7] first, so one confident mistake costs at most ≈16.1 instead of making the mean infinite.
 */
export function logLoss(data: TaskPredictions): number {
  const { predictions: p, targets: t, rows, outputSize: width } = data;
  let sum = 0;
  switch (data.type) {
    case 'multiclass':
      for (let i = 0; i < rows; i++) sum -= Math.log(clip(p[i * width + t[i]!]!));
      return sum / rows;
    case 'binary':
    case 'multilabel':
      for (let j = 0; j < p.length; j++) {
        const q = clip(p[j]!);
        const truth = t[j]!;
        sum -= truth * Math.log(q) + (1 - truth) * Math.log(1 - q);
      }
      return sum / p.length;
    default:
      return notApplicable('log-loss', data.type);
  }
}

export const classificationMetrics: readonly MetricDefinition[] = [
  {
    name: 'accuracy',
    higherIsBetter: true,
    appliesTo: ['multiclass', 'binary', 'multilabel'],
    description: 'fraction correct (argmax for multiclass, p >= 0.5 otherwise; multilabel: over all labels)',
    compute: accuracy,
  },
  {
    name: 'macro-f1',
    higherIsBetter: true,
    appliesTo: ['multiclass', 'binary', 'multilabel'],
    description: 'unweighted mean of per-class (per-label) F1, skipping classes absent from targets and predictions',
    compute: macroF1,
  },
  {
    name: 'auc',
    higherIsBetter: true,
    appliesTo: ['binary', 'multilabel'],
    description: 'ROC AUC (Mann-Whitney, ties share ranks); multilabel: mean over labels',
    compute: auc,
  },
  {
    name: 'log-loss',
    higherIsBetter: false,
    appliesTo: ['multiclass', 'binary', 'multilabel'],
    description: 'mean cross-entropy in nats, probabilities clipped to [1e-7, 1-1e-7]',
    compute: logLoss,
  },
];
