import { formatShape } from './shape.js';

/** A 2-D window size or stride: one number for both axes, or [height, width]. */
export type Size2D = number | [number, number];
export type Padding = 'same' | 'valid';

export function pair(value: Size2D): [number, number] {
  return typeof value === 'number' ? [value, value] : [value[0], value[1]];
}

/** The schema of a window size or stride option: one whole number for both axes, or [height, width]. */
export function size2dSchema(description: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: ['integer', 'array'],
    minimum: 1,
    items: { type: 'integer', minimum: 1 },
    minItems: 2,
    maxItems: 2,
    description,
    ...extra,
  };
}

/** Why a window does not fit its image input, or undefined when it does (`same` padding always fits). */
export function windowProblem(
  window: readonly [number, number],
  padding: Padding,
  input: readonly number[],
): string | undefined {
  const [h, w] = input as [number, number, number];
  if (padding !== 'valid' || (window[0] <= h && window[1] <= w)) return undefined;
  return (
    `a ${window[0]}×${window[1]} window with padding valid does not fit its ${formatShape(input)} input; use ` +
    `padding: same or a smaller window`
  );
}
