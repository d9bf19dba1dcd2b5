import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { deltaM, meanOver, relativeImprovement } from '../src/metrics/aggregate.js';
import { accuracy, auc, logLoss, macroF1, rankAuc } from '../src/metrics/classification.js';
import { computeMetrics, getMetric, metricsFor } from '../src/metrics/registry.js';
import { mae, mse, r2, rmse } from '../src/metrics/regression.js';
import type { PredictionLayout, TaskPredictions } from '../src/metrics/types.js';
import { editDistance, suggest } from '../src/util/suggest.js';

function task(type: PredictionLayout, outputSize: number, predictions: number[], targets: number[]): TaskPredictions {
  const rows = type === 'multiclass' ? targets.length : targets.length / outputSize;
  return {
    type,
    rows,
    outputSize,
    predictions: Float32Array.from(predictions),
    targets: Float32Array.from(targets),
  };
}

/** Rows of one-hot-ish probabilities: 0.8 on the predicted class, the rest shared. */
function confident(predicted: number[], classes: number): number[] {
  const rest = 0.2 / (classes - 1);
  return predicted.flatMap((c) => Array.from({ length: classes }, (_, k) => (k === c ? 0.8 : rest)));
}

describe('accuracy', () => {
  it('multiclass uses argmax, ties going to the lowest index', () => {
    // argmax per row: 0, 1, 2, 0 (row 3 ties 0.45/0.45 → 0); targets 0, 1, 1, 0 → rows 0, 1, 3 right → 3/4
    const d = task('multiclass', 3, [0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.3, 0.3, 0.4, 0.45, 0.45, 0.1], [0, 1, 1, 0]);
    expect(accuracy(d)).toBe(0.75);
  });
  it('binary thresholds at 0.5 inclusive', () => {
    // decisions 1, 0, 1, 0 vs targets 1, 1, 0, 0 → right, wrong, wrong, right → 2/4
    expect(accuracy(task('binary', 1, [0.5, 0.49, 0.9, 0.1], [1, 1, 0, 0]))).toBe(0.5);
  });
  it('multilabel averages over every cell', () => {
    // decisions 1 0 1 / 0 1 0 vs targets 1 0 0 / 0 1 1 → cells right: y y n / y y n → 4/6
    const d = task('multilabel', 3, [0.9, 0.2, 0.6, 0.4, 0.7, 0.1], [1, 0, 0, 0, 1, 1]);
    expect(accuracy(d)).toBeCloseTo(4 / 6, 12);
  });
});

describe('macro-f1', () => {
  // targets 0 0 1 1 2 2, predicted 0 1 1 1 2 0
  // class 0: TP 1, FP 1 (row 5), FN 1 (row 1) → 2/(2+1+1) = 1/2
  // class 1: TP 2, FP 1 (row 1), FN 0         → 4/(4+1)   = 4/5
  // class 2: TP 1, FP 0, FN 1 (row 5)         → 2/(2+1)   = 2/3
  // mean = (1/2 + 4/5 + 2/3)/3 = (15 + 24 + 20)/90 = 59/90 ≈ 0.6556
  const targets = [0, 0, 1, 1, 2, 2];
  const predicted = [0, 1, 1, 1, 2, 0];
  it('multiclass: unweighted mean over classes', () => {
    expect(macroF1(task('multiclass', 3, confident(predicted, 3), targets))).toBeCloseTo(59 / 90, 12);
  });
  it('multiclass: a class absent from targets and predictions is skipped, not counted as 0', () => {
    // class 3 has TP = FP = FN = 0 → excluded; still 59/90 rather than (59/30)/4
    expect(macroF1(task('multiclass', 4, confident(predicted, 4), targets))).toBeCloseTo(59 / 90, 12);
  });
  it('binary: mean of positive- and negative-class F1', () => {
    // decisions 1 1 0 1 0 vs targets 1 1 1 0 0
    // positive: TP 2, FP 1, FN 1 → 4/6 = 2/3; negative: TP 1, FP 1, FN 1 → 2/4 = 1/2; mean = 7/12
    expect(macroF1(task('binary', 1, [0.9, 0.8, 0.3, 0.6, 0.1], [1, 1, 1, 0, 0]))).toBeCloseTo(7 / 12, 12);
  });
  it('binary: with no positives anywhere only the negative class counts', () => {
    // positive: TP = FP = FN = 0 → excluded; negative: TP 3 → F1 1
    expect(macroF1(task('binary', 1, [0.1, 0.2, 0.3], [0, 0, 0]))).toBe(1);
  });
  it('multilabel: mean over labels, skipping labels that never fire', () => {
    // label 0: targets 1 0 1, decisions 1 1 0 → TP 1, FP 1, FN 1 → 1/2
    // label 1: targets 0 0 0, decisions 0 0 0 → excluded → mean = 1/2
    const d = task('multilabel', 2, [0.9, 0.1, 0.6, 0.2, 0.2, 0.3], [1, 0, 0, 0, 1, 0]);
    expect(macroF1(d)).toBe(0.5);
  });
});

