import type { LossName } from '../config/types.js';
import type { TaskType } from '../data/types.js';

/**
 * A task's loss and predictions computed on the host from its raw outputs, read back from the backend once.
 *
 * Why: evaluation needs both the loss and the predictions (probabilities for the metrics). On the backend that was a
 * softmax for the predictions plus TF.js's composite softmax cross-entropy (about fifteen kernels: max, subtract,
 * exp, sum, log, multiply, …), ~1.8 ms of the ~4.3 ms that validating the quickstart's 900 rows took on wasm, every
 * epoch. One pass over the outputs here gives both. The arithmetic is float64 with the results rounded to float32,
 * so values can differ from the backend's float32 ops in the last bits (test/host-losses.test.ts compares them to
 * `tf.losses`); the same outputs always give the same values. For cross-entropy the evaluation passes the backend's
 * softmax (one kernel, the predictions the metrics read, as before) and the loss takes one log per row from it.
 *
 * Each loss is what `taskLoss` (train/losses.ts) computes in training, the mean over the batch (`tf.losses`' default
 * reduction): with z the raw outputs, t the training-form targets, y = z, e = t − y,
 *
 *   cross-entropy          mean_rows  Σ_j t_j · (logΣ_k exp z_k − z_j)        (softmax, log-sum-exp with the row max)
 *   binary-cross-entropy   mean_elem  max(z, 0) − z·t + log(1 + exp(−|z|))    (sigmoid)
 *   mse                    mean_elem  e²
 *   mae                    mean_elem  |e|
 *   huber (δ = 1)          mean_elem  ½·min(|e|, δ)² + δ·(|e| − min(|e|, δ))
 *
 * and the predictions are the softmax, the sigmoid, or y·std + mean (in float32 steps) for regression.
 */
export interface HostEvaluation {
  loss: number;
  predictions: Float32Array;
}

export interface HostEvaluationInputs {
  /** Softmax of the outputs as the backend computed it (one kernel), for cross-entropy; else computed here. */
  probabilities?: Float32Array;
  /** Per-column mean and std of a regression task's targets, to give predictions in the targets' own units. */
  regressionScale?: { mean: readonly number[]; std: readonly number[] };
}

export function hostLossAndPredictions(
  task: { type: TaskType; loss: LossName },
  outputs: Float32Array,
  targets: Float32Array,
  rows: number,
  inputs: HostEvaluationInputs = {},
): HostEvaluation {
  if (rows === 0) return { loss: NaN, predictions: new Float32Array(0) };
  const width = outputs.length / rows;
  switch (task.loss) {
    case 'cross-entropy':
      return inputs.probabilities
        ? { loss: crossEntropyFromProbabilities(inputs.probabilities, outputs, targets, rows, width), predictions: inputs.probabilities }
        : softmaxCrossEntropyOnHost(outputs, targets, rows, width);
    case 'binary-cross-entropy':
      return sigmoidCrossEntropyOnHost(outputs, targets);
    case 'mse':
    case 'mae':
    case 'huber':
      return {
        loss: regressionLoss(task.loss, outputs, targets),
        predictions: task.type === 'regression' && inputs.regressionScale ? rescale(outputs, width, inputs.regressionScale) : Float32Array.from(outputs),
      };
  }
}

/** Below this a float32 probability has lost its relative precision (or is 0): its row is done from the logits. */
const SMALLEST_TRUSTED_PROBABILITY = 1e-30;

/**
 * Σ_j t_j · (−log p_j) per row from the backend's softmax: one log per target class instead of an exp per output
 * (9,000 exps for the quickstart's validation split, ~0.8 ms). Accurate to the float32 rounding of p, as TF.js's own
 * float32 cross-entropy is; a row whose target probability underflows is computed from its logits instead.
 */
