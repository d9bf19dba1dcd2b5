import { tf } from '../tf.js';
import type { Layer, RecordedLayer } from './layers/types.js';

/**
 * The steps' own tape over a stack of layers: the forward pass runs once and keeps what each layer's backward pass
 * needs; then any number of backward passes run from it, one per output gradient. TF.js keeps no tape after a
 * gradient call, so without this a gradient method on T tasks ran the trunk forward T times (PyTorch runs it once,
 * with retain_graph, and backward T times).
 *
 * Each layer's backward pass runs the kernels TF.js's gradient of that layer runs, in the same order, so the
 * gradients are bit-identical to differentiating the stack with TF.js (test/forward-tape.test.ts). A stack with a
 * layer that has no recorded form ({@link Layer.record}) gets no tape: the step falls back to TF.js's.
 */
export class ForwardTape {
  private constructor(
    private readonly layers: readonly Layer[],
    private readonly records: readonly RecordedLayer[],
    /** The stack's output for the recorded input. */
    readonly output: tf.Tensor,
  ) {}

  /** Records `layers` applied to `x`, or undefined where a layer has no recorded form (nothing is left allocated). */
  static record(layers: readonly Layer[], x: tf.Tensor, training: boolean): ForwardTape | undefined {
    if (layers.length === 0 || !layers.every((layer) => layer.record)) return undefined;
    const records: RecordedLayer[] = [];
    let h = x;
    for (const layer of layers) {
      const recorded = layer.record?.(h, training);
      if (!recorded) {
        for (const done of records) done.dispose();
        return undefined;
      }
      records.push(recorded);
      h = recorded.output;
    }
    return new ForwardTape(layers, records, h);
  }

  /**
   * The gradients of the layers' trainable variables for `dOutput` = ∂L/∂output, keyed by variable name (new tensors
   * the caller disposes; `dOutput` stays the caller's). No gradient is computed for the stack's input. With `wanted`,
   * only those variables' gradients are kept, and the pass stops at the lowest layer that holds one (a caller that
   * wants only an upper layer's gradients runs only its part of the pass; all of them is the whole pass).
   */
  backward(dOutput: tf.Tensor, wanted?: readonly tf.Variable[]): Map<string, tf.Tensor> {
    const gradients = new Map<string, tf.Tensor>();
    const lowest = wanted ? this.layers.findIndex((layer) => layer.trainable.some((v) => wanted.includes(v))) : 0;
    if (lowest < 0) return gradients;
    let dy = dOutput;
    for (let i = this.records.length - 1; i >= lowest; i--) {
      const { input, variables } = this.records[i]!.backward(dy, i > lowest);
      this.layers[i]!.trainable.forEach((variable, k) => {
        const gradient = variables[k]!;
        if (variable.trainable && (!wanted || wanted.includes(variable))) gradients.set(variable.name, gradient);
        else gradient.dispose();
      });
      if (dy !== dOutput) dy.dispose();
      if (i > lowest) dy = input as tf.Tensor;
    }
    return gradients;
  }

  /** Frees the recorded activations (not the input). */
  dispose(): void {
    for (const record of this.records) record.dispose();
  }
}

/** A task's output from the recorded stacks' outputs (in stack order), with the model's own task part. */
export type TaskDecoder = (outputs: readonly tf.Tensor[], task: string, training: boolean) => tf.Tensor2D;

/** A task's loss from its output. */
export type TaskLossOf = (output: tf.Tensor2D) => tf.Scalar;

/** A task's loss and gradients from a recorded forward pass: `shared` by variable name, `own` in the given order. */
export interface RecordedTaskGradients {
  loss: tf.Scalar;
  shared: Map<string, tf.Tensor>;
  own: (tf.Tensor | undefined)[];
}

/**
 * A forward pass recorded for the parameter-gradient steps: each task's loss and gradients from it, any number of
 * times, until it is disposed. {@link TaskTape} (a model's own recorded shared part) and model/kept-tape.ts's
 * `KeptTape` (TF.js's tape, kept) are the two kinds.
 */