describe('auc', () => {
  it('is the Mann–Whitney statistic', () => {
    // sorted: 0.1(neg) r1, 0.35(pos) r2, 0.4(neg) r3, 0.8(pos) r4 → R+ = 6; (6 − 2·3/2)/(2·2) = 3/4
    expect(auc(task('binary', 1, [0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]))).toBe(0.75);
  });
  it('gives tied scores their average rank', () => {
    // sorted: 0.2(neg) r1, 0.5(pos) & 0.5(neg) share r2.5, 0.9(pos) r4 → R+ = 6.5; (6.5 − 3)/4 = 0.875
    // pairwise check: (0.5 vs 0.5) ½ + (0.5 vs 0.2) 1 + (0.9 vs 0.5) 1 + (0.9 vs 0.2) 1 = 3.5 of 4
    expect(auc(task('binary', 1, [0.5, 0.5, 0.2, 0.9], [1, 0, 0, 1]))).toBe(0.875);
  });
  it('is 1 for a perfect ranking and 0 for a reversed one', () => {
    // every positive outranks every negative → R+ = 3+4 = 7; (7 − 3)/4 = 1; reversed: R+ = 1+2 = 3 → 0
    expect(auc(task('binary', 1, [0.1, 0.2, 0.7, 0.9], [0, 0, 1, 1]))).toBe(1);
    expect(auc(task('binary', 1, [0.9, 0.7, 0.2, 0.1], [0, 0, 1, 1]))).toBe(0);
  });
  it('is NaN when only one class is present or a score is NaN', () => {
    expect(auc(task('binary', 1, [0.1, 0.9], [1, 1]))).toBeNaN();
    expect(rankAuc(Float64Array.from([0.1, NaN]), Uint8Array.from([0, 1]))).toBeNaN();
  });
  it('multilabel averages the labels where it is defined', () => {
    // label 0: the 0.75 case above; label 1: all scores tied → every rank 2.5, R+ = 5, (5 − 3)/4 = 1/2;
    // label 2: targets all 0 → NaN, skipped → (0.75 + 0.5)/2 = 0.625
    const scores = [0.1, 0.2, 0.5, 0.4, 0.2, 0.5, 0.35, 0.2, 0.5, 0.8, 0.2, 0.5];
    const labels = [0, 1, 0, 0, 0, 0, 1, 1, 0, 1, 0, 0];
    expect(auc(task('multilabel', 3, scores, labels))).toBe(0.625);
  });
});

