import { tf } from '../../tf.js';
import { lambdaAt } from '../../adversarial/lambda-schedule.js';
import { lambdaOptionSchema, lambdaSchedule } from '../../adversarial/lambda-option.js';
import { orthogonalityPenalty } from '../../adversarial/orthogonality.js';
import { TaskDiscriminator } from '../../adversarial/task-discriminator.js';
import type { AdversaryMeasure } from '../../adversarial/feature-adversary.js';
import type { ModelConfig } from '../../config/types.js';
import { enumOption, numberListOption, numberOption } from '../../util/options.js';
import { buildHeads } from '../heads.js';
import { lastKernelLayerOfTrunk, lastKernelLayerVariables } from '../last-shared-layer.js';
import { layerShapeProblems } from '../layers/plan.js';
import { layerDefinition, type LayerConfig } from '../layers/registry.js';
import { LayerStack } from '../layers/stack.js';
import { StepClock } from '../step-clock.js';
import type { ArchitectureDefinition, MultiTaskModel, PenaltyInput } from '../types.js';

/**
 * Adversarial shared–private MTL (Liu, Qiu & Huang, "Adversarial Multi-task Learning for Text Classification",
 * ACL 2017, ASP-MTL): a shared encoder S (`trunk`), one private encoder P_t per task (`private`, default: the trunk's
 * layers), and head t on the concatenation [S(x), P_t(x)]:
 *
 *   ŷ_t = head_t([S(x), P_t(x)])
 *   loss = Σ_t w_t L_t + γ · L_diff + β · L_adv
 *   L_diff = Σ_t ‖S_tᵀ P_t‖²_F           (orthogonality, eq. 13; S_t, P_t: the features of task t's n_t labelled
 *                                        rows in the batch)
 *   L_adv  = CE(D(R_λ(S(x))), task of x) (task discriminator behind gradient reversal, eqs. 10–11)
 *
 * That is the default (`orthogonality_scale: sum`, the paper's). The paper's sum over rows grows with the batch size
 * squared (its batch is fixed): undivided, γ = 0.01 dominated the task losses of a 2-epoch multi-digits conv run
 * (test accuracy 0.14, chance 0.1). `orthogonality_scale: mean` (ours, named) divides task t's term by n_t², so γ
 * weighs the mean cross-product of shared and private features whatever the batch size (the same run: 0.67). γ is
 * `orthogonality`; `task_discriminator: { weight: β, lambda: λ (a number or a DANN schedule), hidden }` adds
 * the discriminator. It tells tasks apart by their inputs, so it needs a multi-input run (tasks with their own
 * data): with one input per row every row belongs to every task, and validation refuses it
 * (adversarial/config.ts). The discriminator's variables are in `sharedVariables` (no task loss reaches them: the
 * gradient combiners see zeros there; the penalty trains them). No encode/decode: head t reads P_t(x) besides S(x),
 * so there is no one representation the heads read (representation gradients and a feature `adversary:` are
 * refused). The last shared layer (GradNorm) is the trunk's last layer of weights.
 */
