import { softmaxCrossEntropy } from '../../ops/cross-entropy.js';
import { softmaxCrossEntropyOnHost } from '../../ops/cross-entropy-host.js';
import type { LossDefinition } from '../types.js';

/**
 * Softmax cross-entropy, for one-hot (or any row-stochastic) targets t and logits z:
 *
 *   L = mean_rows Σ_j t_j · (logΣ_k exp z_k − z_j)      (log-sum-exp with the row max taken out)
 *
 * Training runs it as one fused kernel each way on wasm and cpu (ops/cross-entropy.ts). Evaluation reads the
 * backend's softmax with the outputs (the predictions the metrics read) and takes one log per row from it.
 */
export const crossEntropy: LossDefinition = {
  name: 'cross-entropy',
  description: 'softmax cross-entropy: mean over rows of Σ_j t_j · (logΣ_k exp z_k − z_j)',
  fits: ['multiclass'],
  backendTransforms: ['softmax'],
  tensor: (output, target) => softmaxCrossEntropy(target, output),
  host({ values, rows, width, backend }, targets) {
    return backend.softmax
      ? crossEntropyFromProbabilities(backend.softmax, values, targets, rows, width)
      : softmaxCrossEntropyOnHost(values, targets, rows, width).loss;
  },
};

/** Below this a float32 probability has lost its relative precision (or is 0): its row is done from the logits. */
const SMALLEST_TRUSTED_PROBABILITY = 1e-30;

/**
 * Σ_j t_j · (−log p_j) per row from the backend's softmax: one log per target class instead of an exp per output
 * (9,000 exps for the quickstart's validation split, ~0.8 ms). Accurate to the float32 rounding of p, as TF.js's own
 * float32 cross-entropy is; a row whose target probability underflows is computed from its logits instead.
 */
function crossEntropyFromProbabilities(
  probabilities: Float32Array,
  logits: Float32Array,
  targets: Float32Array,
  rows: number,
  width: number,
): number {
  let total = 0;
  for (let r = 0, base = 0; r < rows; r++, base += width) {
    let rowLoss = 0;
    let trusted = true;
    for (let j = 0; j < width; j++) {
      const t = targets[base + j]!;
      if (t === 0) continue;
      const p = probabilities[base + j]!;
      if (!(p >= SMALLEST_TRUSTED_PROBABILITY)) {
        trusted = false;
        break;
      }
      rowLoss -= t * Math.log(p);
    }
    total += trusted ? rowLoss : rowCrossEntropy(logits, targets, base, width);
  }
  return Math.fround(total / rows);
}

/** One row's Σ_j t_j · (logΣ_k exp z_k − z_j), with the row max taken out of the exps. */
function rowCrossEntropy(logits: Float32Array, targets: Float32Array, base: number, width: number): number {
  let max = -Infinity;
  for (let j = 0; j < width; j++) max = Math.max(max, logits[base + j]!);
  let sum = 0;
  for (let j = 0; j < width; j++) sum += Math.exp(logits[base + j]! - max);
  const logSumExp = max + Math.log(sum);
  let loss = 0;
  for (let j = 0; j < width; j++) {
    const t = targets[base + j]!;
    if (t !== 0) loss += t * (logSumExp - logits[base + j]!);
  }
  return loss;
}
