import type { EncodedRows, Preprocessing } from '../data/preprocess.js';
import type { MultiTaskModel } from '../model/types.js';
import { evaluateSplitSteps } from '../train/evaluate.js';
import { runSteps, type Steps } from '../train/event-loop.js';
import { disposeSplit, toSplitTensors, type SplitTensors } from '../train/tensors.js';

/** What an adversary reports per epoch (EpochRecord.adversaries) and in the summary. */
export interface AdversaryMetrics {
  loss: number;
  accuracy: number;
  /** The majority-class rate of its targets on the rows measured: what predicting one class always scores. */
  chance: number;
}

/**
 * Each adversary's loss and accuracy on a split (its head's predictions, behind the reversal layer: the forward pass
 * is the identity there), over the rows that have its label, and the chance rate on the same rows:
 *
 *   chance = max_c |{r : y_r = c}| / |rows|
 *
 * An adversary that the trunk defeated predicts no better than `chance`.
 */
export function evaluateAdversaries(
  ...args: Parameters<typeof evaluateAdversariesSteps>
): Record<string, AdversaryMetrics> {
  return runSteps(evaluateAdversariesSteps(...args));
}

/** {@link evaluateAdversaries} in steps, one per batch's forward pass. */
export function* evaluateAdversariesSteps(
  model: MultiTaskModel,
  split: SplitTensors,
  encoded: EncodedRows,
  preprocessing: Preprocessing,
  batchSize: number,
): Steps<Record<string, AdversaryMetrics>> {
  const adversaries = model.adversaries;
  if (!adversaries) return {};
  // Rows read without an adversary's target (`mtl eval --data` of a file without the domain column) measure it not.
  const measured = adversaries.tasks.filter((task) => encoded.targets[task.name] !== undefined);
  if (measured.length === 0) return {};
  const tasks = measured.map((task) => ({ ...task, metrics: ['accuracy'] }));
  const { metrics } = yield* evaluateSplitSteps(model, split, encoded, tasks, preprocessing, batchSize);
  return Object.fromEntries(
    tasks.map((task) => [
      task.name,
      {
        loss: metrics[`${task.name}/loss`] ?? NaN,
        accuracy: metrics[`${task.name}/accuracy`] ?? NaN,
        chance: majorityRate(encoded.targets[task.name], encoded.labelled?.[task.name]),
      },
    ]),
  );
}

/** The share of the most frequent class among the labelled rows (class indices or 0/1); NaN without rows. */
export function majorityRate(targets: Float32Array | undefined, labelled: Uint8Array | undefined): number {
  if (!targets) return NaN;
  const counts = new Map<number, number>();
  let rows = 0;
  targets.forEach((value, row) => {
    if (labelled && labelled[row] !== 1) return;
    counts.set(value, (counts.get(value) ?? 0) + 1);
    rows++;
  });
  return rows === 0 ? NaN : Math.max(...counts.values()) / rows;
}

/** {@link evaluateAdversaries} on encoded rows, in steps: their tensors are made and disposed here. */
export function* evaluateAdversariesOnRowsSteps(
  model: MultiTaskModel,
  encoded: EncodedRows,
  preprocessing: Preprocessing,
  batchSize: number,
): Steps<Record<string, AdversaryMetrics>> {
  if (!model.adversaries || encoded.rows === 0) return {};
  const tensors = toSplitTensors(encoded, preprocessing);
  try {
    return yield* evaluateAdversariesSteps(model, tensors, encoded, preprocessing, batchSize);
  } finally {
    disposeSplit(tensors);
  }
}