function crossEntropyFromProbabilities(probabilities: Float32Array, logits: Float32Array, targets: Float32Array, rows: number, width: number): number {
  let total = 0;
  for (let r = 0, base = 0; r < rows; r++, base += width) {
    let rowLoss = 0;
    let trusted = true;
    for (let j = 0; j < width; j++) {
      const t = targets[base + j] as number;
      if (t === 0) continue;
      const p = probabilities[base + j] as number;
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
  for (let j = 0; j < width; j++) max = Math.max(max, logits[base + j] as number);
  let sum = 0;
  for (let j = 0; j < width; j++) sum += Math.exp((logits[base + j] as number) - max);
  const logSumExp = max + Math.log(sum);
  let loss = 0;
  for (let j = 0; j < width; j++) {
    const t = targets[base + j] as number;
    if (t !== 0) loss += t * (logSumExp - (logits[base + j] as number));
  }
  return loss;
}

/**
 * Mean softmax cross-entropy over the rows of [rows, width] logits, and the softmax: one exp per output, kept in
 * float64 until divided by the row's sum. Also the forward pass of the fused training kernel (fused-losses.ts).
 */
export function softmaxCrossEntropyOnHost(logits: Float32Array, targets: Float32Array, rows: number, width: number): HostEvaluation {
  const probabilities = new Float32Array(logits.length);
  const exps = new Float64Array(width);
  let total = 0;
  for (let r = 0, base = 0; r < rows; r++, base += width) {
    let max = -Infinity;
    for (let j = 0; j < width; j++) max = Math.max(max, logits[base + j] as number);
    let sum = 0;
    for (let j = 0; j < width; j++) {
      const e = Math.exp((logits[base + j] as number) - max);
      exps[j] = e;
      sum += e;
    }
    const logSumExp = max + Math.log(sum);
    const inverse = 1 / sum;
    let rowLoss = 0;
    for (let j = 0; j < width; j++) {
      const t = targets[base + j] as number;
      if (t !== 0) rowLoss += t * (logSumExp - (logits[base + j] as number));
      probabilities[base + j] = (exps[j] as number) * inverse;
    }
    total += rowLoss;
  }
  return { loss: Math.fround(total / rows), predictions: probabilities };
}

/**
 * Mean sigmoid cross-entropy over all elements, and the sigmoid, from one exp(−|z|) ≤ 1 per element (no overflow
 * whatever the sign of z). Also the forward pass of the fused training kernel (fused-losses.ts).
 */
export function sigmoidCrossEntropyOnHost(logits: Float32Array, targets: Float32Array): HostEvaluation {
  const probabilities = new Float32Array(logits.length);
  let total = 0;
  for (let i = 0; i < logits.length; i++) {
    const z = logits[i] as number;
    const e = Math.exp(-Math.abs(z));
    total += Math.max(z, 0) - z * (targets[i] as number) + Math.log1p(e);
    probabilities[i] = z >= 0 ? 1 / (1 + e) : e / (1 + e);
  }
  return { loss: Math.fround(total / logits.length), predictions: probabilities };
}

function regressionLoss(loss: 'mse' | 'mae' | 'huber', outputs: Float32Array, targets: Float32Array): number {
  let total = 0;
  for (let i = 0; i < outputs.length; i++) {
    const error = Math.abs((targets[i] as number) - (outputs[i] as number));
    if (loss === 'mse') total += error * error;
    else if (loss === 'mae') total += error;
    else {
      const quadratic = Math.min(error, 1);
      total += 0.5 * quadratic * quadratic + (error - quadratic);
    }
  }
  return Math.fround(total / outputs.length);
}

/** y·std + mean per column, each step rounded to float32 as the backend's mul and add round them. */
function rescale(outputs: Float32Array, width: number, scale: { mean: readonly number[]; std: readonly number[] }): Float32Array {
  const out = new Float32Array(outputs.length);
  const std = Float32Array.from(scale.std);
  const mean = Float32Array.from(scale.mean);
  for (let i = 0; i < outputs.length; i++) {
    const c = i % width;
    out[i] = Math.fround(Math.fround((outputs[i] as number) * (std[c] as number)) + (mean[c] as number));
  }
  return out;
}
