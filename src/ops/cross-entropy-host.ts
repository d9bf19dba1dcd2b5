/**
 * Softmax and sigmoid cross-entropy in one pass on the host, with the probabilities: the forward pass of the fused
 * training kernels (ops/cross-entropy.ts) and the host formulas of the `cross-entropy` and `binary-cross-entropy`
 * losses in evaluation (tasks/losses/). The arithmetic is float64 with the results rounded to float32, so values can
 * differ from the backend's float32 ops in the last bits (test/losses.test.ts compares them to `tf.losses`); the
 * same outputs always give the same values.
 */
export interface HostEvaluation {
  loss: number;
  predictions: Float32Array;
}

/**
 * Row `base..base+width` of [rows, width] logits: its softmax into `probabilities` (one exp per output, kept in
 * float64 in `exps` until divided by the row's sum, the row max taken out first), and log Σ_k exp z_k, returned.
 * The one softmax of the host: cross-entropy below and the multiclass predictions (tasks/kinds/) use it.
 */
export function softmaxRow(
  logits: Float32Array,
  base: number,
  width: number,
  exps: Float64Array,
  probabilities: Float32Array,
): number {
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
  return max + Math.log(sum);
}

/**
 * Mean softmax cross-entropy over the rows of [rows, width] logits, and the softmax ({@link softmaxRow}). Also the
 * forward pass of the fused training kernel (ops/cross-entropy.ts).
 */
export function softmaxCrossEntropyOnHost(
  logits: Float32Array,
  targets: Float32Array,
  rows: number,
  width: number,
): HostEvaluation {
  const probabilities = new Float32Array(logits.length);
  const exps = new Float64Array(width);
  let total = 0;
  for (let r = 0, base = 0; r < rows; r++, base += width) {
    const logSumExp = softmaxRow(logits, base, width, exps, probabilities);
    let rowLoss = 0;
    for (let j = 0; j < width; j++) {
      const t = targets[base + j]!;
      if (t !== 0) rowLoss += t * (logSumExp - logits[base + j]!);
    }
    total += rowLoss;
  }
  return { loss: Math.fround(total / rows), predictions: probabilities };
}

/**
 * Mean sigmoid cross-entropy over all elements, and the sigmoid, from one exp(−|z|) ≤ 1 per element (no overflow
 * whatever the sign of z). Also the forward pass of the fused training kernel (ops/cross-entropy.ts).
 */
export function sigmoidCrossEntropyOnHost(logits: Float32Array, targets: Float32Array): HostEvaluation {
  const probabilities = new Float32Array(logits.length);
  let total = 0;
  for (let i = 0; i < logits.length; i++) {
    const z = logits[i]!;
    const e = Math.exp(-Math.abs(z));
    total += Math.max(z, 0) - z * targets[i]! + Math.log1p(e);
    probabilities[i] = z >= 0 ? 1 / (1 + e) : e / (1 + e);
  }
  return { loss: Math.fround(total / logits.length), predictions: probabilities };
}
