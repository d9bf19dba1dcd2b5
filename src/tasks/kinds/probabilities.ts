/**
 * Probabilities from raw outputs on the host, float64 inside and float32 out; the same formulas as the fused
 * cross-entropy kernels' forward pass (ops/cross-entropy-host.ts).
 */
import { softmaxRow } from '../../ops/cross-entropy-host.js';
import type { RawOutputs } from '../types.js';

/** σ(z) from one exp(−|z|) ≤ 1 per element, so no z overflows whatever its sign. */
export function sigmoidOnHost(logits: Float32Array): Float32Array {
  const probabilities = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i++) {
    const z = logits[i]!;
    const e = Math.exp(-Math.abs(z));
    probabilities[i] = z >= 0 ? 1 / (1 + e) : e / (1 + e);
  }
  return probabilities;
}

/** The softmax of each row (the host's one softmax, {@link softmaxRow}). */
export function softmaxOnHost({ values: logits, rows, width }: RawOutputs): Float32Array {
  const probabilities = new Float32Array(logits.length);
  const exps = new Float64Array(width);
  for (let base = 0; base < rows * width; base += width) softmaxRow(logits, base, width, exps, probabilities);
  return probabilities;
}
