/**
 * The trainer's view of the adversaries of a run (train/trainer.ts calls these hooks): the feature discriminator of
 * `adversary:` (feature-adversary.ts), and the adversaries a model trains itself (shared–private's task
 * discriminator, reported through `model.measureAdversaries`).
 *
 * Per step: the discriminator's k steps on the batch, then the model step with the model's penalty plus
 * w · L_G. Per epoch: every adversary measured on the validation split (the training split when it is empty).
 */
import { DOMAIN_TASK } from './domains.js';
import { tf } from '../tf.js';
import type { ResolvedConfig } from '../config/types.js';
import type { GroupRows } from '../data/multi-input.js';
import type { SplitName } from '../data/split.js';
import type { MultiTaskModel, PenaltyInput, RowGroups } from '../model/types.js';
import type { PreparedData } from '../data/prepare.js';
import type { EpochRecord } from '../runs/records.js';
import type { Batch } from '../train/step.js';
import type { SplitTensors } from '../train/tensors.js';
import type { MultiInputPlan } from '../train/multi-input-batches.js';
import {
  type AdversaryMeasure,
  FeatureAdversary,
  type FeatureAdversaryState,
  featureWidth,
} from './feature-adversary.js';

export interface TrainerAdversaries {
  /** The model the step differentiates: the model, with w · L_G added to its penalty. */
  stepModel: MultiTaskModel;
  /** Marks the batch with its rows' data groups and the training progress, then the discriminator's k steps. */
  beforeStep(batch: Batch, progress: number): void;
  /** D's variables and its optimizer's slots, for the `last` checkpoint. */
  checkpointVariables(): tf.Variable[];
  state(): FeatureAdversaryState | undefined;
  restore(state: FeatureAdversaryState | undefined): void;
  /** The epoch's `adversaries` record, measured on the validation split (train where it is empty). */
  measure(splits: { train: SplitTensors; val: SplitTensors }, epoch: number): EpochRecord['adversaries'];
  dispose(): void;
}

/** The run's adversaries, or undefined when it has none (then the trainer runs exactly as before). */
export function trainerAdversaries(
  config: ResolvedConfig,
  model: MultiTaskModel,
  data: PreparedData,
  plan: MultiInputPlan | undefined,
): TrainerAdversaries | undefined {
  if (!config.adversary && !model.measureAdversaries) return undefined;
  const width = config.adversary && featureWidth(model, data.preprocessing.inputSize);
  const domainClasses = domainClassesOf(config, data);
  const adversary =
    config.adversary && new FeatureAdversary(config.adversary, width ?? 0, config, data.groups, domainClasses);
  const stepGroups = batchGroups(plan, data.groups);
  const stepModel: MultiTaskModel = adversary
    ? {
        ...model,
        penalty: (input?: PenaltyInput): tf.Scalar => {
          // The generator term reads the step's batch: every step path passes it (train/penalty.ts).
          if (!input) throw new Error("internal: the feature adversary's penalty needs the step's batch");
          const own = model.penalty?.(input);
          const generator = adversary.generatorPenalty(model, input);
          return own ? tf.add(own, generator) : generator;
        },
      }
    : model;
  return {
    stepModel,
    beforeStep(batch, progress) {
      batch.progress = progress;
      if (stepGroups) batch.groups = stepGroups;
      const domains = domainClasses && domainOfRows(batch.targets[DOMAIN_TASK]);
      if (domains) batch.domains = domains;
      adversary?.trainDiscriminator(model, batch.x, stepGroups, domains);
    },
    checkpointVariables: () => adversary?.checkpointVariables() ?? [],
    state: () => adversary?.state(),
    restore: (state) => adversary?.restore(state),
    measure(splits, epoch) {
      const name = splits.val.rows > 0 ? 'val' : 'train';
      const x = splits[name].x;
      const rowGroups = splitGroups(data.groups, name);
      const measured: Record<string, AdversaryMeasure> = { ...(model.measureAdversaries?.(x, rowGroups) ?? {}) };
      const domains = domainClasses && domainOfRows(splits[name].targets[DOMAIN_TASK]);
      if (adversary) measured[adversary.name] = adversary.measure(model, x, rowGroups, epoch, domains);
      return measured;
    },
    dispose: () => adversary?.dispose(),
  };
}

/** Per row of a multi-input step's batch, its data group: group g's b_g rows follow groups 0 … g−1's. */
export function batchGroups(
  plan: MultiInputPlan | undefined,
  groups: readonly GroupRows[] | undefined,
): RowGroups | undefined {
  if (!plan || !groups) return undefined;
  const ofRow = Int32Array.from(plan.groupBatch.flatMap((rows, g) => Array.from({ length: rows }, () => g)));
  return { ofRow, tasks: groups.map((group) => group.tasks) };
}

/** Per row of a merged split, its data group (multi-input runs), or undefined with one source. */
export function splitGroups(groups: readonly GroupRows[] | undefined, split: SplitName): RowGroups | undefined {
  if (!groups) return undefined;
  const ofRow = Int32Array.from(groups.flatMap((group, g) => Array.from({ length: group.rows[split] }, () => g)));
  return { ofRow, tasks: groups.map((group) => group.tasks) };
}

/** The epoch record's `adversaries`: the adversarial tasks' and the discriminators' measures; absent when none. */
export function adversaryRecord(
  ...parts: (EpochRecord['adversaries'] | undefined)[]
): Pick<EpochRecord, 'adversaries'> {
  const measured: NonNullable<EpochRecord['adversaries']> = {};
  for (const part of parts) if (part) Object.assign(measured, part);
  return Object.keys(measured).length > 0 ? { adversaries: measured } : {};
}

/** The `domain` task's classes (data.domains' values, in its encoding's order), or undefined without domains. */
function domainClassesOf(config: ResolvedConfig, data: PreparedData): readonly string[] | undefined {
  if (!config.data.domains) return undefined;
  const index = config.tasks.findIndex((task) => task.name === DOMAIN_TASK);
  const classes: unknown = data.preprocessing.tasks[index] && Reflect.get(data.preprocessing.tasks[index], 'classes');
  return Array.isArray(classes) && classes.every((c) => typeof c === 'string') ? classes : undefined;
}

/** Per row, the index of the one-hot column set in the `domain` task's targets. */
function domainOfRows(targets: tf.Tensor2D | undefined): Int32Array | undefined {
  if (!targets) return undefined;
  const [rows, width] = targets.shape;
  const values = targets.dataSync();
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < width; c++) if ((values[r * width + c] ?? 0) > (values[r * width + best] ?? 0)) best = c;
    out[r] = best;
  }
  return out;
}
