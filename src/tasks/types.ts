import type { tf } from '../tf.js';
import type { LossName, TaskConfig } from '../config/types.js';
import type { Column, DataTable, TaskType } from '../data/types.js';
import type { PredictionLayout } from '../metrics/types.js';

/**
 * What every fitted target encoding holds. A task kind adds what it learned from the training rows (class lists,
 * target scales); the whole object is stored in the run's preprocessing.json, so `mtl eval` encodes new rows as
 * training did, and is handed back to the kind named by `type`.
 */
export interface TargetEncoding {
  /** The task's name. */
  name: string;
  /** The task kind that fitted the encoding (and reads it back). */
  type: TaskType;
}

/** The JSON type of a field of a stored target encoding. */
export type EncodingFieldType = 'string' | 'strings' | 'numbers';

/** Ops the evaluation can run on a task's raw outputs on the backend, read back together with the outputs. */
export type BackendTransform = 'softmax' | 'sigmoid';

/** A task's raw outputs on a split, read back from the backend once: what the host-side loss and predictions read. */
export interface RawOutputs {
  /** rows × width, row-major. */
  values: Float32Array;
  rows: number;
  width: number;
  /** The transforms the task kind or its loss asked for (`backendTransforms`), as the backend computed them. */
  backend: Partial<Record<BackendTransform, Float32Array>>;
}

/** What a task kind's `fitTarget` learns from. */
export interface TargetFitInput {
  task: TaskConfig;
  /** `tasks[<name>]`: the start of every error message about this task's targets. */
  field: string;
  /** The task's target columns, in config order (they exist: preprocessing looked them up). */
  columns: Column[];
  /** Rows of the training split: statistics (target scales) come from these only. */
  trainRows: Int32Array;
  /** Every usable row of every split: a label seen only in test must still have an output. */
  allRows: Int32Array;
  /** The table the columns are from, for the file line of a row in messages (`lineOf(row, table)`). */
  table?: DataTable;
}

/**
 * A kind of task a head can solve (`tasks[].type`): how its targets are fitted and encoded, how wide its output
 * layer is, what it trains on, which losses and metrics fit it, and how raw outputs become predictions.
 *
 * A kind is generic in its encoding `E`. The registry keeps kinds of every encoding side by side, and an encoding
 * is only ever handed to the kind its `type` names (`kindOf` in tasks/registry.ts), which is what lets each kind
 * read its own fields. Its methods are declared as methods so that a `TaskKind<MyEncoding>` is registrable.
 */
export interface TaskKind<E extends TargetEncoding = TargetEncoding> {
  /** The value of `tasks[].type`; also the `type` of every encoding it fits. */
  readonly name: TaskType;
  /** One line for the docs. */
  readonly description: string;
  /** `one`: exactly one target column (validation reports more); `one-or-more`: a column per output. */
  readonly targetColumns: 'one' | 'one-or-more';
  /** The loss of a task that names none. */
  readonly defaultLoss: LossName;
  /** Whether `fitTarget` reads `tasks[].positive` (binary); validation refuses it on kinds that do not. */
  readonly readsPositive?: boolean;
  /** Registered losses this kind accepts besides those whose `fits` names it (so a new kind can reuse `mse`). */
  readonly losses?: readonly LossName[];
  /** How metrics read this kind's predictions and targets: one of the layouts of `TaskPredictions`. */
  readonly metricLayout: PredictionLayout;
  /** The metrics that apply; default: every metric whose `appliesTo` names `metricLayout`. */
  readonly metrics?: readonly string[];
  /** The metrics of a task that names none. */
  readonly defaultMetrics: readonly string[];
  /** Transforms of the outputs `predictions` reads from the backend (`outputs.backend`) rather than the host. */
  readonly backendTransforms?: readonly BackendTransform[];
  /**
   * The JSON fields its encoding adds to `name` and `type`, and their types: what the run reader checks when it
   * reads preprocessing.json back, so a damaged file is a clear error rather than a TypeError in the kind.
   */
  readonly encodingFields: Readonly<Record<string, EncodingFieldType>>;

  /** Learns the encoding; a target the kind cannot take is a UsageError starting with `input.field`. */
  fitTarget(input: TargetFitInput): E;
  /** Width of the task's output layer. */
  outputSize(encoding: E): number;
  /**
   * The targets of the given rows as metrics read them (`EncodedRows.targets`): a class index per row, 0/1, values
   * in original units, … A row the encoding cannot take (a label unseen in training) is a UsageError.
   */
  encodeTargets(table: DataTable, encoding: E, rows: Int32Array): Float32Array;
  /** The targets in the form the loss trains on, [rows, outputSize] (one-hot, 0/1, standardised values, …). */
  trainingTargets(encoding: E, targets: Float32Array, rows: number): tf.Tensor2D;
  /** Predictions as metrics read them (probabilities, values in original units), from the raw outputs. */
  predictions(encoding: E, outputs: RawOutputs): Float32Array;
}

/**
 * A training loss (`tasks[].loss`): the op training differentiates and the same formula on the host, which
 * evaluation uses on outputs it read back once.
 */
export interface LossDefinition {
  /** The value of `tasks[].loss`. */
  readonly name: LossName;
  /** The formula, one line for the docs. */
  readonly description: string;
  /** Task kinds this loss fits (a kind may also accept a loss by listing it in `TaskKind.losses`). */
  readonly fits?: readonly TaskType[];
  /** Transforms of the outputs `host` reads from the backend (`outputs.backend`). */
  readonly backendTransforms?: readonly BackendTransform[];

  /**
   * The loss of a batch on the backend, differentiable: the mean over the batch (and over the outputs of a
   * multi-output task) of the per-example loss. `target` is the kind's training form of the targets.
   */
  tensor(output: tf.Tensor2D, target: tf.Tensor2D): tf.Scalar;
  /**
   * The same loss on the host, from the raw outputs and the training-form targets (row-major, as wide as the
   * outputs): sums in float64, the mean rounded to float32 once, so the same outputs always give the same value.
   */
  host(outputs: RawOutputs, targets: Float32Array): number;
}