describe('log-loss', () => {
  it('multiclass: mean −ln p[target]', () => {
    // row 0: −ln 0.7 = 0.356675; row 1: −ln 0.3 = 1.203973; mean = 0.780324
    const d = task('multiclass', 3, [0.7, 0.2, 0.1, 0.2, 0.5, 0.3], [0, 2]);
    expect(logLoss(d)).toBeCloseTo(0.780324, 6);
  });
  it('binary: mean binary cross-entropy', () => {
    // −ln 0.8 = 0.223144 (t=1); −ln(1 − 0.3) = 0.356675 (t=0); mean = 0.289909
    expect(logLoss(task('binary', 1, [0.8, 0.3], [1, 0]))).toBeCloseTo(0.289909, 6);
  });
  it('clips probabilities to [1e-7, 1 − 1e-7]', () => {
    // p=0, t=1 → −ln 1e-7 = 7·ln 10 = 16.118096; p=1, t=1 → −ln(1 − 1e-7) ≈ 1e-7; mean ≈ 8.059048
    const d = task('binary', 1, [0, 1], [1, 1]);
    expect(logLoss(d)).toBeCloseTo(8.059048, 6);
    // multiclass with p[target] = 0 → −ln 1e-7 = 16.118096, finite
    expect(logLoss(task('multiclass', 2, [1, 0], [1]))).toBeCloseTo(16.118096, 6);
  });
  it('multilabel: mean over every cell', () => {
    // cells: −ln 0.9 = 0.105361, −ln(1 − 0.2) = 0.223144, −ln 0.5 = 0.693147, −ln(1 − 0.5) = 0.693147
    // mean = 1.7147984/4 = 0.4286996
    expect(logLoss(task('multilabel', 2, [0.9, 0.2, 0.5, 0.5], [1, 0, 1, 0]))).toBeCloseTo(0.4286996, 6);
  });
});

describe('regression', () => {
  // targets [[1,10],[2,20],[3,30]], predictions [[1,12],[2,18],[4,30]] → errors 0, 2, 0, −2, 1, 0
  const d = task('regression', 2, [1, 12, 2, 18, 4, 30], [1, 10, 2, 20, 3, 30]);
  it('mse, mae and rmse pool all N×K cells', () => {
    expect(mse(d)).toBe(1.5); // (0 + 4 + 0 + 4 + 1 + 0)/6 = 9/6
    expect(mae(d)).toBeCloseTo(5 / 6, 12); // (0 + 2 + 0 + 2 + 1 + 0)/6
    expect(rmse(d)).toBeCloseTo(Math.sqrt(1.5), 12); // √1.5 ≈ 1.224745
  });
  it('r2 averages per-column coefficients of determination', () => {
    // col 0: ȳ = 2, SS_tot = 1 + 0 + 1 = 2, SS_res = 0 + 0 + 1 = 1 → 1 − 1/2 = 0.5
    // col 1: ȳ = 20, SS_tot = 100 + 0 + 100 = 200, SS_res = 4 + 4 + 0 = 8 → 1 − 8/200 = 0.96
    // mean = (0.5 + 0.96)/2 = 0.73
    expect(r2(d)).toBeCloseTo(0.73, 12);
  });
  it('r2 is 1 for a perfect predictor and 0 for the mean predictor', () => {
    // SS_res = 0 → 1
    expect(r2(task('regression', 1, [1, 2, 3, 6], [1, 2, 3, 6]))).toBe(1);
    // ȳ = (1 + 2 + 3 + 6)/4 = 3; predicting 3 everywhere makes SS_res = SS_tot = 4 + 1 + 0 + 9 = 14 → 0
    expect(r2(task('regression', 1, [3, 3, 3, 3], [1, 2, 3, 6]))).toBe(0);
  });
  it('r2 skips constant target columns and is NaN when all are constant', () => {
    // col 1 is constant (SS_tot = 0) → skipped; col 0 as above → 0.5
    const withConstant = task('regression', 2, [1, 5, 2, 4, 4, 6], [1, 5, 2, 5, 3, 5]);
    expect(r2(withConstant)).toBe(0.5);
    expect(r2(task('regression', 1, [1, 2], [7, 7]))).toBeNaN();
  });
  it('gives NaN, not 0, for an empty split', () => {
    expect(mse(task('regression', 1, [], []))).toBeNaN();
  });
});

