/**
 * Feature-adversarial training (issue #18; seed 000 §4.2.1): a discriminator D on the model's shared features, on its
 * own variables with its own optimizer, trained in alternating steps as in Goodfellow et al., "Generative
 * Adversarial Nets" (NeurIPS 2014), Algorithm 1:
 *
 *   per model step:  k times  min_D  L_D = −[mean log D(real) + mean log(1 − D(fake))]   (features detached)
 *                    then     min_θ  Σ (task losses) + w · L_G,   L_G = −mean log D(fake)  (non-saturating)
 *
 * "fake" is the features z = encode(x) of the selected rows of the step's batch (every row, or one task's rows in a
 * multi-input run); "real" is as many samples of N(0, I) of z's width (from the run's seeded generator, forked
 * `adversary`, so runs reproduce and resume exactly) or another task's rows. The generator term enters the model's
 * step as a penalty (train/penalty.ts): it is a regulariser, not a task, in all three step paths; the model step
 * differentiates only the model's variables, so D's stay as they are, and D's steps read detached features, so the
 * model's stay as they are.
 *
 * A batch with no rows of a selected side (no `{ domain: c }` row among a last batch of 4, a multi-input batch without
 * one task's rows) has nothing to tell apart: that step trains D not at all and the model's generator term is 0 (kept
 * on the tape with a zero gradient, so every step path differentiates it as before). The choice depends on the batch's
 * rows only and draws nothing from the generator, so runs stay reproducible and resume exactly; D is never run on zero
 * rows (a mean over none is NaN, and the wasm backend's stock products misread an empty input).
 *
 * Reported per epoch (adversarial/report.ts): D's loss L_D and accuracy (real with l > 0, fake with l < 0) on the
 * validation split (the training split when there is none), in inference mode, against a prior sample drawn from a
 * generator seeded afresh every epoch; chance is the majority share of real vs fake rows (0.5 against a prior). On a
 * split with no rows of a side L_D is not defined (NaN, written null), accuracy and chance are over the rows there are
 * (NaN without any).
 */
import { tf } from '../tf.js';
import type { ResolvedConfig } from '../config/types.js';
import type { GroupRows } from '../data/multi-input.js';
import type { MultiTaskModel, PenaltyInput, RowGroups } from '../model/types.js';
import { createOptimizer, type Optimizer } from '../train/optimizers.js';
import { createRng, type Rng, type RngState } from '../util/rng.js';
import type { AdversaryConfig, AdversarySelection } from './config.js';
import { correctCount, Discriminator, discriminatorLoss, generatorLoss } from './discriminator.js';

/** What a checkpoint keeps besides D's variables and its optimizer's slots (those travel with the model's slots). */
export interface FeatureAdversaryState {
  rng: RngState;
  updates: number;
}

export interface AdversaryMeasure {
  loss: number;
  accuracy: number;
  chance: number;
}

export class FeatureAdversary {
  readonly name: string;
  readonly discriminator: Discriminator;
  private readonly optimizer: Optimizer;
  private readonly rng: Rng;
  private readonly seed: number;
  /** Per task, its data group (multi-input runs). */
  private readonly taskGroup: Map<string, number>;

  constructor(
    readonly config: AdversaryConfig,
    readonly featureWidth: number,
    runConfig: ResolvedConfig,
    groups: readonly GroupRows[] | undefined,
    /** The `domain` task's classes (runs with data.domains): what `{ domain: X }` selections index. */
    private readonly domainClasses?: readonly string[],
  ) {
    this.name = config.name;
    this.seed = runConfig.seed;
    this.rng = createRng(runConfig.seed).fork('adversary');
    const init = createRng(runConfig.seed).fork(`adversary/${config.name}/init`);
    this.discriminator = new Discriminator(`adversary/${config.name}`, featureWidth, config.hidden, init);
    const optimizerConfig = { ...runConfig.training, optimizer: config.optimizer, lr: config.lr, weight_decay: 0 };
    this.optimizer = createOptimizer(optimizerConfig, this.discriminator.variables);
    this.taskGroup = new Map((groups ?? []).flatMap((g, index) => g.tasks.map((task) => [task, index] as const)));
  }

