import type { DivergenceConfig, TrainingConfig } from '../config/types.js';

/**
 * The divergence rule (`training.divergence`), checked once per epoch on the per-task training losses the trainer
 * reads anyway:
 * - a task's epoch loss that is not finite (NaN, ±Infinity) ends the run as `diverged` at once;
 * - a task's epoch loss above `factor` × its initial loss (the loss of the first training batch, before any update:
 *   the untrained model's scale, ln K for a K-class task, about 1 for a standardised regression) is *exploding*.
 *   An exploding epoch never counts as an improvement (it is never saved as the best checkpoint), and `patience`
 *   exploding epochs in a row for one task end the run as `diverged`. `factor: 0` turns this part off.
 *
 * The reference is the initial loss and not the first epoch's mean, because a learning rate far too high explodes
 * within the first epoch (at `lr: 1e6` the first epoch's mean loss is already 1e20, the largest of the run).
 */
export class DivergenceWatch {
  private readonly tasks: readonly string[];
  private readonly rule: DivergenceConfig;
  private initial: number[] | undefined;
  /** Per task, the exploding epochs in a row so far. */
  private exploding: number[];

  constructor(tasks: readonly { name: string }[], rule: DivergenceConfig, state?: DivergenceState) {
    this.tasks = tasks.map((t) => t.name);
    this.rule = rule;
    this.initial = state?.initialLosses ? [...state.initialLosses] : undefined;
    this.exploding = state ? [...state.explodingEpochs] : this.tasks.map(() => 0);
  }

  /** Whether the initial losses are still to be given (once per run: one read of the first step's losses). */
  get needsInitialLosses(): boolean {
    return this.initial === undefined;
  }

  setInitialLosses(losses: ArrayLike<number>): void {
    this.initial = this.tasks.map((_, i) => losses[i] ?? NaN);
  }

  /** The verdict on one finished epoch (1-based `epoch`); updates the exploding counts. */
  check(
    epoch: number,
    trainLoss: Readonly<Record<string, number>>,
    training: Pick<TrainingConfig, 'lr' | 'grad_clip_norm'>,
  ): DivergenceVerdict {
    const problems: string[] = [];
    let exploding = false;
    this.tasks.forEach((task, i) => {
      const loss = trainLoss[task] ?? NaN;
      const limit = this.limit(i);
      if (!Number.isFinite(loss)) {
        problems.push(`task ${task}: training loss became ${loss} in epoch ${epoch}`);
      } else if (loss > limit) {
        exploding = true;
        const count = (this.exploding[i] ?? 0) + 1;
        this.exploding[i] = count;
        if (count >= this.rule.patience) problems.push(explodingText(task, loss, this.rule, epoch, count, limit));
      } else {
        this.exploding[i] = 0;
      }
    });
    if (problems.length > 0) return { kind: 'diverged', reason: `${problems.join('; ')}; ${remedy(training)}` };
    return exploding ? { kind: 'exploding' } : { kind: 'ok' };
  }

  /** What a checkpoint keeps for an exact resume. */
  state(): DivergenceState {
    return { ...(this.initial ? { initialLosses: [...this.initial] } : {}), explodingEpochs: [...this.exploding] };
  }

  /** Task i's largest healthy loss; Infinity when the rule is off or the initial loss gives no scale (0, unknown). */
  private limit(i: number): number {
    const initial = this.initial?.[i];
    if (this.rule.factor === 0 || initial === undefined || !(initial > 0)) return Infinity;
    return this.rule.factor * initial;
  }
}

export interface DivergenceState {
  /** Per task (config order), the loss of the first training batch before any update. */
  initialLosses?: number[];
  /** Per task, the exploding epochs in a row so far. */
  explodingEpochs: number[];
}

/**
 * `ok`: a healthy epoch. `exploding`: some task's loss is above its limit (not an improvement, whatever the monitor
 * says), within the patience. `diverged`: stop; `reason` names the tasks and a remedy.
 */
export type DivergenceVerdict = { kind: 'ok' } | { kind: 'exploding' } | { kind: 'diverged'; reason: string };

function explodingText(
  task: string,
  loss: number,
  rule: DivergenceConfig,
  epoch: number,
  count: number,
  limit: number,
): string {
  const since =
    count > 1 ? ` (above it for ${count} epochs in a row, training.divergence.patience ${rule.patience})` : '';
  return (
    `task ${task}: training loss ${short(loss)} in epoch ${epoch}, above ${short(limit)} = ` +
    `training.divergence.factor ${rule.factor} × its initial loss ${short(limit / rule.factor)}${since}`
  );
}

function remedy(training: Pick<TrainingConfig, 'lr' | 'grad_clip_norm'>): string {
  const clip =
    training.grad_clip_norm > 0
      ? `a smaller training.grad_clip_norm (now ${training.grad_clip_norm})`
      : 'set training.grad_clip_norm (e.g. 1)';
  return `lower training.lr (now ${training.lr}) or ${clip}`;
}

function short(x: number): string {
  const abs = Math.abs(x);
  return abs !== 0 && (abs >= 1e5 || abs < 1e-3) ? x.toExponential(2) : String(Number(x.toPrecision(4)));
}
