import { tf } from '../tf.js';
import type { TaskConfig } from '../config/types.js';
import { KeptEncoding, KeptTape } from '../model/kept-tape.js';
import type { TaskGradientTape } from '../model/tape.js';
import type { MultiTaskModel } from '../model/types.js';
import { maskedTaskLoss, type LabelledBatch } from './losses.js';
import type { GradientCombiner } from '../strategies/gradient/types.js';
import { readFloatsInto } from '../ops/read-floats.js';

/**
 * Which way the gradient steps run. `retainedTrunk` (the default): the model's forward pass runs once per step and
 * backward once per task, on the steps' own tape (model/tape.ts) where the model records its shared part, else on
 * TF.js's tape kept for all tasks (model/kept-tape.ts). false: `tf.variableGrads`, one forward and one backward pass
 * of the whole model per task. All give bit-identical numbers (test/forward-tape.test.ts, test/kept-tape.test.ts);
 * the switch is there for those tests and for the benchmark, which times both.
 */
export const stepPaths = { retainedTrunk: true };

/** The shared representation z recorded once for the representation-gradient step, and its backward pass. */
export interface RecordedRepresentation {
  readonly output: tf.Tensor;
  /** The gradients, by variable name, of the variables below z that the step trains through it, for ∂L/∂z. */
  backward(dOutput: tf.Tensor): Map<string, tf.Tensor>;
  dispose(): void;
}

/**
 * What a penalty or an adversary adds below z in the representation step: their terms of the loss the combined ∂z is
 * pushed through with (`loss(z, ∂z)`, the surrogate Σ z ⊙ ∂z included), and the variables only they train.
 */
export interface TermsBelowZ {
  loss(z: tf.Tensor, dz: tf.Tensor): tf.Scalar;
  variables: readonly tf.Variable[];
}

/**
 * The step's recorded z, where the switch allows it: the model's own recorded trunk (which holds exactly the shared
 * variables), else `encode` on TF.js's kept tape, differentiated for the shared variables and `beforeZ` (input
 * adapters', which only z's gradient trains), and with `terms`, through their loss (on the same tape) for theirs too.
 */
export function recordRepresentation(
  model: MultiTaskModel,
  x: tf.Tensor2D,
  beforeZ: readonly tf.Variable[],
  terms?: TermsBelowZ,
): RecordedRepresentation | undefined {
  if (!stepPaths.retainedTrunk || !model.encode || !model.decode) return undefined;
  const own = beforeZ.length === 0 && !terms ? model.recordEncode?.(x, true) : undefined;
  if (own) return { output: own.output, backward: (d) => own.backward(d), dispose: () => own.dispose() };
  const kept = KeptEncoding.record(model.encode, x, true);
  if (!kept) return undefined;
  const variables = [...model.sharedVariables, ...beforeZ];
  return {
    output: kept.output,
    backward: terms
      ? (d) => kept.lossGradients((z) => terms.loss(z, d), [...variables, ...terms.variables])
      : (d) => kept.backward(d, variables),
    dispose: () => kept.dispose(),
  };
}

/**
 * The step's recorded forward pass for task gradients, where the switch allows it: the model's own recorded shared
 * part, else the whole forward pass on TF.js's kept tape.
 */
export function recordTasks(model: MultiTaskModel, x: tf.Tensor2D, training = true): TaskGradientTape | undefined {
  if (!stepPaths.retainedTrunk) return undefined;
  return model.recordTasks?.(x, training) ?? KeptTape.record(model, x, training);
}

/** A task's loss on the representation z: the task's head only where the model can run one head alone. */
function taskLossOn(model: MultiTaskModel, z: tf.Tensor, task: TaskConfig, batch: LabelledBatch): tf.Scalar {
  const decode = model.decode;
  if (!decode) throw new Error('internal: a head gradient on a model without decode');
  const output = model.decodeTask ? model.decodeTask(z, task.name, true) : decode(z, true)[task.name];
  return maskedTaskLoss(task, output as tf.Tensor2D, batch);
}

/**
 * One task's loss and its gradients with respect to the representation z (∂L_t/∂z) and to the head variables `own`,
 * in one backward pass through the heads (the variables are the tensors the heads read, so their gradients come out
 * with z's).
 */
