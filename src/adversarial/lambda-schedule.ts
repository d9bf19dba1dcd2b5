/**
 * The weight λ of a gradient reversal layer over training.
 *
 * `constant`: λ at every step. `dann`: Ganin et al., "Domain-Adversarial Training of Neural Networks" (JMLR 2016),
 * §5.2.2 — the adaptation factor is raised from 0 towards its maximum so that the adversary's noisy early gradients
 * do not disturb the features while the classifier is still poor:
 *
 *   λ_p = λ_max · (2 / (1 + exp(−γ·p)) − 1),   p = step / total steps ∈ [0, 1],   γ = 10 in the paper
 *
 * (λ_0 = 0, λ_1 = λ_max · 0.99991 with γ = 10).
 */
export type LambdaSchedule = { kind: 'constant'; lambda: number } | { kind: 'dann'; lambda: number; gamma: number };

/** The paper's γ. */
export const DANN_GAMMA = 10;

/** λ at training progress p (clamped to [0, 1]). */
export function lambdaAt(schedule: LambdaSchedule, progress: number): number {
  if (schedule.kind === 'constant') return schedule.lambda;
  const p = Math.min(1, Math.max(0, progress));
  return schedule.lambda * (2 / (1 + Math.exp(-schedule.gamma * p)) - 1);
}

/** Progress p of a step (0-based, counted over the whole run, resumes included) out of the run's total steps. */
export function trainingProgress(step: number, totalSteps: number): number {
  return totalSteps <= 0 ? 1 : Math.min(1, step / totalSteps);
}
