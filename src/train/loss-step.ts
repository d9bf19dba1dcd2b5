import { tf } from '../tf.js';
import type { TaskConfig } from '../config/types.js';
import { withAdversaryLoss } from '../adversarial/adversary-step.js';
import { UsageError } from '../errors.js';
import { gradientsByName, Recording } from '../model/kept-tape.js';
import type { MultiTaskModel } from '../model/types.js';
import type { LossWeightingStrategy, StrategyContext } from '../strategies/types.js';
import { heldWhereUnlabelled, maskedTaskLoss } from './losses.js';
import { addPenalty } from './penalty.js';
import type { Batch, StepGradients } from './step.js';
import { stepPaths, taskGradients } from './task-gradients.js';

/** Every task's batch loss on the model's outputs, in task order. */
export function lossesOf(
  outputs: Record<string, tf.Tensor2D>,
  batch: Batch,
  tasks: readonly TaskConfig[],
): tf.Scalar[] {
  return tasks.map((task) => maskedTaskLoss(task, outputs[task.name] as tf.Tensor2D, batch));
}

/**
 * Loss-weighting strategies: one forward, one backward of Σ (strategy-combined losses) + penalty with respect to
 * every trainable variable; then, for a strategy that learns from them (GradNorm), the task gradient norms at the
 * model's last shared layer on the same batch and parameters. GradNorm's norms come from the step's own forward pass,
 * kept on TF.js's tape (model/kept-tape.ts `Recording`): per task, a backward pass from its loss through the heads and
 * W only. Without the kept tape (`stepPaths.retainedTrunk = false`) they take a forward pass of their own; both ways
 * give bit-identical numbers (test/forward-tape.test.ts, test/kept-tape.test.ts).
 */
export function lossStep(
  model: MultiTaskModel,
  strategy: LossWeightingStrategy,
  batch: Batch,
  tasks: readonly TaskConfig[],
  trainable: tf.Variable[],
  context: StrategyContext,
): StepGradients {
  const learn = strategy.learnFromLastSharedLayerNorms?.bind(strategy);
  const layer = learn ? lastSharedLayer(model) : [];
  const recorded = learn && stepPaths.retainedTrunk ? Recording.start() : undefined;
  const trainingLoss = (): { total: tf.Scalar; losses: tf.Scalar[]; stacked: tf.Tensor1D } => {
    const { outputs } = model.forward(batch.x, true);
    const losses = lossesOf(outputs, batch, tasks);
    const stacked = tf.stack(losses) as tf.Tensor1D;
    const combined = strategy.combineLosses(heldWhereUnlabelled(losses, batch, tasks), context);
    return { total: withAdversaryLoss(model, outputs, batch, addPenalty(model, combined, batch)), losses, stacked };
  };
  if (recorded) {
    try {
      const { total, losses, stacked } = recorded.run(trainingLoss);
      const gradients = Object.fromEntries(gradientsByName(recorded, total, trainable));
      const perTask = losses.map((loss) => normOf([...gradientsByName(recorded, loss, layer).values()]));
      const norms = tf.stack(perTask);
      tf.dispose([total, ...losses, ...perTask]);
      learn?.(norms as tf.Tensor1D, stacked);
      norms.dispose();
      return { gradients, taskLosses: stacked };
    } finally {
      recorded.dispose();
    }
  }
  let taskLosses: tf.Tensor1D | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const { total, stacked } = trainingLoss();
    taskLosses = tf.keep(stacked);
    return total;
  }, trainable);
  value.dispose();
  const stepLosses = taskLosses as tf.Tensor1D;
  if (learn) {
    const norms = lastSharedLayerNorms(model, layer, batch, tasks);
    learn(norms, stepLosses);
    norms.dispose();
  }
  return { gradients: grads, taskLosses: stepLosses };
}

/** GradNorm's W: the model's last shared layer of weights (kernel and bias); a usage error where there is none. */
function lastSharedLayer(model: MultiTaskModel): tf.Variable[] {
  const layer = model.lastSharedLayer ?? [];
  if (layer.length === 0) {
    throw new UsageError(
      `this strategy measures task gradient norms at the last shared layer of weights, and architecture ` +
        `"${model.architecture}" has none; use an architecture with a shared trunk or shared experts`,
    );
  }
  return layer;
}

/** ‖g‖ over the gradients of W, summing squares in W's order; frees the gradients. */
function normOf(grads: tf.Tensor[]): tf.Scalar {
  const norm = tf.tidy(() => tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))) as tf.Scalar);
  tf.dispose(grads);
  return norm;
}

/**
 * n_i = ‖∇_W L_i‖ per task, each on a forward pass of its own (the way without the kept tape): `tf.variableGrads` of
 * L_i with respect to W. At the step already numbered (same dropout masks; batch-norm statistics do not move again).
 */
function lastSharedLayerNorms(
  model: MultiTaskModel,
  layer: tf.Variable[],
  batch: Batch,
  tasks: readonly TaskConfig[],
): tf.Tensor1D {
  const norms = tasks.map((task) => {
    const { loss, grads } = taskGradients(model, undefined, task, batch, [], layer);
    loss.dispose();
    return normOf(Object.values(grads));
  });
  const stacked = tf.stack(norms) as tf.Tensor1D;
  for (const n of norms) n.dispose();
  return stacked;
}