  /** D's variables and its optimizer's slots: saved with the `last` checkpoint's optimizer state, restored by name. */
  checkpointVariables(): tf.Variable[] {
    return [...this.discriminator.variables, ...this.optimizer.slots()];
  }

  state(): FeatureAdversaryState {
    return { rng: this.rng.state(), updates: this.optimizer.updates };
  }

  restore(state: FeatureAdversaryState | undefined): void {
    if (!state) return;
    this.rng.restore(state.rng);
    this.optimizer.restoreUpdates(state.updates);
  }

  /** k discriminator steps on the batch's features, detached (the model's variables are not touched). */
  trainDiscriminator(model: MultiTaskModel, x: tf.Tensor2D, groups: RowGroups | undefined, domains?: Int32Array): void {
    if (!this.bothSides(x.shape[0], groups, domains)) return;
    const features = tf.tidy(() => flatFeatures(model, x, true));
    const fake = this.select(features, this.config.fake, groups, domains);
    const real = 'prior' in this.config.real ? undefined : this.select(features, this.config.real, groups, domains);
    features.dispose();
    for (let k = 0; k < this.config.steps; k++) {
      const realRows = real ?? this.priorSample(this.rng, fake.shape[0]);
      const { value, grads } = tf.variableGrads(
        () => discriminatorLoss(this.discriminator.logits(realRows), this.discriminator.logits(fake)),
        this.discriminator.variables,
      );
      value.dispose();
      this.optimizer.apply(grads, this.config.lr);
      tf.dispose(Object.values(grads));
      if (!real) realRows.dispose();
    }
    fake.dispose();
    real?.dispose();
  }

  /**
   * w · L_G on the batch's fake rows: the model's penalty term (inside the model step's tape). The rows are chosen by
   * a 0/1 weight, not a gather, whose gradient needs a kernel the wasm backend lacks (UnsortedSegmentSum). A batch
   * without both sides weighs every row 0: the term is 0 and its gradient too, but still a function of the model's
   * variables, which a penalty differentiated on its own needs (train/penalty.ts).
   */
  generatorPenalty(model: MultiTaskModel, input: PenaltyInput): tf.Scalar {
    return tf.tidy(() => {
      const logits = this.discriminator.logits(flatFeatures(model, input.x, true));
      const fake = this.config.fake;
      const skipped = !this.bothSides(input.x.shape[0], input.groups, input.domains);
      if ('rows' in fake && !skipped) return tf.mul(generatorLoss(logits), this.config.weight);
      const rows = skipped || 'rows' in fake ? new Int32Array(0) : this.rowsOf(fake, input.groups, input.domains);
      const perRow = tf.softplus(tf.neg(logits));
      const mean = tf.div(tf.sum(tf.mul(perRow, rowMask(rows, logits.shape[0]))), Math.max(1, rows.length));
      return tf.mul<tf.Scalar>(mean, this.config.weight);
    });
  }

  /** L_D and D's accuracy on a split's rows, in inference mode, against a prior drawn afresh for each `epoch`. */
  measure(
    model: MultiTaskModel,
    x: tf.Tensor2D,
    groups: RowGroups | undefined,
    epoch: number,
    domains?: Int32Array,
  ): AdversaryMeasure {
    const { loss, realLogits, fakeLogits } = tf.tidy(() => {
      const features = flatFeatures(model, x, false);
      const fake = this.select(features, this.config.fake, groups, domains);
      const rng = createRng(this.seed).fork(`adversary/${this.name}/measure/${epoch}`);
      const real =
        'prior' in this.config.real
          ? this.priorSample(rng, fake.shape[0])
          : this.select(features, this.config.real, groups, domains);
      const realLogits = this.logitsOf(real);
      const fakeLogits = this.logitsOf(fake);
      const both = real.shape[0] > 0 && fake.shape[0] > 0;
      return { loss: both ? discriminatorLoss(realLogits, fakeLogits) : undefined, realLogits, fakeLogits };
    });
    const real = realLogits.dataSync();
    const fake = fakeLogits.dataSync();
    const rows = real.length + fake.length;
    const result = {
      loss: loss ? loss.dataSync()[0]! : NaN,
      accuracy: rows > 0 ? correctCount(real, fake) / rows : NaN,
      chance: rows > 0 ? Math.max(real.length, fake.length) / rows : NaN,
    };
    tf.dispose([realLogits, fakeLogits, ...(loss ? [loss] : [])]);
    return result;
  }

