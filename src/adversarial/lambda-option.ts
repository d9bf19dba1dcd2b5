/**
 * A λ in config (issue #18), the one form every adversarial option takes (`tasks[].adversarial.lambda`,
 * `data.domains.lambda`, shared–private's `task_discriminator.lambda`): a number (constant) or
 * `{ max: number, schedule: dann, gamma?: number (10) }` (lambda-schedule.ts).
 */
import type { LambdaConfig } from '../config/types.js';
import { DANN_GAMMA, type LambdaSchedule } from './lambda-schedule.js';

/**
 * The schema of a λ. `minimum` bounds it in the schema itself; without it a negative λ is left to the semantic rules
 * (adversarial/rules.ts), which say why it is refused.
 */
export function lambdaOptionSchema(
  options: { default?: unknown; description?: string; minimum?: number } = {},
): Record<string, unknown> {
  const bound = options.minimum === undefined ? {} : { minimum: options.minimum };
  return {
    ...(options.default === undefined ? {} : { default: options.default }),
    description:
      options.description ?? 'Gradient reversal weight: a number (constant) or { max, schedule: dann, gamma (10) }.',
    oneOf: [
      { type: 'number', ...bound },
      {
        type: 'object',
        required: ['max', 'schedule'],
        additionalProperties: false,
        properties: {
          max: { type: 'number', ...bound },
          schedule: { enum: ['dann'] },
          gamma: { type: 'number', exclusiveMinimum: 0, description: `γ of the schedule (default ${DANN_GAMMA}).` },
        },
      },
    ],
  };
}

/** The config form of λ as a schedule: a number is constant, `{ max, schedule: dann, gamma }` the DANN schedule. */
export function scheduleOf(lambda: LambdaConfig): LambdaSchedule {
  if (typeof lambda === 'number') return { kind: 'constant', lambda };
  return { kind: 'dann', lambda: lambda.max, gamma: lambda.gamma ?? DANN_GAMMA };
}

/** The schedule of a λ read from untyped options the schema accepted (absent: `fallback`, constant). */
export function lambdaSchedule(value: unknown, fallback: number): LambdaSchedule {
  if (typeof value === 'number') return scheduleOf(value);
  if (typeof value === 'object' && value !== null && 'max' in value && typeof value.max === 'number') {
    const gamma = 'gamma' in value && typeof value.gamma === 'number' ? value.gamma : undefined;
    return scheduleOf({ max: value.max, schedule: 'dann', ...(gamma === undefined ? {} : { gamma }) });
  }
  return scheduleOf(fallback);
}
