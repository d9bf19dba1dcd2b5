import type { TaskConfig } from '../config/types.js';
import type { EncodedRows, Preprocessing } from '../data/preprocess.js';
import type { MultiTaskModel } from '../model/types.js';
import { mainTasks } from '../adversarial/adversarial-tasks.js';
import { evaluateAdversaries, type AdversaryMetrics } from '../adversarial/adversary-metrics.js';
import { evaluateSplit, type SplitEvaluation } from './evaluate.js';
import { disposeSplit, toSplitTensors } from './tensors.js';

/**
 * Evaluates a model on encoded rows: their tensors are made, evaluated by {@link evaluateSplit} and disposed here.
 * The one way final metrics are computed, by `mtl train` (val and test from the kept checkpoint) and `mtl eval`.
 * Adversarial tasks are left out of the metrics (and of their `mean/…`): they report in `adversaries`.
 */
export function evaluateEncoded(
  model: MultiTaskModel,
  encoded: EncodedRows,
  tasks: readonly TaskConfig[],
  preprocessing: Preprocessing,
  batchSize: number,
): SplitEvaluation & { adversaries?: Record<string, AdversaryMetrics> } {
  const tensors = toSplitTensors(encoded, preprocessing);
  try {
    const evaluation = evaluateSplit(model, tensors, encoded, mainTasks(tasks), preprocessing, batchSize);
    if (!model.adversaries || encoded.rows === 0) return evaluation;
    return { ...evaluation, adversaries: evaluateAdversaries(model, tensors, encoded, preprocessing, batchSize) };
  } finally {
    disposeSplit(tensors);
  }
}
