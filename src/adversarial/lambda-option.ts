/**
 * A λ in config (issue #18, the form shared by every adversarial option): a number (constant) or
 * `{ max: number, schedule: dann, gamma?: number (10) }` (lambda-schedule.ts).
 */
import { DANN_GAMMA, type LambdaSchedule } from './lambda-schedule.js';

export function lambdaOptionSchema(fallback: number, description: string): Record<string, unknown> {
  return {
    default: fallback,
    description,
    oneOf: [
      { type: 'number', minimum: 0 },
      {
        type: 'object',
        required: ['max', 'schedule'],
        additionalProperties: false,
        properties: {
          max: { type: 'number', minimum: 0 },
          schedule: { enum: ['dann'] },
          gamma: { type: 'number', exclusiveMinimum: 0, description: `γ of the schedule (default ${DANN_GAMMA}).` },
        },
      },
    ],
  };
}

/** The schedule of a λ the schema accepted (absent: `fallback`, constant). */
export function lambdaSchedule(value: unknown, fallback: number): LambdaSchedule {
  if (typeof value === 'number') return { kind: 'constant', lambda: value };
  if (typeof value === 'object' && value !== null && 'max' in value && typeof value.max === 'number') {
    const gamma = 'gamma' in value && typeof value.gamma === 'number' ? value.gamma : DANN_GAMMA;
    return { kind: 'dann', lambda: value.max, gamma };
  }
  return { kind: 'constant', lambda: fallback };
}
