/**
 * Probabilities from raw outputs on the host, float64 inside and float32 out; the same formulas as the fused
 * cross-entropy kernels' forward pass (ops/cross-entropy-host.ts).
 */
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

/** The softmax of each row, with the row max taken out of the exps. */
export function softmaxOnHost({ values: logits, rows, width }: RawOutputs): Float32Array {
  const probabilities = new Float32Array(logits.length);
  const exps = new Float64Array(width);
  for (let r = 0, base = 0; r < rows; r++, base += width) {
    let max = -Infinity;
    for (let j = 0; j < width; j++) max = Math.max(max, logits[base + j]!);
    let sum = 0;
    for (let j = 0; j < width; j++) {
      const e = Math.exp(logits[base + j]! - max);
      exps[j] = e;
      sum += e;
    }
    const inverse = 1 / sum;
    for (let j = 0; j < width; j++) probabilities[base + j] = exps[j]! * inverse;
  }
  return probabilities;
}