export const sharedPrivate: ArchitectureDefinition = {
  name: 'shared-private',
  description:
    'Shared encoder + one private encoder per task, heads on [shared, private]; orthogonality penalty ' +
    'and an optional task discriminator behind gradient reversal (ASP-MTL)',
  paper: 'Liu, Qiu & Huang, "Adversarial Multi-task Learning for Text Classification", ACL 2017',
  optionsSchema: {
    private: {
      type: 'array',
      items: { $ref: '#/definitions/layer' },
      description: "Layers of each task's private encoder (absent: the trunk's layers).",
    },
    orthogonality: {
      type: 'number',
      minimum: 0,
      default: 0.01,
      description: 'γ: weight of the orthogonality penalty Σ_t ‖S_tᵀ P_t‖²_F (0: none).',
    },
    orthogonality_scale: {
      enum: ['sum', 'mean'],
      default: 'sum',
      description:
        "sum: the paper's Σ_t ‖S_tᵀ P_t‖²_F over the batch's rows; mean: each task's term divided by n_t² (its rows " +
        'in the batch), so γ does not grow with the batch size.',
    },
    task_discriminator: {
      type: 'object',
      additionalProperties: false,
      description:
        'A discriminator on the shared features behind gradient reversal, predicting which task a row came from ' +
        '(multi-input runs only).',
      properties: {
        weight: { type: 'number', minimum: 0, default: 0.05, description: 'β: weight of L_adv in the loss.' },
        lambda: lambdaOptionSchema({
          default: 1,
          minimum: 0,
          description: 'λ of the reversal layer: a number, or { max, schedule: dann, gamma }.',
        }),
        hidden: { type: 'array', items: { type: 'integer', minimum: 1 }, default: [] },
      },
    },
  },
  hasSharedRepresentation: false,
  lastSharedLayer: (config) => lastKernelLayerOfTrunk(config, 'of the shared encoder'),
  checkConfig(config) {
    const layers = privateLayers(config);
    return config['private'] === undefined
      ? []
      : layerShapeProblems(layers).map((p) => ({ path: ['private', p.index], message: p.message }));
  },
  build(config, { inputSize, heads, rng }) {
    const gamma = numberOption(config, 'model.orthogonality', 0.01, { minimum: 0 });
    const perRowPair = enumOption(config, 'model.orthogonality_scale', ['sum', 'mean'] as const, 'sum') === 'mean';
    const adversarial = taskDiscriminatorOptions(config);
    const clock = new StepClock(rng.fork('dropout').seed31());
    const trunk = new LayerStack('shared', inputSize, config.trunk, rng.fork('trunk'), clock);
    const privates = heads.map(
      (head) =>
        new LayerStack(
          `tasks/${head.name}/private`,
          inputSize,
          privateLayers(config),
          rng.fork(`private/${head.name}`),
          clock,
          {
            label: config['private'] === undefined ? 'model.trunk' : 'model.private',
          },
        ),
    );
    const headInput = trunk.outputSize + (privates[0]?.outputSize ?? 0);
    const taskHeads = buildHeads(heads, headInput, config.head, rng.fork('heads'), clock);
    const discriminator =
      adversarial &&
      new TaskDiscriminator(
        'task-discriminator',
        trunk.outputSize,
        adversarial.hidden,
        heads.map((h) => h.name),
        rng.fork('task-discriminator'),
      );
    const encodeAll = (x: tf.Tensor2D, training: boolean) => ({
      shared: trunk.apply(x, training),
      private: privates.map((p) => p.apply(x, training)),
    });
    const penalty = (input?: PenaltyInput): tf.Scalar =>
      tf.tidy(() => {
        // Without the step's batch (a caller outside the step) there are no features to penalise.
        if (!input) return tf.scalar(0);
        const features = encodeAll(input.x, true);
        const terms: tf.Scalar[] = [];
        if (gamma > 0) {
          const perTask = heads.map((head, t) => {
            // S_tᵀ P_t = Σ_{r ∈ rows of t} s_r p_rᵀ: the other rows' shared features are zeroed (a gather's
            // gradient needs a kernel the wasm backend lacks).
            const rows = input.labelled?.[head.name];
            const shared = rows
              ? tf.mul<tf.Tensor2D>(features.shared, rowMask(rows, input.x.shape[0]))
              : features.shared;
            const penalty = orthogonalityPenalty(shared, features.private[t]!);
            if (!perRowPair) return penalty;
            const count = Math.max(1, rows ? rows.length : input.x.shape[0]);
            return tf.div<tf.Scalar>(penalty, count * count);
          });
          terms.push(tf.mul(tf.addN(perTask), gamma));
        }
        if (discriminator && adversarial && input.groups) {
          const lambda = lambdaAt(adversarial.lambda, input.progress ?? 1);
          terms.push(tf.mul(discriminator.loss(features.shared, input.groups, lambda), adversarial.weight));
        }
        return terms.length > 0 ? tf.addN(terms) : tf.scalar(0);
      });
    const model: MultiTaskModel = {
      architecture: 'shared-private',
      sharedVariables: [...trunk.trainable, ...(discriminator?.variables ?? [])],
      lastSharedLayer: lastKernelLayerVariables([trunk]),
      taskVariables: Object.fromEntries(
        taskHeads.map((head, t) => [head.spec.name, [...privates[t]!.trainable, ...head.trainable]]),
      ),
      stateVariables: [...trunk.state, ...privates.flatMap((p) => p.state), ...taskHeads.flatMap((h) => h.state)],
      setStep: (step) => {
        clock.step = step;
      },
      forward(x, training) {
        const outputs = tf.tidy(() => {
          const features = encodeAll(x, training);
          const byTask: Record<string, tf.Tensor2D> = {};
          taskHeads.forEach((head, t) => {
            byTask[head.spec.name] = head.apply(tf.concat([features.shared, features.private[t]!], 1), training);
          });
          return byTask;
        });
        return { outputs };
      },
      ...(gamma > 0 || discriminator ? { penalty } : {}),
      ...(discriminator
        ? {
            measureAdversaries: (x: tf.Tensor2D, groups: PenaltyInput['groups']): Record<string, AdversaryMeasure> => {
              if (!groups) return {};
              const shared = tf.tidy(() => trunk.apply(x, false));
              const measured = discriminator.measure(shared, groups);
              shared.dispose();
              return { 'task-discriminator': measured };
            },
          }
        : {}),
      dispose() {
        trunk.dispose();
        for (const p of privates) p.dispose();
        for (const head of taskHeads) head.dispose();
        discriminator?.dispose();
      },
    };
    return model;
  },
};

/** The private encoders' layers: `private`, or a copy of the trunk's. */
function privateLayers(config: ModelConfig): LayerConfig[] {
  const given = config['private'];
  const layers = Array.isArray(given) ? (given as LayerConfig[]) : config.trunk;
  return layers.map((layer) => {
    const copy = { ...layer };
    layerDefinition(copy).fillDefaults?.(copy);
    return copy;
  });
}

export interface TaskDiscriminatorOptions {
  weight: number;
  lambda: ReturnType<typeof lambdaSchedule>;
  hidden: number[];
}

/** `task_discriminator`, or undefined when the config has none. */
export function taskDiscriminatorOptions(config: ModelConfig): TaskDiscriminatorOptions | undefined {
  const given = config['task_discriminator'];
  if (!isRecord(given)) return undefined;
  const at = 'model.task_discriminator';
  return {
    weight: numberOption(given, `${at}.weight`, 0.05, { minimum: 0 }),
    lambda: lambdaSchedule(given['lambda'], 1),
    hidden: numberListOption(given, `${at}.hidden`, { minimum: 1 }) ?? [],
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A [rows, 1] column of 1 at `rows`, 0 elsewhere. */
function rowMask(rows: Int32Array, length: number): tf.Tensor2D {
  const mask = new Float32Array(length);
  for (const row of rows) mask[row] = 1;
  return tf.tensor2d(mask, [length, 1]);
}
