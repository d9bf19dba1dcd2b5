import type { tf } from '../../tf.js';
import type { Rng } from '../../util/rng.js';
import type { StepClock } from '../step-clock.js';

/**
 * One built layer. Shapes are per example, without the batch axis: [width] for a flat feature vector, [height, width,
 * channels] for an image (channels last). `apply` takes and returns batched tensors ([batch, ...shape]).
 */
export interface Layer {
  readonly outputShape: number[];
  /** Width of the output once flattened: the product of `outputShape`. */
  readonly outputSize: number;
  readonly trainable: tf.Variable[];
  /** Non-trainable variables saved in checkpoints (batch-norm moving statistics). */
  readonly state: tf.Variable[];
  apply(x: tf.Tensor, training: boolean): tf.Tensor;
  /**
   * `apply` that keeps what the layer's backward pass needs, for the steps' own tape (model/tape.ts): one forward
   * pass, then a backward pass per task from it. Undefined (or absent) where the layer has no such form for its
   * options or backend; the step then runs TF.js's tape as before.
   */
  record?(x: tf.Tensor, training: boolean): RecordedLayer | undefined;
}

/** One layer's recorded forward pass. */
export interface RecordedLayer {
  /** The layer's output: the same tensor values `apply` gives. */
  readonly output: tf.Tensor;
  /**
   * The gradients for the output gradient `dy`, computed with the kernels TF.js's gradient of the layer runs (so they
   * are bit-identical): of the layer's `trainable` variables, in that order, and of its input when `needInput`.
   * New tensors; `dy` stays the caller's.
   */
  backward(dy: tf.Tensor, needInput: boolean): { input?: tf.Tensor; variables: tf.Tensor[] };
  /** Frees what the record holds (its output included, unless that is its input). */
  dispose(): void;
}

/** What every layer config has: the name of its layer type. */
export interface LayerConfigBase {
  readonly type: string;
}

/**
 * The rank of a per-example shape, as the shape rules see it before widths are known: `flat` ([width]) or `image`
 * ([height, width, channels]).
 */
export type ShapeKind = 'flat' | 'image';

/** The output shape of a layer on a given input, or why the input does not fit (a sentence for the user). */
export type ShapeOutcome = { shape: number[] } | { problem: string };

export interface ShapeContext {
  /** What the layer's input is, for messages: "the model input", "the output of model.trunk[1]". */
  readonly inputName: string;
}

export interface LayerBuildContext {
  /** Path prefix of its variables, e.g. `shared/0` (variables are then `shared/0/kernel`, …). */
  readonly name: string;
  /** Per-example input shape (what the layer's shape rule accepted). */
  readonly inputShape: readonly number[];
  /** Draws initial weights; layers draw in stack order, so the same seed gives the same weights. */
  readonly rng: Rng;
  /** The model's training-step clock (dropout masks, batch-norm's once-per-step updates). */
  readonly clock: StepClock;
}

/**
 * Everything about one layer type: its config options (the schema branch for `type: <name>`), its shape rule and its
 * builder. Registered in `layerRegistry` (model/layers/registry.ts); the config schema, validation, the shape plan of
 * a stack and the stack builder ask the definition and know no layer type by name.
 *
 * The functions are methods (not function-valued properties) so that a definition for one config type is a
 * definition for the registry's `LayerConfigBase`: the registry only ever hands a definition configs whose `type` is
 * its name, which the schema has checked against its `optionsSchema`.
 */
export interface LayerDefinition<C extends LayerConfigBase = LayerConfigBase> {
  /** The `type` a config names it by. */
  readonly name: C['type'];
  /** JSON Schema `properties` of its options besides `type`, with defaults; other keys are reported as misspelled. */
  readonly optionsSchema: Record<string, Record<string, unknown>>;
  /** Options a config must give. */
  readonly required?: readonly string[];
  /**
   * The rank of input it takes: `flat`, `image` or `any`. This is its rank check, done at config validation (before
   * widths are known) with a message telling the user which layer to put before it.
   */
  readonly input: ShapeKind | 'any';
  /** The rank of its output: `flat`, `image`, or `input` (the rank of its input). */
  readonly output: ShapeKind | 'input';
  /**
   * Whether it starts a block of a layer list (dense, conv2d: the layers that transform features). Architectures that
   * act after each layer (cross-stitch units, attention masks) act after each block: the layer and the layers that
   * follow it up to the next block start.
   */
  readonly startsBlock?: boolean;
  /** Fills the defaults that depend on other options (a pool's stride is its window size); mutates `config`. */
  fillDefaults?(config: C): void;
  /**
   * Its per-example output shape for an input of the rank it takes, or a problem (a reshape whose size is not its
   * input's, a window larger than its input).
   */
  outputShape(config: C, input: readonly number[], context: ShapeContext): ShapeOutcome;
  /** Creates the layer and its variables (named `${context.name}/…`). */
  build(config: C, context: LayerBuildContext): Layer;
}
