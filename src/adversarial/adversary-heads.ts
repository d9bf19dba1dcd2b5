import { tf } from '../tf.js';
import type { LayerConfig, TaskConfig } from '../config/types.js';
import { TaskHead } from '../model/heads.js';
import { StepClock } from '../model/step-clock.js';
import type { HeadSpec, MultiTaskModel } from '../model/types.js';
import { gradientReversal } from '../ops/gradient-reversal.js';
import type { Rng } from '../util/rng.js';
import { lambdaAt, type LambdaSchedule } from './lambda-schedule.js';

/**
 * Adversarial heads on the shared representation (issue #18; Ganin & Lempitsky, "Unsupervised Domain Adaptation by
 * Backpropagation", ICML 2015; seed 000's task-adversarial training). Each adversary a reads the shared
 * representation z through the gradient reversal layer R_λ (ops/gradient-reversal.ts):
 *
 *   ŷ_a = head_a(R_λ(flatten(z)))      R_λ: identity forward, −λ·∂ backward
 *
 * so one backward pass of L = Σ_t L_t + Σ_a L_a gives the head ∂L_a/∂θ_a (it learns to predict its target) and the
 * trunk ∂L_t/∂θ_s − λ ∂L_a/∂θ_s (it learns to remove what z says about a's target): the min-max
 * min_{θ_s, θ_t} max_{θ_a} Σ_t L_t − λ L_a of seed 000 §9.2 in one step. λ follows its schedule over training
 * progress p = global step / total steps (`setProgress`), so a resumed run sees the same λ at the same step.
 */
export interface Adversaries {
  readonly names: readonly string[];
  readonly tasks: readonly TaskConfig[];
  /** Every adversary head's trainable variables (also in the model's `taskVariables`, keyed by the adversary). */
  readonly variables: tf.Variable[];
  /** Sets λ of every adversary from training progress p ∈ [0, 1]. */
  setProgress(progress: number): void;
  /** λ of an adversary now (after the last `setProgress`). */
  lambda(name: string): number;
  /** The adversaries' raw outputs on the shared representation, each behind its reversal layer. */
  outputsOn(representation: tf.Tensor, training: boolean): Record<string, tf.Tensor2D>;
}

export interface AdversarySpec {
  task: TaskConfig;
  head: HeadSpec;
  schedule: LambdaSchedule;
}

/**
 * The model with adversary heads: `forward` and `decode` also give each adversary's output (read from the shared
 * representation behind the reversal layer); `taskVariables` and `stateVariables` include the heads' (so checkpoints,
 * parameter counts and `init:` selectors see them); `adversaries` is what training asks for λ and the variables.
 * The architecture must have a shared representation (validation refuses the others, adversarial/rules.ts).
 */
export function withAdversaries(
  model: MultiTaskModel,
  specs: readonly AdversarySpec[],
  hiddenLayers: readonly LayerConfig[],
  inputSize: number,
  rng: Rng,
): MultiTaskModel {
  const encode = model.encode;
  const decode = model.decode;
  if (!encode || !decode) {
    model.dispose();
    throw new Error(`architecture "${model.architecture}" has no shared representation for an adversary`);
  }
  const width = tf.tidy(() => encode(tf.zeros([1, inputSize]), false).size);
  // Adversary heads have no dropout clock of the model's: their own, stepped with the model's.
  const clock = new StepClock(rng.fork('dropout').seed31());
  const heads = specs.map((spec) => new TaskHead(spec.head, width, hiddenLayers, rng.fork(spec.head.name), clock));
  const lambdas = new Map(specs.map((spec) => [spec.head.name, lambdaAt(spec.schedule, 0)]));
  const adversaries: Adversaries = {
    names: specs.map((spec) => spec.head.name),
    tasks: specs.map((spec) => spec.task),
    variables: heads.flatMap((head) => head.trainable),
    setProgress(progress) {
      for (const spec of specs) lambdas.set(spec.head.name, lambdaAt(spec.schedule, progress));
    },
    lambda: (name) => lambdas.get(name) ?? NaN,
    outputsOn(representation, training) {
      const flat = tf.reshape(representation, [representation.shape[0] ?? -1, width]) as tf.Tensor2D;
      const outputs: Record<string, tf.Tensor2D> = {};
      for (const head of heads) {
        outputs[head.spec.name] = head.apply(gradientReversal(flat, lambdas.get(head.spec.name) ?? 0), training);
      }
      return outputs;
    },
  };
  const penalty = model.penalty;
  const decodeAll = (z: tf.Tensor, training: boolean): Record<string, tf.Tensor2D> => ({
    ...decode(z, training),
    ...adversaries.outputsOn(z, training),
  });
  const wrapped: MultiTaskModel = {
    architecture: model.architecture,
    sharedVariables: model.sharedVariables,
    taskVariables: {
      ...model.taskVariables,
      ...Object.fromEntries(heads.map((head) => [head.spec.name, head.trainable])),
    },
    stateVariables: [...model.stateVariables, ...heads.flatMap((head) => head.state)],
    ...(model.lastSharedLayer ? { lastSharedLayer: model.lastSharedLayer } : {}),
    ...(penalty ? { penalty: () => penalty.call(model) } : {}),
    adversaries,
    setStep(step) {
      model.setStep(step);
      clock.step = step;
    },
    encode,
    decode: decodeAll,
    forward(x, training) {
      const result = model.forward(x, training);
      const representation = result.representation ?? encode(x, training);
      return { representation, outputs: { ...result.outputs, ...adversaries.outputsOn(representation, training) } };
    },
    dispose() {
      model.dispose();
      for (const head of heads) head.dispose();
    },
  };
  return wrapped;
}
