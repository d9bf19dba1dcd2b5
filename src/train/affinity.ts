/**
 * Inter-task affinity (Fifty, Amid, Zhao, Yu, Anil & Finn 2021, "Efficiently Identifying Task Groupings for
 * Multi-Task Learning", NeurIPS, eq. 3): at a training step t with shared parameters θ_s and task parameters θ_j, for
 * each task i the lookahead
 *
 *   θ_s'|i = θ_s − Δ_i,    Δ_i = η ∇_{θ_s} L_i    (η: the current learning rate)
 *
 * and on the same batch X
 *
 *   Z_{i→j} = 1 − L_j(X, θ_s'|i, θ_j) / L_j(X, θ_s, θ_j)
 *
 * (positive: task i's update lowers task j's loss). That plain step is the default (`sgdLookahead`). It is also what
 * the authors' Taskonomy code (google-research/tag, taskonomy/tag.patch, `lookahead`) does in effect: it means to take
 * a momentum-SGD step but reads the momentum buffer from the parameter group, where it never is, so every lookahead is
 * η(∇L_i + λθ) (λ: their weight decay; ours is applied by the optimizer, not here). `analysis.affinity_lookahead:
 * optimizer` takes `Optimizer.lookahead` instead, the update `apply` would make next for ∇L_i alone (Adam's moments and
 * bias correction included) — an option, not the default: under Adam the moments built from every task's gradients
 * dominate that update, so Z then measures the shared momentum more than task i (on penguins every Z(i→j), i ≠ j, came
 * out negative with it and positive with the plain step). Their code also divides Z by the learning rate; this does
 * not (Z as in eq. 3). Their Taskonomy code measures every 10th batch; the default here is every step
 * (`analysis.affinity_every` thins it).
 *
 * Training is untouched: this runs after the step's gradients are taken and before the optimizer applies them, at the
 * step already numbered (the same dropout masks; batch-norm statistics move only on a step's first pass), and every
 * shared variable gets its exact previous value back. Cost per measured step: one forward pass at θ_s, recorded once
 * (train/task-gradients.ts `recordTasks`) for the T task gradients and the losses L_j(X, θ_s); T backward passes; and
 * T forward passes at the lookaheads. Without the recorded pass (`stepPaths.retainedTrunk = false`) each task gradient
 * takes a forward pass of its own; both ways give bit-identical Z (test/kept-tape.test.ts).
 */
import { tf } from '../tf.js';
import type { TaskConfig } from '../config/types.js';
import type { MultiTaskModel } from '../model/types.js';
import { maskedTaskLoss } from './losses.js';
import type { Batch } from './step.js';
import { recordTasks, taskGradients as oneTaskGradients } from './task-gradients.js';

function lossesAt(model: MultiTaskModel, batch: Batch, tasks: readonly TaskConfig[]): Float32Array {
  const stacked = tf.tidy(() => {
    const { outputs } = model.forward(batch.x, true);
    return tf.stack(tasks.map((task) => maskedTaskLoss(task, outputs[task.name] as tf.Tensor2D, batch)));
  });
  const values = stacked.dataSync() as Float32Array;
  stacked.dispose();
  return values;
}

/** One task's gradients of the shared variables as one vector (a variable without a gradient counts as zeros). */
function flatGradient(shared: readonly tf.Variable[], grads: Record<string, tf.Tensor>): Float32Array {
  const flat = tf.tidy(() => tf.concat(shared.map((v) => (grads[v.name] ?? tf.zerosLike(v)).reshape([-1]))));
  const values = flat.dataSync() as Float32Array;
  flat.dispose();
  return values;
}

/** The paper's lookahead θ_s − η∇_{θ_s}L_i (`analysis.affinity_lookahead: sgd`): new tensors the caller disposes. */
export function sgdLookahead(
  model: MultiTaskModel,
  gradients: Record<string, tf.Tensor>,
  learningRate: number,
): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const v of model.sharedVariables) {
    const g = gradients[v.name];
    if (g) out[v.name] = tf.tidy(() => tf.sub(v, tf.mul(g, learningRate)));
  }
  return out;
}

/**
 * Z (T×T, Z[i][j] = Z_{i→j}) at the current parameters on `batch`; `lookahead` is the optimizer's, with the step's
 * learning rate bound. The model's shared variables hold their previous values again when it returns.
 */
export function measureAffinity(
  model: MultiTaskModel,
  batch: Batch,
  tasks: readonly TaskConfig[],
  lookahead: (gradients: Record<string, tf.Tensor>) => Record<string, tf.Tensor>,
  /** When given, each task's gradient of the shared parameters, flattened in `sharedVariables` order, goes here. */
  taskGradients?: Float32Array[],
): number[][] {
  const shared = model.sharedVariables;
  // Validation refuses affinity where nothing is shared; variableGrads would take every variable for an empty list.
  if (shared.length === 0) return tasks.map(() => tasks.map(() => NaN));
  // Every task's gradient at θ_s first, from one recorded forward pass: the losses L_j(X, θ_s) come with them.
  const tape = recordTasks(model, batch.x);
  const measured = tasks.map((task) => oneTaskGradients(model, tape, task, batch, [], shared));
  tape?.dispose();
  const before = Float32Array.from(measured, ({ loss }) => loss.dataSync()[0]!);
  for (const { loss } of measured) loss.dispose();
  const saved = shared.map((v) => tf.clone(v));
  try {
    return measured.map(({ grads }) => {
      if (taskGradients) taskGradients.push(flatGradient(shared, grads));
      const next = lookahead(grads);
      tf.dispose(Object.values(grads));
      for (const v of shared) {
        const updated = next[v.name];
        if (updated) v.assign(updated);
      }
      tf.dispose(Object.values(next));
      const after = lossesAt(model, batch, tasks);
      shared.forEach((v, k) => v.assign(saved[k]!));
      return tasks.map((_, j) => 1 - after[j]! / before[j]!);
    });
  } finally {
    shared.forEach((v, k) => v.assign(saved[k]!));
    tf.dispose(saved);
    // Disposing twice is harmless: what an error left behind goes too.
    for (const { grads } of measured) tf.dispose(Object.values(grads));
  }
}