describe('registry', () => {
  it('suggests the closest name for a typo', () => {
    expect(() => getMetric('acuracy')).toThrow(UsageError);
    expect(() => getMetric('acuracy')).toThrow("Unknown metric 'acuracy'. Did you mean 'accuracy'?");
    expect(() => getMetric('perplexity')).toThrow(/^Unknown metric 'perplexity'\. Known metrics: accuracy, /);
  });
  it('lists the metrics that apply to each prediction layout (defaults per task kind: task-kinds.test.ts)', () => {
    expect(metricsFor('regression')).toEqual(['mse', 'mae', 'rmse', 'r2']);
    expect(metricsFor('multiclass')).toEqual(['accuracy', 'macro-f1', 'log-loss']);
  });
  it('computes named metrics and rejects ones that do not fit the task', () => {
    const d = task('binary', 1, [0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]);
    // decisions 0 0 0 1 vs targets 0 0 1 1 → 3/4; AUC as above
    expect(computeMetrics(['accuracy', 'auc'], d)).toEqual({ accuracy: 0.75, auc: 0.75 });
    expect(() => computeMetrics(['r2'], d)).toThrow(/'r2' does not apply to binary tasks/);
  });
  it('treats mismatched shapes and bad class indices as bugs', () => {
    const bad = { ...task('regression', 2, [1, 2, 3, 4], [1, 2, 3, 4]), rows: 3 };
    expect(() => computeMetrics(['mse'], bad)).toThrow(/expected 6 and 6/);
    expect(() => computeMetrics(['accuracy'], task('multiclass', 2, [0.5, 0.5], [2]))).toThrow(/class index/);
  });
});

describe('suggest', () => {
  it('counts an adjacent transposition as one edit', () => {
    expect(editDistance('ca', 'ac')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });
  it('returns the closest candidate within max(2, len/3)', () => {
    expect(suggest('acucracy', ['auc', 'accuracy'])).toBe('accuracy');
    expect(suggest('logloss', ['log-loss', 'mse'])).toBe('log-loss');
    expect(suggest('MAE', ['mse', 'mae'])).toBe('mae');
    expect(suggest('xyz', ['accuracy', 'macro-f1'])).toBeUndefined();
  });
});

describe('aggregate', () => {
  it('relativeImprovement is positive when better, for either direction', () => {
    expect(relativeImprovement(0.9, 0.8, true)).toBeCloseTo(0.125, 12); // (0.9 − 0.8)/0.8
    expect(relativeImprovement(0.4, 0.5, false)).toBeCloseTo(0.2, 12); // −(0.4 − 0.5)/0.5: loss fell, better
    expect(relativeImprovement(0.6, 0.5, false)).toBeCloseTo(-0.2, 12); // −(0.6 − 0.5)/0.5: loss rose, worse
    expect(relativeImprovement(-0.1, -0.2, true)).toBeCloseTo(0.5, 12); // r2 −0.2 → −0.1: (0.1)/|−0.2|
    expect(relativeImprovement(1, 0, true)).toBeNaN();
  });
  it('deltaM is the mean signed relative improvement, as a fraction', () => {
    // accuracy 0.8 → 0.9: +0.125; mse 0.5 → 0.4 (lower better): +0.2; mean = 0.1625 (i.e. +16.25 %)
    const entries = [
      { task: 'a', metric: 'accuracy', value: 0.9, baseline: 0.8, higherIsBetter: true },
      { task: 'b', metric: 'mse', value: 0.4, baseline: 0.5, higherIsBetter: false },
    ] as const;
    expect(deltaM(entries)).toBeCloseTo(0.1625, 12);
    // mse 0.5 → 0.6 instead: −0.2 → (0.125 − 0.2)/2 = −0.0375
    expect(
      deltaM([entries[0], { task: 'b', metric: 'mse', value: 0.6, baseline: 0.5, higherIsBetter: false }]),
    ).toBeCloseTo(-0.0375, 12);
    expect(deltaM([])).toBeNaN();
  });
  it('meanOver ignores NaN', () => {
    expect(meanOver([1, NaN, 3])).toBe(2); // (1 + 3)/2
    expect(meanOver([NaN])).toBeNaN();
    expect(meanOver([])).toBeNaN();
  });
});
