import { tf } from '../tf.js';
import type { RecordedTaskGradients, TaskGradientTape, TaskLossOf } from './tape.js';
import type { MultiTaskModel } from './types.js';

/**
 * TF.js's own tape, kept for several backward passes: the fallback of the steps' own tape (model/tape.ts) for models
 * that record no shared part of their own (PLE with more than one level, cross-stitch, attention, soft sharing,
 * shared–private) and for stacks with a layer that has no recorded form (convolutions, normalisation).
 *
 * Why: `tf.variableGrads` records a forward pass, runs one backward pass and frees the tape, so a gradient method on T
 * tasks ran the whole model forward T times. Here the model's forward pass runs once with TF.js's tape on (the same
 * kernels record the same tape nodes, with the tensors their gradients need); then each task's loss is recorded on
 * the same tape and differentiated from it, and the tape is freed after the last task.
 *
 * Each backward pass is TF.js's: the tape nodes on a path from the wanted variables to the task's loss, in recording
 * order (the filter of tfjs-core's `getFilteredNodesXToY`), walked backward with each node's own gradient function,
 * summing a tensor's gradients in the same order (`backpropagateGradients`). The nodes a task's loss does not reach
 * (the other tasks' towers and losses) are filtered out, so the kernels that run, their inputs and their order are
 * those of `tf.variableGrads` on that task alone: bit-identical gradients (test/kept-tape.test.ts). Dropout masks
 * depend on the step only and batch-norm statistics move once per step (model/step-clock.ts), so one forward pass is
 * the T passes' forward pass.
 *
 * It reads and sets `tf.engine().state.activeTape` and `gradientDepth`, the engine's tape switch (public fields of
 * tfjs-core's Engine, what its own gradient calls set); it records only where no gradient call is in progress.
 */

type TapeNode = ReturnType<typeof tf.engine>['state']['activeTape'][number];

/** Runs `fn` with TF.js's tape recording into `nodes` (what `Engine.gradients` does around its forward function). */
function recording<T>(nodes: TapeNode[], fn: () => T): T {
  const state = tf.engine().state;
  const previous = state.activeTape;
  state.activeTape = nodes;
  state.gradientDepth++;
  try {
    return fn();
  } finally {
    state.gradientDepth--;
    state.activeTape = previous;
  }
}

/**
 * The nodes of `tape` on a path from one of `xs` to `y`, in tape order, each with only the inputs that depend on an
 * x: the rule of tfjs-core's `getFilteredNodesXToY`, written out here because tfjs-core does not export it.
 */
function nodesFromXsToY(tape: readonly TapeNode[], xs: readonly tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromX = new Set<number>(xs.map((x) => x.id));
  const nodesFromX = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((input) => fromX.has(input.id))) {
      for (const output of node.outputs) fromX.add(output.id);
      nodesFromX.add(node.id);
    }
  }
  const leadToY = new Set<number>([y.id]);
  const nodesToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    if (!node.outputs.some((output) => leadToY.has(output.id))) continue;
    for (const input of Object.values(node.inputs)) {
      leadToY.add(input.id);
      nodesToY.add(node.id);
    }
  }
  return tape
    .filter((node) => nodesFromX.has(node.id) && nodesToY.has(node.id))
    .map((node) => ({
      ...node,
      inputs: Object.fromEntries(Object.entries(node.inputs).filter(([, input]) => fromX.has(input.id))),
    }));
}

/**
 * ∂y/∂x for each of `xs` (undefined where y does not depend on x), `dy` the gradient at y: the walk of tfjs-core's
 * `backpropagateGradients` over the filtered nodes. Intermediate gradients are freed; the returned ones are new.
 */
function backward(
  tape: readonly TapeNode[],
  xs: readonly tf.Tensor[],
  y: tf.Tensor,
  dy: tf.Tensor,
): (tf.Tensor | undefined)[] {
  const nodes = nodesFromXsToY(tape, xs, y);
  return tf.tidy((): (tf.Tensor | undefined)[] => {
    const gradientOf = new Map<number, tf.Tensor>([[y.id, dy]]);
    for (let i = nodes.length - 1; i >= 0; i--) {
      const node = nodes[i]!;
      if (!node.gradient) throw new Error(`internal: no gradient function for ${node.kernelName} on the kept tape`);
      // An output off the path to y gets null: the node's gradient function then sees zeros, as in TF.js.
      const dys = node.outputs.map((output) => gradientOf.get(output.id) ?? null) as tf.Tensor[];
      const inputGradients = node.gradient(dys);
      for (const [name, input] of Object.entries(node.inputs)) {
        const gradientFn = inputGradients[name];
        if (!gradientFn) throw new Error(`internal: ${node.kernelName} gives no gradient for its input ${name}`);
        const dx = tf.tidy(gradientFn);
        const sum = gradientOf.get(input.id);
        gradientOf.set(input.id, sum ? tf.add(sum, dx) : dx);
        if (sum) sum.dispose();
      }
    }
    return xs.map((x) => gradientOf.get(x.id));
  });
}

/**
 * Ops recorded on TF.js's tape (any number of `run` calls, appended in order), kept for any number of backward passes
 * until `dispose`. The building block of {@link KeptTape} and {@link KeptEncoding}, and of the loss step that also
 * takes GradNorm's task gradients from its own forward pass (train/loss-step.ts).
 */
export class Recording {
  private readonly nodes: TapeNode[] = [];

  private constructor() {}

  /** A new recording; undefined inside a gradient call (nested tapes are TF.js's own business). */
  static start(): Recording | undefined {
    return tf.engine().state.gradientDepth === 0 ? new Recording() : undefined;
  }

