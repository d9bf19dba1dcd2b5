import { tf } from '../tf.js';
import type { MultiTaskModel } from '../model/types.js';
import { maskedTaskLoss, type LabelledBatch } from '../train/losses.js';
import type { TaskGradientTape } from '../model/tape.js';

/**
 * The adversaries' part of a training step (train/step.ts), the same in the three step paths: it is added like a
 * regulariser, after the main tasks' losses or gradients were combined by the strategy, and never enters the
 * strategy (weights, combiners, logged task losses):
 *
 *   loss path:            L = combine(L_1..L_T) + penalty + Σ_a L_a                  (one backward pass)
 *   parameter gradients:  g_s = combine(∇_s L_1..∇_s L_T) + ∇_s penalty + Σ_a ∇_s L_a   (one more backward pass)
 *   representation:       the trunk's surrogate Σ z ⊙ stop(∂z) + penalty + Σ_a L_a(z)    (in the same backward pass)
 *
 * Each L_a reads z behind the reversal layer, so ∇_s L_a arrives at the trunk as −λ_a × the adversary's own trunk
 * gradient, and the adversary's head gets +∇ L_a. An adversary's loss is its task's masked loss (train/losses.ts):
 * rows without its label (a sparsely labelled nuisance attribute) do not count.
 */
export function adversaryLoss(
  model: MultiTaskModel,
  outputs: Record<string, tf.Tensor2D>,
  batch: LabelledBatch,
): tf.Scalar | undefined {
  const adversaries = model.adversaries;
  if (!adversaries || adversaries.tasks.length === 0) return undefined;
  const losses = adversaries.tasks.map((task) => maskedTaskLoss(task, outputs[task.name] as tf.Tensor2D, batch));
  return losses.length === 1 ? losses[0]! : tf.addN(losses);
}

/** `total` plus the adversaries' loss on these outputs (`total` itself without adversaries). */
export function withAdversaryLoss(
  model: MultiTaskModel,
  outputs: Record<string, tf.Tensor2D>,
  batch: LabelledBatch,
  total: tf.Scalar,
): tf.Scalar {
  const adversarial = adversaryLoss(model, outputs, batch);
  return adversarial ? tf.add(total, adversarial) : total;
}

/** The adversaries' loss on a shared representation z (the representation-gradient path's surrogate). */
export function adversaryLossOn(model: MultiTaskModel, representation: tf.Tensor, batch: LabelledBatch): tf.Scalar {
  const adversaries = model.adversaries;
  if (!adversaries) return tf.scalar(0);
  return adversaryLoss(model, adversaries.outputsOn(representation, true), batch) ?? tf.scalar(0);
}

/**
 * Parameter-gradient strategies: the gradients of Σ_a L_a with respect to the shared variables and the adversary
 * heads, by name, to add to the combined gradients (undefined without adversaries). From `tape`, the step's forward
 * pass kept on TF.js's tape (model/kept-tape.ts), where it has the adversaries' outputs: their losses are recorded on
 * it and one more backward pass runs from them. Otherwise one more forward and backward pass, at the step already
 * numbered (same dropout masks; batch-norm statistics do not move again). Both give the same numbers: the backward
 * pass from Σ_a L_a runs the same kernels on the same values (test/kept-tape.test.ts).
 */
export function adversaryGradients(
  model: MultiTaskModel,
  x: tf.Tensor2D,
  batch: LabelledBatch,
  tape?: TaskGradientTape,
): Record<string, tf.Tensor> | undefined {
  const adversaries = model.adversaries;
  if (!adversaries || adversaries.tasks.length === 0) return undefined;
  const variables = [...model.sharedVariables, ...adversaries.variables];
  const lossOf = (outputs: Readonly<Record<string, tf.Tensor2D>>) =>
    adversaryLoss(model, outputs, batch) ?? tf.scalar(0);
  if (tape?.outputsLossGradients) return Object.fromEntries(tape.outputsLossGradients(lossOf, variables));
  const { value, grads } = tf.variableGrads(() => lossOf(model.forward(x, true).outputs), variables);
  value.dispose();
  return grads;
}
