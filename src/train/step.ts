import { tf } from '../tf.js';
import type { TaskConfig } from '../config/types.js';
import type { MultiTaskModel, RowGroups } from '../model/types.js';
import { addInto, addPenalty, addPenaltyGradients } from './penalty.js';
import { lossesOf, lossStep } from './loss-step.js';
import type { GradientCombiner } from '../strategies/gradient/types.js';
import type { Strategy, StrategyContext } from '../strategies/types.js';
import { heldValuesWhereUnlabelled, labelledTasks } from './losses.js';
import { applyTaskScaling, stepScaling, type StepScaling } from './task-scaling.js';
import { cosineMatrix, stepVectors } from '../numerics/index.js';
import { adversaryGradients, adversaryLossOn } from '../adversarial/adversary-step.js';
import {
  extraSampleGradients,
  extraSamplesNeededBy,
  flattenInto,
  headGradients,
  recordTasks,
  recordRepresentation,
  type TermsBelowZ,
  taskGradients,
  unflatten,
} from './task-gradients.js';

/** Which way gradient steps run (train/task-gradients.ts): re-exported for the benchmark, beside `trainingStep`. */
export { stepPaths } from './task-gradients.js';

/** One batch: inputs and, per task, targets in training form. */
export interface Batch {
  x: tf.Tensor2D;
  targets: Record<string, tf.Tensor2D>;
  /**
   * Per task with rows missing its label (data.missing_targets: mask), the positions in the batch of the rows that
   * have it; a task not listed has every row's label. The task's loss is the mean over these rows (train/losses.ts).
   */
  labelled?: Record<string, Int32Array>;
  /** Per row, its data group (multi-input runs, train/multi-input-batches.ts); read by batch-dependent penalties. */
  groups?: RowGroups;
  /** Training progress p ∈ [0, 1] at this step (the trainer sets it; λ schedules of penalties read it). */
  progress?: number;
  /** Per row, its domain's index (runs with data.domains; set with `groups` by adversarial/training.ts). */
  domains?: Int32Array;
}

/** Gradients keyed by variable name, and the per-task batch losses (a kept [T] tensor, read lazily). */
export interface StepGradients {
  gradients: Record<string, tf.Tensor>;
  taskLosses: tf.Tensor1D;
  /** Pairwise cosine similarities of the task gradients (T×T), when the step computed them. */
  cosines?: number[][];
}

/**
 * One training step's gradients, as the strategy needs them computed: the only dispatch on what a strategy needs
 * (used by the trainer, the benchmark and the tests). `trainable` and `context` serve loss weighting: gradient
 * strategies differentiate the shared and task variables themselves. `extraBatches` are other batches for the
 * combiners that need independent samples ({@link extraSamplesNeeded}); the caller keeps and disposes them.
 */
export function trainingStep(
  model: MultiTaskModel,
  strategy: Strategy,
  batch: Batch,
  tasks: readonly TaskConfig[],
  trainable: tf.Variable[],
  context: StrategyContext,
  extraBatches: readonly Batch[] = [],
): StepGradients {
  switch (strategy.needs) {
    case 'losses':
      return lossStep(model, strategy, batch, tasks, trainable, context);
    case 'parameter-gradients':
      return parameterGradientStep(
        model,
        strategy.combiner,
        batch,
        tasks,
        extraBatches,
        stepScaling(strategy, context),
      );
    case 'representation-gradients':
      return representationGradientStep(model, strategy.combiner, batch, tasks, stepScaling(strategy, context));
  }
}

/**
 * After the optimizer step, for a loss-weighting strategy that learns from the task losses at the new parameters on
 * the same batch (FAMO's Δ = log L(θ_t) − log L(θ_{t+1})): one more forward pass, in training mode at the same step
 * (the same dropout masks as the step's own pass; batch-norm statistics do not move again). Nothing otherwise.
 */
export function afterOptimizerStep(
  model: MultiTaskModel,
  strategy: Strategy,
  batch: Batch,
  tasks: readonly TaskConfig[],
): void {
  if (!strategy.learnFromLossesAfterStep) return;
  const losses = tf.tidy(() => {
    const { outputs } = model.forward(batch.x, true);
    return tf.stack(lossesOf(outputs, batch, tasks)) as tf.Tensor1D;
  });
  strategy.learnFromLossesAfterStep(losses);
  losses.dispose();
}

