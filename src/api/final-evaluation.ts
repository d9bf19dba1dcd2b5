/**
 * How a trained run gets its final metrics: from which checkpoint, and val and test (with the adversaries' summary)
 * evaluated in steps, so that the caller can give the event loop turns between batches (a signal is handled then).
 */
import type { MetricValues } from '../metrics/types.js';
import type { RunStatus } from '../runs/meta.js';
import { loadCheckpointInto } from '../runs/checkpoint.js';
import { checkpointDir, type CheckpointName } from '../runs/layout.js';
import type { RunSummary } from '../runs/summary.js';
import { evaluateEncodedSteps, type EncodedEvaluation } from '../train/evaluate-encoded.js';
import type { Steps } from '../train/event-loop.js';
import { adversarialSummarySteps } from '../adversarial/summary.js';
import type { TrainingSession } from './train.js';

export interface FinalEvaluation {
  test: MetricValues;
  val: MetricValues;
  adversarial: Pick<RunSummary, 'adversaries' | 'targetDomain'>;
}

/** The final metrics: val and test (and the adversaries' summary) from `checkpoint`; none without one. */
export function* finalEvaluationSteps(
  { config, data, model, dir }: TrainingSession,
  checkpoint: CheckpointName | undefined,
): Steps<FinalEvaluation> {
  if (!checkpoint) return { test: {}, val: {}, adversarial: {} };
  if (checkpoint === 'best') loadCheckpointInto(checkpointDir(dir, 'best'), model);
  yield;
  const evaluate = (split: 'val' | 'test'): Steps<EncodedEvaluation> =>
    evaluateEncodedSteps(model, data.splits[split], config.tasks, data.preprocessing, config.training.eval_batch_size);
  const test = (yield* evaluate('test')).metrics;
  const val = (yield* evaluate('val')).metrics;
  return { test, val, adversarial: yield* adversarialSummarySteps(model, config, data) };
}

/**
 * Where the final metrics come from: the best checkpoint when an epoch improved the monitored value, else the last
 * weights; for a diverged run only the best (its last weights are the diverged ones), so without a good epoch none.
 */
export function finalCheckpoint(status: RunStatus, bestEpoch: number): CheckpointName | undefined {
  if (bestEpoch > 0) return 'best';
  return status === 'diverged' ? undefined : 'last';
}
