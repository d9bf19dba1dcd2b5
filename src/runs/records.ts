import type { MetricValues } from '../metrics/types.js';

/** What an epoch's record and its line of epochs.jsonl both hold: the epoch's facts other than its metrics. */
export interface EpochFacts {
  epoch: number;
  learningRate: number;
  /** Task weights the strategy used in this epoch's last step. */
  taskWeights: Record<string, number>;
  /**
   * Mean over the epoch's steps of the pairwise cosine similarity of the task gradients, keyed `a|b`, for
   * gradient strategies (on the target they use: shared parameters or representation).
   */
  gradientCosines?: Record<string, number>;
  /** The fraction of the epoch's steps whose gradient cosine was below 0 (the gradients conflict), keyed `a|b`. */
  gradientConflicts?: Record<string, number>;
  /**
   * How many steps those two are over: every step for a gradient strategy, the measured ones (`affinitySteps`) where
   * affinity's task gradients stand in for a strategy that takes none. Absent from logs written before it was kept.
   */
  gradientSteps?: number;
  /**
   * Inter-task affinity Z_{a→b} (train/affinity.ts) averaged over the epoch's measured steps, keyed `a>b` (the whole
   * T×T matrix, `a>a` included), when the config sets `analysis.affinity`; `affinitySteps`: the steps measured.
   */
  taskAffinity?: Record<string, number>;
  affinitySteps?: number;
  /**
   * Per adversary (an adversarial task, the domain discriminator, …; issue #18), on the validation split: its loss,
   * its accuracy and `chance`, the majority-class rate of its targets on the rows it was measured on (0.5 for a GAN
   * discriminator). An adversary that removes its target's information from the shared representation falls to chance.
   */
  adversaries?: Record<string, { loss: number; accuracy: number; chance: number }>;
  /** The monitored value (early stopping, best checkpoint) and whether it improved. */
  monitor: { name: string; value: number; improved: boolean };
  /** In the record as measured; rounded to the millisecond in epochs.jsonl. */
  seconds: number;
  samplesPerSecond: number;
}

/**
 * What the trainer reports after each epoch: the progress display shows it and the run writer logs it
 * (metrics.jsonl, metrics.csv, epochs.jsonl). It lives here so the run files do not depend on the trainer.
 */
export interface EpochRecord extends EpochFacts {
  /** Mean training batch loss per task (the strategy's inputs, before weighting). */
  trainLoss: Record<string, number>;
  /** Validation metrics (empty when there is no validation split). */
  val: MetricValues;
}

export type MetricSplit = 'train' | 'val' | 'test';

/** One line of metrics.jsonl: a split's metrics at an epoch (train: the losses, keyed `<task>/loss`, `mean/loss`). */
export interface MetricRow {
  epoch: number;
  split: MetricSplit;
  metrics: MetricValues;
}

/** One line of epochs.jsonl: an epoch's facts other than metrics. */
export type EpochLogEntry = EpochFacts;
