import type { TaskConfig } from '../config/types.js';
import type { EncodedRows, Preprocessing } from '../data/preprocess.js';
import type { MultiTaskModel } from '../model/types.js';
import { evaluateSplit, type SplitEvaluation } from './evaluate.js';
import { disposeSplit, toSplitTensors } from './tensors.js';

/**
 * Evaluates a model on encoded rows: their tensors are made, evaluated by {@link evaluateSplit} and disposed here.
 * The one way final metrics are computed, by `mtl train` (val and test from the kept checkpoint) and `mtl eval`.
 */
export function evaluateEncoded(
  model: MultiTaskModel,
  encoded: EncodedRows,
  tasks: readonly TaskConfig[],
  preprocessing: Preprocessing,
  batchSize: number,
): SplitEvaluation {
  const tensors = toSplitTensors(encoded, preprocessing);
  try {
    return evaluateSplit(model, tensors, encoded, tasks, preprocessing, batchSize);
  } finally {
    disposeSplit(tensors);
  }
}