  dispose(): void {
    this.optimizer.dispose();
    this.discriminator.dispose();
  }

  /**
   * Whether a batch of `rows` rows has rows of both sides (a prior always does: it draws as many as there are fake
   * rows). Without, the step leaves D as it is and the generator term is 0.
   */
  private bothSides(rows: number, groups: RowGroups | undefined, domains: Int32Array | undefined): boolean {
    const has = (selection: AdversarySelection): boolean =>
      'prior' in selection || ('rows' in selection ? rows > 0 : this.rowsOf(selection, groups, domains).length > 0);
    return has(this.config.fake) && has(this.config.real);
  }

  /** D's logits, without running D on no rows. */
  private logitsOf(features: tf.Tensor2D): tf.Tensor1D {
    return features.shape[0] > 0 ? this.discriminator.logits(features) : tf.tensor1d([]);
  }

  /** N(0, I) samples, `rows` × the feature width. */
  private priorSample(rng: Rng, rows: number): tf.Tensor2D {
    const values = new Float32Array(rows * this.featureWidth);
    for (let i = 0; i < values.length; i++) values[i] = rng.normal();
    return tf.tensor2d(values, [rows, this.featureWidth]);
  }

  /** The rows of `features` a selection names (a prior selects nothing here: the caller draws it). */
  private select(
    features: tf.Tensor2D,
    selection: AdversarySelection,
    groups: RowGroups | undefined,
    domains: Int32Array | undefined,
  ): tf.Tensor2D {
    if ('rows' in selection) return tf.clone(features);
    const rows = this.rowsOf(selection, groups, domains);
    return tf.tidy(() => tf.gather(features, tf.tensor1d(rows, 'int32')));
  }

  /** The batch positions of a task selection's rows (its data group's) or a domain selection's. */
  private rowsOf(
    selection: AdversarySelection,
    groups: RowGroups | undefined,
    domains: Int32Array | undefined,
  ): Int32Array {
    if ('domain' in selection) {
      const index = this.domainClasses?.indexOf(selection.domain) ?? -1;
      if (index < 0 || !domains) throw new Error(`adversary: domain "${selection.domain}" has no rows here`);
      return Int32Array.from(rowsOfGroup(domains, index));
    }
    if ('task' in selection) {
      const group = this.taskGroup.get(selection.task);
      if (group === undefined || !groups) throw new Error(`adversary: task "${selection.task}" has no rows here`);
      return Int32Array.from(rowsOfGroup(groups.ofRow, group));
    }
    // Validation refuses a prior on the fake side.
    throw new Error(`adversary: selection ${JSON.stringify(selection)} selects no rows`);
  }
}

function rowMask(rows: Int32Array, length: number): tf.Tensor1D {
  const mask = new Float32Array(length);
  for (const row of rows) mask[row] = 1;
  return tf.tensor1d(mask);
}

function* rowsOfGroup(groups: Int32Array, group: number): Generator<number> {
  for (let i = 0; i < groups.length; i++) if (groups[i] === group) yield i;
}

/** The shared representation of `x`, one row per input row ([rows, width]). */
export function flatFeatures(model: MultiTaskModel, x: tf.Tensor2D, training: boolean): tf.Tensor2D {
  if (!model.encode) throw new Error('adversary: the model has no shared representation (validation refuses this)');
  const z = model.encode(x, training);
  return tf.reshape(z, [z.shape[0] ?? -1, -1]);
}

/** The width of the model's shared representation (one inference pass on a zero row). */
export function featureWidth(model: MultiTaskModel, inputSize: number): number {
  return tf.tidy(() => flatFeatures(model, tf.tensor2d(new Float32Array(inputSize), [1, inputSize]), false).shape[1]);
}
