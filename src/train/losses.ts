import { tf } from '../tf.js';
import type { LossName, TaskConfig } from '../config/types.js';
import { lossRegistry } from '../tasks/registry.js';

/**
 * A task's training loss on a batch: the registered loss's tensor op (tasks/losses/), the mean over the batch (and
 * over outputs for multi-output tasks). `target` is the kind's training form of the targets: one-hot (multiclass),
 * 0/1 (binary, multilabel), standardised values (regression).
 */
export function taskLoss(loss: LossName, output: tf.Tensor2D, target: tf.Tensor2D): tf.Scalar {
  return lossRegistry.lookup(loss).tensor(output, target);
}

/** What a masked loss reads of a batch: its targets and, per task with missing labels, the labelled positions. */
export interface LabelledBatch {
  targets: Record<string, tf.Tensor2D>;
  labelled?: Record<string, Int32Array>;
}

/**
 * A task's loss on a batch whose rows may lack its label (data/labels.ts), the mean over the labelled rows B_t:
 *
 *   L_t = (1/|B_t|) Σ_{r ∈ B_t} ℓ_t(r)        (the loss op on the gathered rows, so a fused kernel still runs)
 *
 * A row outside B_t reaches neither the value nor any gradient (the gather's gradient is 0 there). With B_t = ∅ the
 * loss is 0 with a zero gradient (0·Σ output, still a function of the outputs; finite outputs give exactly 0). A
 * task whose rows all have labels takes the plain op on the whole batch, so such a run is bit-identical to one
 * before masking.
 */
export function maskedTaskLoss(task: TaskConfig, output: tf.Tensor2D, batch: LabelledBatch): tf.Scalar {
  const target = batch.targets[task.name] as tf.Tensor2D;
  const positions = batch.labelled?.[task.name];
  if (!positions) return taskLoss(task.loss, output, target);
  return tf.tidy(() => {
    // Σ over no rows would be 0, but a sum over an empty tensor reads uninitialised memory on wasm: 0·Σ output.
    if (positions.length === 0) return tf.mul(tf.sum(output), 0);
    const rows = gatherRows(output, positions);
    return taskLoss(task.loss, rows, tf.gather(target, tf.tensor1d(positions, 'int32')));
  });
}

/**
 * The rows at `positions` of x, differentiable on every backend: TF.js's gradient of gather needs
 * UnsortedSegmentSum, which the wasm backend lacks, so the gradient is written out as the scatter it is
 * (∂x = the upstream rows put back at their positions, 0 elsewhere; positions are distinct).
 */
function gatherRows(x: tf.Tensor2D, positions: Int32Array): tf.Tensor2D {
  const shape = x.shape;
  const gather = tf.customGrad<tf.Tensor2D>((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = inputs[0];
    if (!(input instanceof tf.Tensor)) throw new Error('gatherRows: no input tensor');
    const value = tf.reshape<tf.Rank.R2>(tf.gather(input, tf.tensor1d(positions, 'int32')), [
      positions.length,
      shape[1],
    ]);
    const gradFunc = (dy: tf.Tensor2D): tf.Tensor =>
      tf.tidy(() => tf.scatterND(tf.tensor2d(positions, [positions.length, 1], 'int32'), dy, shape));
    return { value, gradFunc };
  });
  return gather(x);
}

/** Whether some task of the batch has no labelled row at all. */
export function tasksWithoutLabels(batch: LabelledBatch, tasks: readonly TaskConfig[]): boolean[] {
  return tasks.map((task) => batch.labelled?.[task.name]?.length === 0);
}

/**
 * What a loss-weighting strategy combines on a batch where a task has no labelled row (data/labels.ts): that task's
 * loss is 1 there with a zero gradient (its masked loss, 0, plus 1), so the model learns from the other tasks only
 * (their terms unchanged), while a strategy that divides by, takes the log of, or starts from a task's loss
 * (GradNorm's L_i(0), FAMO's log L_i, GLS's geometric mean, loss ratios) reads a finite positive value instead of
 * 0. The run's logged step loss of the task stays 0, weighted by its 0 labelled rows in the epoch mean.
 */
export function heldWhereUnlabelled(
  losses: tf.Scalar[],
  batch: LabelledBatch,
  tasks: readonly TaskConfig[],
): tf.Scalar[] {
  const unlabelled = tasksWithoutLabels(batch, tasks);
  if (!unlabelled.includes(true)) return losses;
  // 0 + 1 keeps the task's (zero) gradient path: its head gets a zero gradient, as under a gradient method.
  return losses.map((loss, i) => (unlabelled[i] ? tf.add(loss, 1) : loss));
}

/** The same rule for the loss values a gradient strategy's loss scaling reads (full IMTL, `weights_from`). */
export function heldValuesWhereUnlabelled(
  losses: number[],
  batch: LabelledBatch,
  tasks: readonly TaskConfig[],
): number[] {
  const unlabelled = tasksWithoutLabels(batch, tasks);
  return unlabelled.includes(true) ? losses.map((loss, i) => (unlabelled[i] ? 1 : loss)) : losses;
}

/** `{ labelled }` for the combiner when a task has no labelled row in the batch; nothing otherwise. */
export function labelledTasks(batch: LabelledBatch, tasks: readonly TaskConfig[]): { labelled?: boolean[] } {
  const unlabelled = tasksWithoutLabels(batch, tasks);
  return unlabelled.includes(true) ? { labelled: unlabelled.map((u) => !u) } : {};
}
