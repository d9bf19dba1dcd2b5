import type { RawOutputs } from '../types.js';

/**
 * The mean over all elements of f(|t − y|), summed in float64 and rounded to float32 once: the host formula of the
 * losses that compare each output with its target (mse, mae, huber).
 */
export function meanOfErrors({ values }: RawOutputs, targets: Float32Array, f: (error: number) => number): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += f(Math.abs(targets[i]! - values[i]!));
  return Math.fround(total / values.length);
}
