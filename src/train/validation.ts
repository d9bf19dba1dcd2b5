import type { ResolvedConfig, TaskConfig } from '../config/types.js';
import type { EncodedRows, Preprocessing } from '../data/preprocess.js';
import { higherIsBetter } from '../metrics/direction.js';
import type { MetricValues } from '../metrics/types.js';
import type { MultiTaskModel } from '../model/types.js';
import { evaluateAdversariesSteps, type AdversaryMetrics } from '../adversarial/adversary-metrics.js';
import { evaluateSplitSteps } from './evaluate.js';
import { runStepsYielding } from './event-loop.js';
import type { SplitTensors } from './tensors.js';

/** Name of the monitored value and its direction: the early-stopping metric on validation, else the train loss. */
export function monitorOf(config: ResolvedConfig, hasValidation: boolean): { name: string; higher: boolean } {
  const metric = config.training.early_stopping.metric;
  if (!hasValidation) return { name: 'train/mean/loss', higher: false };
  const key = metric === 'loss' ? 'mean/loss' : metric;
  return { name: `val/${key}`, higher: higherIsBetter(key) };
}

/**
 * An epoch's validation: the tasks' metrics on the validation split, and the adversarial tasks' heads
 * (adversarial/adversary-metrics.ts); nothing without validation rows. With event-loop turns between batches: a
 * large split takes seconds, and a signal is handled during it (the trainer then stops at the epoch's end).
 */
export async function validateEpoch(
  model: MultiTaskModel,
  val: SplitTensors,
  encoded: EncodedRows,
  tasks: readonly TaskConfig[],
  preprocessing: Preprocessing,
  batchSize: number,
): Promise<{ metrics: MetricValues; adversaries: Record<string, AdversaryMetrics> | undefined }> {
  if (val.rows === 0) return { metrics: {}, adversaries: undefined };
  const { metrics } = await runStepsYielding(evaluateSplitSteps(model, val, encoded, tasks, preprocessing, batchSize));
  const adversaries = model.adversaries
    ? await runStepsYielding(evaluateAdversariesSteps(model, val, encoded, preprocessing, batchSize))
    : undefined;
  return { metrics, adversaries };
}