export function headGradients(
  model: MultiTaskModel,
  representation: tf.Tensor,
  task: TaskConfig,
  batch: LabelledBatch,
  own: readonly tf.Variable[],
): { loss: tf.Scalar; representation: tf.Tensor; own: tf.Tensor[] } {
  const { value, grads } = tf.valueAndGrads((z: tf.Tensor, ..._own: tf.Tensor[]) => taskLossOn(model, z, task, batch))([
    representation,
    ...own,
  ]);
  const [zGrad, ...ownGrads] = grads;
  return { loss: value, representation: zGrad as tf.Tensor, own: ownGrads };
}

/**
 * One task's loss and its gradients of `shared` (the model's shared variables, or some of them: GradNorm's last
 * shared layer) and of `own`, keyed by variable name: from the recorded shared part (the task's own part backward,
 * then the recorded stacks', down to the lowest layer holding one of `shared`) or, without one, one forward and
 * backward pass of the model.
 */
export function taskGradients(
  model: MultiTaskModel,
  tape: TaskGradientTape | undefined,
  task: TaskConfig,
  batch: LabelledBatch & { x: tf.Tensor2D },
  own: readonly tf.Variable[],
  shared: readonly tf.Variable[] = model.sharedVariables,
): { loss: tf.Scalar; grads: Record<string, tf.Tensor> } {
  if (!tape) {
    const { value, grads } = tf.variableGrads(() => {
      const { outputs } = model.forward(batch.x, true);
      return maskedTaskLoss(task, outputs[task.name] as tf.Tensor2D, batch);
    }, [...shared, ...own]);
    return { loss: value, grads };
  }
  const recorded = tape.taskGradients(task.name, (output) => maskedTaskLoss(task, output, batch), own, shared);
  // The names in the order TF.js's variableGrads would give them: shared, then own.
  const grads: Record<string, tf.Tensor> = {};
  for (const v of shared) {
    const gradient = recorded.shared.get(v.name);
    if (gradient) grads[v.name] = gradient;
  }
  own.forEach((v, k) => {
    const gradient = recorded.own[k];
    if (gradient) grads[v.name] = gradient;
  });
  return { loss: recorded.loss, grads };
}

/** How many other batches per step a combiner needs besides its own (SDMGrad's and MoDo's independent samples). */
export function extraSamplesNeededBy(combiner: GradientCombiner): number {
  return (combiner.independentSamples ?? 1) - 1;
}

/**
 * Reads the gradients of `variables` into one flat vector `out` (the combiner's view of the shared parameters),
 * writing every element. A variable the loss does not reach (a shared–private task discriminator's, trained by the
 * penalty only) reads as zeros.
 */
export function flattenInto(
  grads: Readonly<Record<string, tf.Tensor>>,
  variables: readonly tf.Variable[],
  out: Float32Array,
): Float32Array {
  let offset = 0;
  for (const v of variables) {
    const gradient = grads[v.name];
    if (gradient) readFloatsInto(gradient, out, offset);
    else out.fill(0, offset, offset + v.size);
    offset += v.size;
  }
  return out;
}

export function unflatten(flat: Float32Array, like: readonly tf.Variable[]): tf.Tensor[] {
  let offset = 0;
  return like.map((v) => {
    const t = tf.tensor(flat.subarray(offset, offset + v.size), v.shape, 'float32');
    offset += v.size;
    return t;
  });
}

/**
 * The task gradients of the shared parameters on the other batches a combiner needs for independent samples (none
 * for most): T backward passes per batch.
 */
export function extraSampleGradients(
  model: MultiTaskModel,
  combiner: GradientCombiner,
  tasks: readonly TaskConfig[],
  extraBatches: readonly (LabelledBatch & { x: tf.Tensor2D })[],
  vectors: readonly Float32Array[],
): Float32Array[][] {
  const needed = extraSamplesNeededBy(combiner);
  if (extraBatches.length < needed) {
    throw new Error(`the gradient method needs ${needed} other batches per step, got ${extraBatches.length}`);
  }
  const shared = model.sharedVariables;
  return extraBatches.slice(0, needed).map((other, b) => {
    const tape = recordTasks(model, other.x);
    const flats = tasks.map((task, i) => {
      const { loss, grads } = taskGradients(model, tape, task, other, []);
      loss.dispose();
      const flat = flattenInto(grads, shared, vectors[b * tasks.length + i]!);
      tf.dispose(Object.values(grads));
      return flat;
    });
    tape?.dispose();
    return flats;
  });
}
