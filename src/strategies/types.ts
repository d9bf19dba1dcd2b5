import type * as tf from '@tensorflow/tfjs';
import type { TaskConfig } from '../config/types.js';
import type { Rng } from '../util/rng.js';
import type { GradientCombiner } from './gradient/types.js';

/**
 * What a strategy needs from the trainer each step.
 * - `losses`: only the per-task loss tensors; it returns one scalar to differentiate (loss weighting).
 * - `parameter-gradients`: per-task gradients of the shared parameters (T backward passes through the trunk).
 * - `representation-gradients`: per-task gradients of the shared representation (heads only, then one backward
 *   through the trunk), the cheaper option where a method allows it.
 */
export type StrategyNeed = 'losses' | 'parameter-gradients' | 'representation-gradients';

export interface StrategyContext {
  tasks: readonly TaskConfig[];
  /** 0-based epoch and global step. */
  epoch: number;
  step: number;
  rng: Rng;
}

/** Per-epoch facts a strategy may adapt to (e.g. DWA's loss history, accuracy-based weights). */
export interface EpochSummary {
  epoch: number;
  /** Mean training loss per task, in task order. */
  trainLosses: number[];
  /** Validation metrics keyed `<task>/<metric>`. */
  validation: Record<string, number>;
}

export interface Strategy {
  readonly name: string;
  readonly needs: StrategyNeed;
  /**
   * Loss-weighting strategies: the scalar to differentiate, built from the per-task losses (called inside the
   * gradient tape, so learned weights may take part in it).
   */
  combineLosses?(losses: tf.Scalar[], context: StrategyContext): tf.Scalar;
  /** Gradient strategies: the combiner that turns T task gradients into one update. */
  combiner?: GradientCombiner;
  /** Variables the strategy itself learns (e.g. uncertainty log-variances), optimised with the model. */
  variables?(): tf.Variable[];
  /** The weight each task got in the last step or epoch, for the run log. */
  currentWeights(): number[];
  onEpochEnd?(summary: EpochSummary): void;
  /** JSON state saved with checkpoints, so a resumed run continues exactly. */
  state(): unknown;
  restore(state: unknown): void;
  dispose?(): void;
}

export interface StrategyDefinition {
  name: string;
  family: 'loss-weighting' | 'gradient-manipulation' | 'optimizer';
  paper: string;
  /** Backward passes per step through the shared part, for the README's cost column ("1", "T"). */
  cost: string;
  /** JSON Schema `properties` of its options (besides `name`), each with a default. */
  optionsSchema: Record<string, Record<string, unknown>>;
  create(
    options: Record<string, unknown>,
    context: { tasks: readonly TaskConfig[]; seed: number; /** Whether the model exposes encode/decode. */ hasSharedRepresentation?: boolean },
  ): Strategy;
}
