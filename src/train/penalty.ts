import { tf } from '../tf.js';
import type { TaskConfig } from '../config/types.js';
import type { MultiTaskModel, PenaltyInput } from '../model/types.js';
import type { Batch } from './step.js';

/** The model penalty in a step (train/step.ts): its value inside a loss, or its gradients added after a combiner. */
export function addPenalty(model: MultiTaskModel, total: tf.Scalar, batch: Batch): tf.Scalar {
  return model.penalty ? tf.add(total, model.penalty(penaltyInput(batch))) : total;
}

/** The batch as a penalty reads it (model/types.ts PenaltyInput). */
function penaltyInput(batch: Batch): PenaltyInput {
  return {
    x: batch.x,
    ...(batch.labelled ? { labelled: batch.labelled } : {}),
    ...(batch.groups ? { groups: batch.groups } : {}),
    ...(batch.progress !== undefined ? { progress: batch.progress } : {}),
    ...(batch.domains ? { domains: batch.domains } : {}),
  };
}

/**
 * A model penalty (soft-sharing coupling, …) is a regulariser, not a task: its gradient is added to every variable it
 * touches after the task gradients were combined, so it neither enters the combiner nor reaches only one task.
 */
export function addPenaltyGradients(
  model: MultiTaskModel,
  tasks: readonly TaskConfig[],
  gradients: Record<string, tf.Tensor>,
  batch: Batch,
): void {
  const penalty = model.penalty;
  if (!penalty) return;
  const all = [...model.sharedVariables, ...tasks.flatMap((t) => model.taskVariables[t.name] ?? [])];
  const { value, grads } = tf.variableGrads(() => penalty(penaltyInput(batch)), all);
  value.dispose();
  addInto(gradients, grads);
}

/** gradients[name] += extra[name] for every entry of `extra` (taken over: its tensors are disposed or kept). */
export function addInto(gradients: Record<string, tf.Tensor>, extra: Record<string, tf.Tensor>): void {
  for (const [name, grad] of Object.entries(extra)) {
    const previous = gradients[name];
    if (previous) {
      gradients[name] = tf.add(previous, grad);
      previous.dispose();
      grad.dispose();
    } else {
      gradients[name] = grad;
    }
  }
}
