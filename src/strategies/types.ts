import type { tf } from '../tf.js';
import type { ConfigProblem } from '../config/errors.js';
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

/**
 * Facts about one training batch, for strategies that adapt per batch (accuracy weighting with `source: batch`):
 * the task metrics of the batch, measured in inference mode with the parameters the step starts from.
 */
export interface BatchSummary {
  epoch: number;
  step: number;
  rows: number;
  /** Metrics keyed `<task>/<metric>`, as in {@link EpochSummary.validation}. */
  metrics: Record<string, number>;
}

/** What every strategy offers the trainer, whatever it needs. */
interface StrategyBase {
  readonly name: string;
  /** Variables the strategy itself learns (e.g. uncertainty log-variances), optimised with the model. */
  variables?(): tf.Variable[];
  /** The weight each task got in the last step or epoch, for the run log. */
  currentWeights(): number[];
  onEpochEnd?(summary: EpochSummary): void;
  /**
   * Called before each step with that batch's task metrics. Only strategies that have it cost the trainer the
   * extra inference pass over the batch (src/train/batch-metrics.ts).
   */
  onBatchMetrics?(summary: BatchSummary): void;
  /** JSON state saved with checkpoints, so a resumed run continues exactly. */
  state(): unknown;
  restore(state: unknown): void;
  dispose?(): void;
  /**
   * Present when the strategy learns from the task losses on the same batch after the optimizer step (FAMO's
   * Δ = log L(θ_t) − log L(θ_{t+1})): the trainer runs one more forward pass (training mode, the same step, so the
   * same dropout masks) after applying the update and hands over the [T] losses, which it disposes after the call.
   */
  learnFromLossesAfterStep?(losses: tf.Tensor1D): void;
}

/** Loss weighting: one scalar to differentiate, from the per-task losses. */
export interface LossWeightingStrategy extends StrategyBase {
  readonly needs: 'losses';
  /** The scalar to differentiate (called inside the gradient tape, so learned weights may take part in it). */
  combineLosses(losses: tf.Scalar[], context: StrategyContext): tf.Scalar;
  /**
   * Present when the strategy learns from the gradient norms of the task losses with respect to the model's last
   * shared layer W (`MultiTaskModel.lastSharedLayer`; GradNorm): after the step's gradients, the loss step computes
   * n_i = ‖∇_W L_i‖ on the same batch at the same parameters (T more forward passes, each with a backward pass
   * through the heads and W only) and hands them over with the step's task losses L_i. Both are [T] tensors that
   * the caller disposes after the call.
   */
  learnFromLastSharedLayerNorms?(norms: tf.Tensor1D, losses: tf.Tensor1D): void;
}

/**
 * Per-task scales of the task gradients, from a scalarisation F(L_1, …, L_T; φ) of the task losses with learned
 * parameters φ (the strategy's `variables`): c_i = ∂F/∂L_i. Task i's gradients (shared and its own parameters) are
 * those of c_i·L_i, the gradients of F's linearisation, before the combiner sees them; φ gets ∂F/∂φ. This is how a
 * gradient strategy trains learned loss scales (full IMTL: F = Σ e^{s_i} L_i − s_i) or takes its weights from a
 * loss-weighting method (weighted-average with `weights_from`).
 */
export interface TaskLossScaling {
  /**
   * Called once per step with the batch's task losses (values): the scales c (length T) and ∂F/∂φ keyed by variable
   * name (tensors the caller owns and disposes).
   */
  scale(
    losses: readonly number[],
    context: StrategyContext,
  ): { scales: number[]; gradients: Record<string, tf.Tensor> };
}

/** Gradient manipulation: the combiner turns the T task gradients (on the target it needs) into one update. */
export interface GradientStrategy extends StrategyBase {
  readonly needs: 'parameter-gradients' | 'representation-gradients';
  readonly combiner: GradientCombiner;
  /** Scales of the task gradients before combining (see {@link TaskLossScaling}); absent: every scale is 1. */
  readonly lossScaling?: TaskLossScaling;
}

/** A training strategy, told apart by what it needs; the trainer's step dispatches on `needs`. */
export type Strategy = LossWeightingStrategy | GradientStrategy;

/** What a model offers that decides what a strategy needs. */
export interface ModelCapabilities {
  /** Whether the model exposes encode/decode around one shared representation. */
  hasSharedRepresentation: boolean;
}

export interface StrategyCreateContext {
  tasks: readonly TaskConfig[];
  seed: number;
  /** Whether the model exposes encode/decode; when not said, a gradient method on `auto` assumes it does. */
  hasSharedRepresentation?: boolean;
}

/**
 * A strategy as the registry holds it. Everything but `create` is pure (no tensors, no state): validation asks
 * `needs` and `checkOptions`, the trainer `create`s one strategy per run.
 */
export interface StrategyDefinition<S extends Strategy = Strategy> {
  name: string;
  family: 'loss-weighting' | 'gradient-manipulation' | 'optimizer';
  paper: string;
  /** Backward passes per step through the shared part, for the README's cost column ("1", "T"). */
  cost: string;
  /** JSON Schema `properties` of its options (besides `name`), each with a default. */
  optionsSchema: Record<string, Record<string, unknown>>;
  /**
   * Whether it reads the gradient norms of the model's last shared layer (GradNorm): validation then refuses an
   * architecture (or trunk) without one, with the architecture's reason.
   */
  usesLastSharedLayer?: boolean;
  /** What a strategy with these (validated, defaulted) options will need from the trainer on such a model. */
  needs(options: Record<string, unknown>, model: ModelCapabilities): S['needs'];
  /**
   * Checks of the options that the schema cannot express (task names, counts per task, metric directions), for
   * `mtl validate` (paths from the config root, e.g. `['strategy', 'weights', 'x']`); `create` throws a UsageError
   * for the same mistakes when called without validation. `optimizer` is `training.optimizer`, for the methods that
   * refuse some (MTAdam).
   */
  checkOptions?(
    options: Record<string, unknown>,
    context: { tasks: readonly TaskConfig[]; optimizer?: string },
  ): ConfigProblem[];
  /**
   * Choices that are allowed but not the paper's (a gradient target the paper does not define the method on), for
   * `mtl validate` and `mtl train` to print and meta.json to keep (also a run too short for the method to start).
   * Pure; absent or [] when there is nothing to say.
   */
  notes?(options: Record<string, unknown>, model: ModelCapabilities, training: { epochs: number }): ConfigProblem[];
  /**
   * Present on the methods that read `tasks[].weight` (static weighting): why this task's weight goes unread with
   * these options (e.g. the strategy's own `weights` names the task), or undefined when it is read. Validation
   * refuses a task weight given under a method without it, or one it says goes unread.
   */
  taskWeightIgnored?(options: Record<string, unknown>, task: string): string | undefined;
  create(options: Record<string, unknown>, context: StrategyCreateContext): S;
}

/** The definition of a loss-weighting method (a file in src/strategies/weighting/). */
export type LossWeightingDefinition = StrategyDefinition<LossWeightingStrategy>;
