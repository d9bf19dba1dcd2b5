import type { TaskConfig } from '../config/types.js';
import type { EncodedRows, Preprocessing } from '../data/preprocess.js';
import type { MultiTaskModel } from '../model/types.js';
import { mainTasks } from '../adversarial/adversarial-tasks.js';
import { evaluateAdversariesSteps, type AdversaryMetrics } from '../adversarial/adversary-metrics.js';
import { evaluateSplitSteps, type SplitEvaluation } from './evaluate.js';
import { runSteps, type Steps } from './event-loop.js';
import { disposeSplit, toSplitTensors } from './tensors.js';

export type EncodedEvaluation = SplitEvaluation & { adversaries?: Record<string, AdversaryMetrics> };

/**
 * Evaluates a model on encoded rows: their tensors are made, evaluated by {@link evaluateSplit} and disposed here.
 * The one way final metrics are computed, by `mtl train` (val and test from the kept checkpoint) and `mtl eval`.
 * Adversarial tasks are left out of the metrics (and of their `mean/…`): they report in `adversaries`.
 */
export function evaluateEncoded(...args: Parameters<typeof evaluateEncodedSteps>): EncodedEvaluation {
  return runSteps(evaluateEncodedSteps(...args));
}

/** {@link evaluateEncoded} in steps, one per batch's forward pass. */
export function* evaluateEncodedSteps(
  model: MultiTaskModel,
  encoded: EncodedRows,
  tasks: readonly TaskConfig[],
  preprocessing: Preprocessing,
  batchSize: number,
): Steps<EncodedEvaluation> {
  const tensors = toSplitTensors(encoded, preprocessing);
  try {
    const evaluation = yield* evaluateSplitSteps(model, tensors, encoded, mainTasks(tasks), preprocessing, batchSize);
    if (!model.adversaries || encoded.rows === 0) return evaluation;
    const adversaries = yield* evaluateAdversariesSteps(model, tensors, encoded, preprocessing, batchSize);
    return { ...evaluation, adversaries };
  } finally {
    disposeSplit(tensors);
  }
}
