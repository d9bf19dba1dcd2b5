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
 * `tf.losses`); the same outputs always give the same values.
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
 * and the predictions are what `toPredictions` gives: softmax, sigmoid, or y·std + mean for regression.
 */
export interface HostEvaluation {
  loss: number;
  predictions: Float32Array;
}

export function hostLossAndPredictions(
  task: { type: TaskType; loss: LossName },
  outputs: Float32Array,
  targets: Float32Array,
  rows: number,
  regressionScale?: { mean: readonly number[]; std: readonly number[] },
): HostEvaluation {
  if (rows === 0) return { loss: NaN, predictions: new Float32Array(0) };
  const width = outputs.length / rows;
  switch (task.loss) {
    case 'cross-entropy':
      return softmaxCrossEntropy(outputs, targets, rows, width);
    case 'binary-cross-entropy':
      return sigmoidCrossEntropy(outputs, targets);
    case 'mse':
    case 'mae':
    case 'huber':
      return {
        loss: regressionLoss(task.loss, outputs, targets),
        predictions: task.type === 'regression' && regressionScale ? rescale(outputs, width, regressionScale) : Float32Array.from(outputs),
      };
  }
}

function softmaxCrossEntropy(logits: Float32Array, targets: Float32Array, rows: number, width: number): HostEvaluation {
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

function sigmoidCrossEntropy(logits: Float32Array, targets: Float32Array): HostEvaluation {
  const probabilities = new Float32Array(logits.length);
  let total = 0;
  for (let i = 0; i < logits.length; i++) {
    const z = logits[i] as number;
    const t = targets[i] as number;
    total += Math.max(z, 0) - z * t + Math.log1p(Math.exp(-Math.abs(z)));
    probabilities[i] = z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
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
