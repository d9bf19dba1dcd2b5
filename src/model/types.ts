import type { tf } from '../tf.js';
import type { Adversaries } from '../adversarial/adversary-heads.js';
import type { LayerConfig, ModelConfig } from '../config/types.js';
import type { TaskType } from '../data/types.js';
import type { Rng } from '../util/rng.js';
import type { ForwardTape, TaskTape } from './tape.js';

/** What a model needs to know about each task to build its head. */
export interface HeadSpec {
  name: string;
  type: TaskType;
  outputSize: number;
}

export interface ModelBuildContext {
  inputSize: number;
  heads: HeadSpec[];
  /** Draws initial weights; the same seed gives the same weights on every backend. */
  rng: Rng;
}

export interface ForwardResult {
  /** The shared representation, for architectures that have one (needed by representation-gradient strategies). */
  representation?: tf.Tensor;
  /** Raw outputs per task (logits for classification, values for regression). */
  outputs: Record<string, tf.Tensor2D>;
}

/** Where a batch's or split's rows came from in a multi-input run (data/multi-input.ts data groups). */
export interface RowGroups {
  /** Per row, the index of its data group. */
  ofRow: Int32Array;
  /** Per data group, the names of the tasks that read it. */
  tasks: readonly (readonly string[])[];
}

/** What a batch-dependent penalty reads: the step's batch and where training is (train/step.ts builds it). */
export interface PenaltyInput {
  x: tf.Tensor2D;
  /** Per task with rows missing its label, the batch rows that have it (absent: every row). */
  labelled?: Record<string, Int32Array>;
  /** The rows' data groups (multi-input runs: whose data each row came from); absent with one data source. */
  groups?: RowGroups;
  /** Training progress p ∈ [0, 1] at this step (λ schedules); absent outside the trainer (read as 1). */
  progress?: number;
  /** Per row, the index of its domain among the `domain` task's classes (runs with data.domains). */
  domains?: Int32Array;
}

export interface MultiTaskModel {
  readonly architecture: string;
  /** Parameters trained by every task's loss. */
  readonly sharedVariables: tf.Variable[];
  /** Parameters of one task only: they always get their own task's gradient. */
  readonly taskVariables: Record<string, tf.Variable[]>;
  /** Non-trainable state saved in checkpoints (batch-norm moving statistics). */
  readonly stateVariables: tf.Variable[];
  /**
   * Task variables read before the shared representation (multi-input adapters, model/input-adapters.ts): a
   * representation-gradient step trains them through `encode` with the shared ones, not through the heads.
   */
  readonly inputVariables?: tf.Variable[];
  forward(x: tf.Tensor2D, training: boolean): ForwardResult;
  /**
   * Sets the model's training-step clock (model/step-clock.ts): dropout masks then depend on (seed, step) only, and
   * batch-norm moves its statistics once per step however many forward passes the step runs.
   */
  setStep(step: number): void;
  /**
   * Split forward for representation-gradient strategies: `encode` runs the shared part, `decode` the task heads.
   * forward(x) must equal decode(encode(x)).
   */
  encode?(x: tf.Tensor2D, training: boolean): tf.Tensor;
  decode?(representation: tf.Tensor, training: boolean): Record<string, tf.Tensor2D>;
  /** One task's head alone on the representation: `decode(z)[task]` without running the other heads. */
  decodeTask?(representation: tf.Tensor, task: string, training: boolean): tf.Tensor2D;
  /**
   * `encode` recorded on the steps' own tape (model/tape.ts), so gradient steps run the shared part forward once and
   * backward per task; undefined where a shared layer has no recorded form. Present only where the tape's variables
   * are exactly `sharedVariables` and `forward(x)` is `decode(encode(x))`.
   */
  recordEncode?(x: tf.Tensor2D, training: boolean): ForwardTape | undefined;
  /**
   * The shared variables' part recorded for the parameter-gradient steps (model/tape.ts `TaskTape`): the stacks that
   * hold `sharedVariables` run forward once, then each task backward from its loss. Undefined where a shared layer
   * has no recorded form. Present only where the tape's variables are exactly `sharedVariables` and each task's
   * output from it is `forward(x)`'s.
   */
  recordTasks?(x: tf.Tensor2D, training: boolean): TaskTape | undefined;
  /**
   * The variables (kernel and bias) of the last layer of weights that every task's loss goes through: GradNorm's W
   * (Chen et al. 2018 measure the task gradient norms there). Absent or empty where the architecture has none.
   */
  readonly lastSharedLayer?: tf.Variable[];
  /**
   * A regulariser added to the training loss (soft-sharing coupling, shared–private's orthogonality and task
   * discriminator, a feature adversary's generator term, …). `input` is the step's batch, where the step has one.
   */
  penalty?(input?: PenaltyInput): tf.Scalar;
  /**
   * Adversaries the model trains itself (shared–private's task discriminator), measured on a split's rows in
   * inference mode: per name, the adversary's loss, accuracy and chance rate; `groups` the rows' data groups.
   */
  measureAdversaries?(
    x: tf.Tensor2D,
    groups: RowGroups | undefined,
  ): Record<string, { loss: number; accuracy: number; chance: number }>;
  /** Heads behind a gradient reversal layer (adversarial tasks, the domain discriminator): adversary-heads.ts. */
  readonly adversaries?: Adversaries;
  dispose(): void;
}

export interface ArchitectureDefinition {
  name: string;
  description: string;
  paper: string;
  /** JSON Schema `properties` of its own options inside `model` (besides architecture, trunk, head), with defaults. */
  optionsSchema: Record<string, Record<string, unknown>>;
  /** Whether it exposes encode/decode, i.e. supports representation-gradient strategies. */
  hasSharedRepresentation: boolean;
  /**
   * Whether some variables are reached by every task's loss (`sharedVariables` is not empty): false for soft sharing,
   * whose towers are only coupled by a penalty. Absent = true. Inter-task affinity (a lookahead on the shared
   * variables) is refused at validation where it is false.
   */
  hasSharedParameters?: boolean;
  /**
   * Problems with a model config that only this architecture has (checked at config validation, after the schema and
   * the layer shape rules); paths are relative to `model`, e.g. ['levels'].
   */
  checkConfig?(config: ModelConfig): Array<{ path: (string | number)[]; message: string }>;
  /**
   * Why its option `option` changes nothing in a model built from `config` (defaults filled in), ending with how to
   * fix that, or undefined when the option is read. Validation refuses such an option where the user wrote it
   * (config/applicability.ts); a default left as it is stays accepted.
   */
  optionIgnored?(config: ModelConfig, option: string): string | undefined;
  /**
   * Which layer of a model built from `config` is its last shared layer of weights (for GradNorm), as config text
   * (`model.trunk[1] (dense)`), or why there is none. Absent: the architecture has no layer shared by every task.
   */
  lastSharedLayer?(config: ModelConfig): { layer: string } | { missing: string };
  build(config: ModelConfig, context: ModelBuildContext): MultiTaskModel;
}

export type { LayerConfig };