  /** Runs `fn` in a tidy scope with the tape on; what it returns is the caller's, the rest is freed. */
  run<T extends tf.TensorContainer>(fn: () => T): T {
    return recording(this.nodes, () => tf.tidy(fn));
  }

  /** A new recording of `fn` and what it returned; undefined inside a gradient call; nothing kept if `fn` throws. */
  static of<T extends tf.TensorContainer>(fn: () => T): { recorded: Recording; result: T } | undefined {
    const recorded = Recording.start();
    if (!recorded) return undefined;
    try {
      return { recorded, result: recorded.run(fn) };
    } catch (error) {
      recorded.dispose();
      throw error;
    }
  }

  /**
   * ∂y/∂x for each of `xs` in order (undefined where y does not reach x), from `dy` at y (default ones, as
   * `tf.grad` starts); new tensors, the caller's.
   */
  gradients(y: tf.Tensor, xs: readonly tf.Tensor[], dy?: tf.Tensor): (tf.Tensor | undefined)[] {
    const start = dy ?? tf.onesLike(y);
    try {
      return backward(this.nodes, xs, y, start);
    } finally {
      if (start !== dy) start.dispose();
    }
  }

  /** Frees what the recorded nodes saved for their gradients. */
  dispose(): void {
    for (const node of this.nodes) for (const saved of node.saved ?? []) saved.dispose();
    this.nodes.length = 0;
  }
}

/** The gradients of the trainable ones of `variables`, by name in their order, as `tf.variableGrads` lists them. */
export function gradientsByName(
  recorded: Recording,
  y: tf.Tensor,
  variables: readonly tf.Variable[],
  dy?: tf.Tensor,
): Map<string, tf.Tensor> {
  const xs = variables.filter((v) => v.trainable);
  const grads = recorded.gradients(y, xs, dy);
  const out = new Map<string, tf.Tensor>();
  xs.forEach((v, i) => {
    const gradient = grads[i];
    if (gradient) out.set(v.name, gradient);
  });
  return out;
}

/** The gradients of `variables` for the loss `loss()`, its ops recorded on `recorded` and freed after, by name. */
function lossGradients(
  recorded: Recording,
  loss: () => tf.Scalar,
  variables: readonly tf.Variable[],
): Map<string, tf.Tensor> {
  const value = recorded.run(loss);
  try {
    return gradientsByName(recorded, value, variables);
  } finally {
    value.dispose();
  }
}

/** The model's forward pass on TF.js's tape, kept for one backward pass per task. */
export class KeptTape implements TaskGradientTape {
  private constructor(
    private readonly recorded: Recording,
    private readonly outputs: Record<string, tf.Tensor2D>,
  ) {}

  /** Runs `model.forward(x, training)` once with the tape on; undefined inside a gradient call. */
  static record(model: MultiTaskModel, x: tf.Tensor2D, training: boolean): KeptTape | undefined {
    const kept = Recording.of(() => model.forward(x, training).outputs);
    return kept && new KeptTape(kept.recorded, kept.result);
  }

  taskGradients(
    task: string,
    lossOf: TaskLossOf,
    own: readonly tf.Variable[],
    shared: readonly tf.Variable[],
  ): RecordedTaskGradients {
    const output = this.outputs[task];
    if (!output) throw new Error(`internal: the kept tape has no output for task ${task}`);
    const loss = this.recorded.run(() => lossOf(output));
    // tf.variableGrads lists the shared variables first.
    const byName = gradientsByName(this.recorded, loss, [...shared, ...own]);
    const sharedGrads = new Map<string, tf.Tensor>();
    for (const v of shared) {
      const gradient = byName.get(v.name);
      if (gradient) sharedGrads.set(v.name, gradient);
    }
    return { loss, shared: sharedGrads, own: own.map((v) => byName.get(v.name)) };
  }

  outputsLossGradients(
    lossOf: (outputs: Readonly<Record<string, tf.Tensor2D>>) => tf.Scalar,
    variables: readonly tf.Variable[],
  ): Map<string, tf.Tensor> {
    return lossGradients(this.recorded, () => lossOf(this.outputs), variables);
  }

  /** Frees the recorded nodes' saved tensors and the outputs. */
  dispose(): void {
    this.recorded.dispose();
    tf.dispose(Object.values(this.outputs));
  }
}

/**
 * The shared representation z = encode(x) on TF.js's tape, kept for the representation-gradient step's one backward
 * pass from the combined ∂z (the fallback of `recordEncode`, as {@link KeptTape} is of `recordTasks`).
 */
export class KeptEncoding {
  private constructor(
    private readonly recorded: Recording,
    readonly output: tf.Tensor,
  ) {}

  static record(
    encode: (x: tf.Tensor2D, training: boolean) => tf.Tensor,
    x: tf.Tensor2D,
    training: boolean,
  ): KeptEncoding | undefined {
    const kept = Recording.of(() => encode(x, training));
    return kept && new KeptEncoding(kept.recorded, kept.result);
  }

  /** The gradients of `variables` for ∂L/∂z = `dOutput`, by name (new tensors; absent where z does not reach one). */
  backward(dOutput: tf.Tensor, variables: readonly tf.Variable[]): Map<string, tf.Tensor> {
    return gradientsByName(this.recorded, this.output, variables, dOutput);
  }

  /** The gradients of `variables` for the loss `lossOf(z)`, its ops recorded on the same tape, by name. */
  lossGradients(lossOf: (z: tf.Tensor) => tf.Scalar, variables: readonly tf.Variable[]): Map<string, tf.Tensor> {
    return lossGradients(this.recorded, () => lossOf(this.output), variables);
  }

  dispose(): void {
    this.recorded.dispose();
    this.output.dispose();
  }
}