export interface TaskGradientTape {
  /**
   * Task `task`'s loss (`lossOf` its output) with the gradients of `own` (in order; undefined for one the loss does
   * not reach) and of those of `shared` the tape covers (by name); every tensor returned is the caller's.
   */
  taskGradients(
    task: string,
    lossOf: TaskLossOf,
    own: readonly tf.Variable[],
    shared: readonly tf.Variable[],
  ): RecordedTaskGradients;
  /**
   * The gradients of `variables` (by name; absent where the loss does not reach one) for a loss of the model's outputs
   * (every output of `forward`, the adversaries' too), its ops recorded on the same tape. Only a tape of the whole
   * forward pass has it (model/kept-tape.ts `KeptTape`); a recorded shared part has no outputs but the tasks'.
   */
  outputsLossGradients?(
    lossOf: (outputs: Readonly<Record<string, tf.Tensor2D>>) => tf.Scalar,
    variables: readonly tf.Variable[],
  ): Map<string, tf.Tensor>;
  /** Frees what was recorded (not the input). */
  dispose(): void;
}

/**
 * The shared part of a model recorded for the gradient steps: one or more stacks run on the same input (hard
 * sharing's trunk; MMoE's experts, which every task's gate mixes), and how each task's output is made from their
 * outputs. A task's gradients are then one TF.js backward pass through the task's own part (to the stacks' outputs
 * and the task's variables) and each stack's recorded backward pass: the kernels a TF.js gradient of the whole model
 * runs, so the same numbers (test/forward-tape.test.ts), with the shared part run forward once for every task.
 */
export class TaskTape implements TaskGradientTape {
  private constructor(
    private readonly tapes: readonly ForwardTape[],
    private readonly decode: TaskDecoder,
    private readonly training: boolean,
  ) {}

  /** Records every stack on `x`, or undefined where one has a layer with no recorded form (nothing left allocated). */
  static record(
    stacks: readonly (readonly Layer[])[],
    x: tf.Tensor,
    training: boolean,
    decode: TaskDecoder,
  ): TaskTape | undefined {
    const tapes: ForwardTape[] = [];
    for (const layers of stacks) {
      const tape = ForwardTape.record(layers, x, training);
      if (!tape) {
        for (const done of tapes) done.dispose();
        return undefined;
      }
      tapes.push(tape);
    }
    return tapes.length > 0 ? new TaskTape(tapes, decode, training) : undefined;
  }

  /**
   * Task `task`'s loss (`lossOf` its output) with the gradients of `own` (in order; undefined for one the loss does
   * not reach) and of those of `shared` that the stacks hold (by name, down to the lowest layer holding one); every
   * tensor returned is the caller's.
   */
  taskGradients(
    task: string,
    lossOf: TaskLossOf,
    own: readonly tf.Variable[],
    shared: readonly tf.Variable[],
  ): RecordedTaskGradients {
    const outputs = this.tapes.map((tape) => tape.output);
    // TF.js's own gradient call, as tf.variableGrads makes it (allowNoGradients: a variable the loss does not reach
    // gets no gradient, where tf.valueAndGrads would throw), with the stacks' outputs as inputs besides `own`.
    const { value, grads } = tf
      .engine()
      .gradients(() => lossOf(this.decode(outputs, task, this.training)), [...outputs, ...own], undefined, true);
    const sharedGrads = new Map<string, tf.Tensor>();
    this.tapes.forEach((tape, i) => {
      const dOutput = grads[i];
      if (!dOutput) return;
      for (const [name, gradient] of tape.backward(dOutput, shared)) sharedGrads.set(name, gradient);
      dOutput.dispose();
    });
    return { loss: value, shared: sharedGrads, own: grads.slice(outputs.length).map((g) => g ?? undefined) };
  }

  /** Frees the recorded activations (not the input). */
  dispose(): void {
    for (const tape of this.tapes) tape.dispose();
  }
}
