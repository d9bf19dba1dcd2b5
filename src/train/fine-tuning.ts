import type { tf } from '../tf.js';
import type { ResolvedConfig, TrainingConfig } from '../config/types.js';
import { createOptimizer, learningRateAt, type Optimizer } from './optimizers.js';

/**
 * Fine-tuning schedules (issue #17; seed 004 §3 "parameters reused, frozen or fine-tuned"; gradual unfreezing and
 * discriminative learning rates as in Howard & Ruder 2018, ULMFiT): the parameters `init.freeze` names are held fixed
 * for the first `unfreeze_after` epochs (the whole run when absent), then trained with their own learning rate
 *   η_frozen(e) = learningRateAt(training with lr := unfrozen_lr, e)
 * (the same warm-up and schedule as every other parameter, scaled to `unfrozen_lr`; default training.lr).
 *
 * The frozen parameters have an optimizer of their own, created at the start with zero slots and stepped only once
 * they train: Adam's bias correction then counts their own updates (1 − β^t from t = 1 at the unfreeze epoch, as
 * PyTorch's per-parameter step does), not the updates the other parameters had. While frozen, their gradients are
 * dropped before clipping, so the global-norm clip sees only what is applied, and their values stay bit-identical.
 * Its slots and update count are part of the `last` checkpoint's training state, so a resumed run is exact across
 * the unfreeze epoch.
 */
export class FrozenParameters {
  readonly optimizer: Optimizer;
  private readonly names: ReadonlySet<string>;

  constructor(
    frozen: readonly tf.Variable[],
    private readonly training: TrainingConfig,
    private readonly schedule: { unfreezeAfter?: number; unfrozenLr?: number },
  ) {
    this.names = new Set(frozen.map((v) => v.name));
    this.optimizer = createOptimizer(training, frozen);
  }

  /** Whether the frozen parameters train in this (0-based) epoch. */
  trainsIn(epoch: number): boolean {
    return this.schedule.unfreezeAfter !== undefined && epoch >= this.schedule.unfreezeAfter;
  }

  /** Their learning rate in an epoch where they train. */
  learningRate(epoch: number): number {
    return learningRateAt({ ...this.training, lr: this.schedule.unfrozenLr ?? this.training.lr }, epoch);
  }

  /** The step's gradients without the frozen parameters' (disposed), for an epoch where they do not train. */
  withoutFrozen(gradients: Record<string, tf.Tensor>): Record<string, tf.Tensor> {
    const kept: Record<string, tf.Tensor> = {};
    for (const [name, gradient] of Object.entries(gradients)) {
      if (this.names.has(name)) gradient.dispose();
      else kept[name] = gradient;
    }
    return kept;
  }

  has(variable: tf.Variable): boolean {
    return this.names.has(variable.name);
  }
}

/** The frozen parameters among `trainable` with the config's schedule, or undefined when nothing is frozen. */
export function frozenParameters(
  config: ResolvedConfig,
  names: readonly string[],
  trainable: readonly tf.Variable[],
): FrozenParameters | undefined {
  if (names.length === 0) return undefined;
  const init = config.init;
  return new FrozenParameters(
    trainable.filter((v) => names.includes(v.name)),
    config.training,
    {
      ...(init?.unfreeze_after === undefined ? {} : { unfreezeAfter: init.unfreeze_after }),
      ...(init?.unfrozen_lr === undefined ? {} : { unfrozenLr: init.unfrozen_lr }),
    },
  );
}
