/**
 * The pure numeric core of the gradient-manipulation strategies. A combiner turns T per-task gradient vectors (the
 * shared parameters flattened, or the shared representation flattened, each of length P) into one update
 * direction. It knows nothing about TF.js: the trainer reads the gradients into Float32Arrays, calls `combine` once
 * per step and applies `combined` as the gradient of the shared part.
 */
export interface CombineInput {
  /**
   * T vectors of length P, in task order. Never modified. Valid during this call only: on parameter gradients the
   * trainer writes them into memory it reuses for the next step's (train/step.ts `stepVectors`), and from then on these
   * arrays are empty, so a combiner that keeps a gradient past the call copies it (`Float32Array.from`).
   */
  grads: Float32Array[];
  /** Current per-task loss values, for the methods that use them (e.g. MGDA's `loss` normalisation). */
  losses?: number[];
  /**
   * Sizes of the consecutive parameter tensors that make up the P coordinates (shared parameters in model order),
   * for methods that act per layer (MTAdam). Absent for representation gradients, which are one block.
   */
  segments?: number[];
  /**
   * The shared activation whose gradients `grads` are (representation gradients only), in the same layout as each
   * gradient: `rows` rows (the batch) of P / rows units, row-major. GradDrop reads its sign per coordinate.
   */
  activations?: Float32Array;
  /** The number of batch rows in `activations` and in each representation gradient. */
  rows?: number;
  /**
   * The task gradients on further independent samples, for the methods whose paper needs independent stochastic
   * gradients (SDMGrad's and MoDo's double sampling): `extraSamples[k][i]` is task i's gradient on the k-th other
   * batch the trainer drew for this step (`grads` is on the step's own batch). Present only when the combiner asks
   * for more than one sample ({@link GradientCombiner.independentSamples}). Valid during this call only, as `grads`.
   */
  extraSamples?: Float32Array[][];
  /**
   * Present when some task has no labelled row in the step's batch (data.missing_targets: mask): per task, whether
   * it has one. Such a task's gradient is 0 and its loss 0. A strategy built by `gradientStrategy` combines the
   * labelled tasks only (strategies/subset-combiner.ts); a combiner called directly sees the zeros.
   */
  labelled?: boolean[];
}

export interface CombineResult {
  /**
   * Length P. Like `grads`, valid during the step only: a combination of the step's gradients may live in the memory
   * the next step's gradients reuse (numerics/vectors.ts `linearCombination`); the trainer copies it at once.
   */
  combined: Float32Array;
  /**
   * Effective per-task weights when the method has them, so that combined = Σ w_i g_i (up to float32 rounding).
   * Absent for methods that act per coordinate (GradDrop).
   */
  weights?: number[];
  /**
   * Per task, the factor its own (task-specific) parameters' gradient is multiplied by, as the method's scalar
   * objective would give them (Σ w_i L_i gives task i's head w_i ∇L_i; DB-MTL's log losses give ∇L_i / L_i).
   * Absent: 1 for every task.
   */
  taskScales?: number[];
}

export interface GradientCombiner {
  /**
   * How many independent samples of the task gradients one step needs (absent: 1). With k > 1 the trainer passes
   * the k − 1 batches after the step's own in the epoch's shuffled order, and the parameter-gradient step gives the
   * task gradients on them as `extraSamples` (T more backward passes each); the update is applied as usual and task
   * parameters get their gradient on the step's own batch.
   */
  readonly independentSamples?: number;
  combine(input: CombineInput): CombineResult;
  /** JSON-serialisable, saved with checkpoints so a resumed run draws the same random orders and keeps its EMAs. */
  state(): unknown;
  restore(state: unknown): void;
}

/**
 * Which gradients the paper defines a method on, which `grad_target: auto` follows.
 * - `paper`: the target of the paper's method (`auto` uses it; where the architecture has no shared representation
 *   `auto` falls back to `params`).
 * - `other`: what the other target is to the paper: `variant` (the paper defines it too, or it is the same update),
 *   `not-in-paper` (allowed when a config asks for it explicitly, with a note in validation and the run), `refused`
 *   (meaningless for the method; validation refuses it with `reason`).
 * - `reason`: one line, why (printed with the note or refusal).
 */
export interface GradTargetSpec {
  paper: 'params' | 'representation';
  other: 'variant' | 'not-in-paper' | 'refused';
  reason: string;
}

export interface CombinerDefinition {
  /** Name used in configs (`strategy.name`). */
  name: string;
  /** Citation of the paper whose method is implemented. */
  paper: string;
  /** The target the paper uses and whether it defines the other one (see {@link GradTargetSpec}). */
  gradTarget: GradTargetSpec;
  /**
   * Values of `training.optimizer` the method refuses, with the reason (MTAdam returns an Adam-normalised step, so
   * an Adam optimizer on top would normalise it twice). Absent: every optimizer.
   */
  refusedOptimizers?: { names: readonly string[]; reason: string };
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
