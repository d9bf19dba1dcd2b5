import type { LambdaConfig, TaskConfig } from '../config/types.js';

/**
 * Which of a config's tasks are adversarial (`tasks[].adversarial`, and the domain discriminator that
 * `data.domains` adds). An adversarial task is NOT one of the strategy's tasks: the strategy's weights, gradient
 * combiners, the logged task losses, Δm and the `mean/…` aggregates are over the main tasks only; the adversary's
 * loss is added to the step like a regulariser (train/step.ts) and it reports in `adversaries` (EpochRecord).
 */
export function mainTasks<T extends Pick<TaskConfig, 'adversarial'>>(tasks: readonly T[]): T[] {
  return tasks.filter((task) => task.adversarial === undefined);
}

export function adversarialTasks<T extends Pick<TaskConfig, 'adversarial'>>(tasks: readonly T[]): T[] {
  return tasks.filter((task) => task.adversarial !== undefined);
}

/** λ's largest value under a config form (the constant, or `max`): what validation checks is ≥ 0. */
export function lambdaMaximum(lambda: LambdaConfig): number {
  return typeof lambda === 'number' ? lambda : lambda.max;
}
