/**
 * The pure numeric core of the gradient-manipulation strategies. A combiner turns T per-task gradient vectors (the
 * shared parameters flattened, or the shared representation flattened, each of length P) into one update
 * direction. It knows nothing about TF.js: the trainer reads the gradients into Float32Arrays, calls `combine` once
 * per step and applies `combined` as the gradient of the shared part.
 */
export interface CombineInput {
  /** T vectors of length P, in task order. Never modified. */
  grads: Float32Array[];
  /** Current per-task loss values, for the methods that use them (e.g. MGDA's `loss` normalisation). */
  losses?: number[];
  /**
   * Sizes of the consecutive parameter tensors that make up the P coordinates (shared parameters in model order),
   * for methods that act per layer (MTAdam). Absent for representation gradients, which are one block.
   */
  segments?: number[];
}

export interface CombineResult {
  /** Length P. */
  combined: Float32Array;
  /**
   * Effective per-task weights when the method has them, so that combined = Σ w_i g_i (up to float32 rounding).
   * Absent for methods that act per coordinate (GradDrop).
   */
  weights?: number[];
}

export interface GradientCombiner {
  combine(input: CombineInput): CombineResult;
  /** JSON-serialisable, saved with checkpoints so a resumed run draws the same random orders and keeps its EMAs. */
  state(): unknown;
  restore(state: unknown): void;
}

export interface CombinerDefinition {
  /** Name used in configs (`strategy.name`). */
  name: string;
  /** Citation of the paper whose method is implemented. */
  paper: string;
  /** JSON Schema object for the options, each property with a `default`, `additionalProperties: false`. */
  optionsSchema: Record<string, unknown>;
  /**
   * Checks of the options that depend on the task count (lists with one entry per task), for validation: throws the
   * OptionError that `create` would throw (src/util/options.ts). Pure; absent when the schema says it all.
   */
  checkOptions?(options: Record<string, unknown>, taskCount: number): void;
  /** `options` are already validated and defaulted; `seed` drives every random choice of the method. */
  create(options: Record<string, unknown>, seed: number, taskCount: number): GradientCombiner;
}