/** How many other batches per step a strategy needs besides its own (SDMGrad's and MoDo's independent samples). */
export function extraSamplesNeeded(strategy: Strategy): number {
  return strategy.needs === 'losses' ? 0 : extraSamplesNeededBy(strategy.combiner);
}

/**
 * Gradient strategies on the shared parameters: T backward passes (one per task) give each task's gradient of the
 * shared parameters, from one forward pass: of the recorded shared part (hard sharing's trunk, MMoE's experts) or,
 * where the model records none, of the whole model on TF.js's kept tape; the strategy's combiner turns them into one.
 * Task parameters keep their own gradient (times the combiner's `taskScales`). A combiner that needs independent
 * samples also gets the task gradients of the shared parameters on other batches (`extraBatches`, T passes each), for
 * its estimates only.
 */
function parameterGradientStep(
  model: MultiTaskModel,
  combiner: GradientCombiner,
  batch: Batch,
  tasks: readonly TaskConfig[],
  extraBatches: readonly Batch[],
  scaling?: StepScaling,
): StepGradients {
  const shared = model.sharedVariables;
  const size = shared.reduce((n, v) => n + v.size, 0);
  const t = tasks.length;
  const vectors = stepVectors(t * (1 + extraSamplesNeededBy(combiner)), size);
  const extraSamples = extraSampleGradients(model, combiner, tasks, extraBatches, vectors.slice(t));
  const gradients: Record<string, tf.Tensor> = {};
  const flats: Float32Array[] = [];
  const lossValues: tf.Scalar[] = [];
  const tape = recordTasks(model, batch.x);
  tasks.forEach((task) => {
    const own = model.taskVariables[task.name] ?? [];
    const { loss, grads } = taskGradients(model, tape, task, batch, own);
    lossValues.push(loss);
    flats.push(flattenInto(grads, shared, vectors[flats.length]!));
    for (const v of shared) grads[v.name]?.dispose();
    for (const v of own) gradients[v.name] = grads[v.name] as tf.Tensor;
  });
  // From the same recorded forward pass where the tape has the adversaries' outputs; added after the penalty's.
  const adversary = adversaryGradients(model, batch.x, batch, tape);
  tape?.dispose();
  const losses = lossValues.map((v) => v.dataSync()[0]!);
  applyTaskScaling(scaling, heldValuesWhereUnlabelled(losses, batch, tasks), flats, model, tasks, gradients);
  const { combined, taskScales } = combiner.combine({
    grads: flats,
    losses,
    segments: shared.map((v) => v.size),
    ...(extraSamples.length > 0 ? { extraSamples } : {}),
    ...labelledTasks(batch, tasks),
  });
  scaleTaskGradients(model, tasks, gradients, taskScales);
  unflatten(combined, shared).forEach((t, k) => {
    gradients[shared[k]!.name] = t;
  });
  addPenaltyGradients(model, tasks, gradients, batch);
  if (adversary) addInto(gradients, adversary);
  const taskLosses = tf.stack(lossValues) as tf.Tensor1D;
  for (const v of lossValues) v.dispose();
  return { gradients, taskLosses, cosines: cosineMatrix(flats) };
}

/**
 * Multiplies each task's own-parameter gradients by the combiner's `taskScales` (Nash-MTL backpropagates Σ α_i L_i,
 * so head i gets α_i ∇L_i); nothing to do when the combiner gives none.
 */
function scaleTaskGradients(
  model: MultiTaskModel,
  tasks: readonly TaskConfig[],
  gradients: Record<string, tf.Tensor>,
  taskScales: readonly number[] | undefined,
): void {
  if (!taskScales) return;
  tasks.forEach((task, i) => {
    const scale = taskScales[i] ?? 1;
    if (scale === 1) return;
    for (const v of model.taskVariables[task.name] ?? []) {
      const gradient = gradients[v.name];
      if (!gradient) continue;
      gradients[v.name] = tf.tidy(() => tf.mul(gradient, scale));
      gradient.dispose();
    }
  });
}

/**
 * Gradient strategies on the shared representation z = encode(x): per-task gradients ∂L_t/∂z need only the heads;
 * the combined ∂z is pushed through the trunk once: the backward pass from ∂z of the trunk recorded on the steps' own
 * tape, or of `encode` on TF.js's kept tape (model/kept-tape.ts), where a penalty or adversary adds its terms below z
 * (the surrogate loss Σ z ⊙ stop(∂z) + penalty + adversary loss, recorded on the same tape). Without a recorded z
 * (`stepPaths.retainedTrunk = false`) the trunk runs forward a second time inside TF.js's tape for that surrogate:
 * its gradient with respect to z is ∂z exactly (1·∂z), and the dropout masks are the same (they depend on the step).
 */
