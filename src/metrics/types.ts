/**
 * How a task's predictions and targets are laid out for the metrics: the layouts of the four built-in task kinds. A
 * task kind names the one its predictions follow (`TaskKind.metricLayout`), so a new kind reuses these metrics.
 */
export type PredictionLayout = 'multiclass' | 'binary' | 'regression' | 'multilabel';

/**
 * Predictions and targets of one task on one split, as plain arrays (read once from the backend per evaluation).
 * - multiclass: `predictions` N×C class probabilities (row-major), `targets` N class indices.
 * - binary: `predictions` N probabilities of the positive class, `targets` N values in {0, 1}.
 * - regression: `predictions` N×K values, `targets` N×K values (K target columns, in original units).
 * - multilabel: `predictions` N×K probabilities, `targets` N×K values in {0, 1}.
 */
export interface TaskPredictions {
  type: PredictionLayout;
  rows: number;
  /** C for multiclass, 1 for binary, K for regression and multilabel. */
  outputSize: number;
  predictions: Float32Array;
  targets: Float32Array;
}

export interface MetricDefinition {
  /** Name used in configs and in metric keys `<task>/<name>`. */
  name: string;
  higherIsBetter: boolean;
  appliesTo: readonly PredictionLayout[];
  /** One line for --help and the README. */
  description: string;
  compute(data: TaskPredictions): number;
}

/** Metric values keyed `<task>/<metric>`, `<task>/loss`, `mean/<metric>` and `mean/loss`. */
export type MetricValues = Record<string, number>;
