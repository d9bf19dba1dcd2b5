import { tf } from '../tf.js';
import type { HostEvaluation } from '../ops/cross-entropy-host.js';
import type { BackendTransform, LossDefinition, RawOutputs, TargetEncoding, TaskKind } from './types.js';

/** The transforms evaluation runs on the backend for a task: those its kind and its loss read, each once. */
export function backendTransformsFor(kind: TaskKind, loss: LossDefinition): BackendTransform[] {
  return [...new Set([...(kind.backendTransforms ?? []), ...(loss.backendTransforms ?? [])])];
}

/** The op a transform names, on one batch of a task's outputs. */
export function applyBackendTransform(transform: BackendTransform, output: tf.Tensor2D): tf.Tensor2D {
  switch (transform) {
    case 'softmax':
      return tf.softmax(output);
    case 'sigmoid':
      return tf.sigmoid(output);
  }
}

/**
 * The loss (the loss's host formula, on the training-form targets) and the predictions (the kind's transform) of
 * one task from the outputs read back once. Why on the host: evaluation needs both, and on the backend that was a
 * chain of about fifteen loss kernels per task and batch besides the softmax (~1.8 ms of the ~4.3 ms that validating
 * the quickstart's 900 rows took on wasm); one pass over the outputs here gives the loss.
 */
export function hostLossAndPredictions(
  kind: TaskKind,
  loss: LossDefinition,
  encoding: TargetEncoding,
  outputs: RawOutputs,
  targets: Float32Array,
): HostEvaluation {
  if (outputs.rows === 0) return { loss: NaN, predictions: new Float32Array(0) };
  return { loss: loss.host(outputs, targets), predictions: kind.predictions(encoding, outputs) };
}