function representationGradientStep(
  model: MultiTaskModel,
  combiner: GradientCombiner,
  batch: Batch,
  tasks: readonly TaskConfig[],
  scaling?: StepScaling,
): StepGradients {
  if ((combiner.independentSamples ?? 1) > 1) {
    // Validation refuses representation gradients for such methods: the parts' gradients would touch disjoint rows.
    throw new Error('a combiner that needs independent samples runs on parameter gradients only');
  }
  const encode = model.encode;
  // Validation refuses representation gradients on an architecture without a shared representation.
  if (!encode || !model.decode) throw new Error('representation gradients on a model without encode/decode');
  const gradients: Record<string, tf.Tensor> = {};
  // Input adapters sit before z: the heads do not reach them; the combined ∂z trains them below, with the trunk.
  const beforeZ = model.inputVariables ?? [];
  // A penalty or an adversary adds terms of its own below z: the combined ∂z goes down with them.
  const terms: TermsBelowZ | undefined =
    model.penalty || model.adversaries
      ? {
          loss: (z, dz) => {
            const surrogate = tf.sum(tf.mul(z, dz)) as tf.Scalar;
            return model.adversaries
              ? tf.add(addPenalty(model, surrogate, batch), adversaryLossOn(model, z, batch))
              : addPenalty(model, surrogate, batch);
          },
          variables: model.adversaries?.variables ?? [],
        }
      : undefined;
  const tape = recordRepresentation(model, batch.x, beforeZ, terms);
  const representation = tape ? tape.output : tf.tidy(() => encode(batch.x, true));
  const flats: Float32Array[] = [];
  const losses: number[] = [];
  tasks.forEach((task) => {
    const own = (model.taskVariables[task.name] ?? []).filter((v) => !beforeZ.includes(v));
    const head = headGradients(model, representation, task, batch, own);
    losses.push(head.loss.dataSync()[0]!);
    head.loss.dispose();
    flats.push(head.representation.dataSync() as Float32Array);
    head.representation.dispose();
    own.forEach((v, k) => {
      gradients[v.name] = head.own[k]!;
    });
  });
  applyTaskScaling(scaling, heldValuesWhereUnlabelled(losses, batch, tasks), flats, model, tasks, gradients);
  const { combined, taskScales } = combiner.combine({
    grads: flats,
    losses,
    activations: representation.dataSync() as Float32Array,
    rows: representation.shape[0] ?? 1,
    ...labelledTasks(batch, tasks),
  });
  scaleTaskGradients(model, tasks, gradients, taskScales);
  const combinedZ = tf.tensor(combined, representation.shape, 'float32');
  if (tape) {
    for (const [name, gradient] of tape.backward(combinedZ)) gradients[name] = gradient;
    tape.dispose();
  } else {
    const { value, grads } = tf.variableGrads(() => {
      const z = encode(batch.x, true);
      return terms ? terms.loss(z, combinedZ) : tf.sum(tf.mul(z, combinedZ));
    }, [...model.sharedVariables, ...beforeZ, ...(terms?.variables ?? [])]);
    value.dispose();
    representation.dispose();
    Object.assign(gradients, grads);
  }
  combinedZ.dispose();
  return { gradients, taskLosses: tf.tensor1d(losses), cosines: cosineMatrix(flats) };
}

/** Scales all gradients so their global L2 norm is at most `maxNorm` (Pascanu et al. 2013), without a sync. */
export function clipByGlobalNorm(gradients: Record<string, tf.Tensor>, maxNorm: number): Record<string, tf.Tensor> {
  if (maxNorm <= 0) return gradients;
  const clipped = tf.tidy(() => {
    const list = Object.values(gradients);
    const norm = tf.sqrt(tf.addN(list.map((g) => tf.sum(tf.square(g)))));
    const scale = tf.minimum(1, tf.div(maxNorm, tf.maximum(norm, 1e-12)));
    return Object.fromEntries(Object.entries(gradients).map(([name, g]) => [name, tf.mul(g, scale)]));
  });
  for (const g of Object.values(gradients)) g.dispose();
  return clipped;
}
