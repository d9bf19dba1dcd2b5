import type { LambdaConfig, TaskConfig } from '../config/types.js';
import { DANN_GAMMA, type LambdaSchedule } from './lambda-schedule.js';

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

/** The config form of λ as a schedule: a number is constant, `{ max, schedule: dann, gamma }` the DANN schedule. */
export function lambdaSchedule(lambda: LambdaConfig): LambdaSchedule {
  if (typeof lambda === 'number') return { kind: 'constant', lambda };
  return { kind: 'dann', lambda: lambda.max, gamma: lambda.gamma ?? DANN_GAMMA };
}

/** λ's largest value under a config form (the constant, or `max`): what validation checks is ≥ 0. */
export function lambdaMaximum(lambda: LambdaConfig): number {
  return typeof lambda === 'number' ? lambda : lambda.max;
}
