import type { ResolvedConfig } from '../config/types.js';
import type { PreparedData } from '../data/prepare.js';
import type { MultiTaskModel } from '../model/types.js';
import type { RunSummary } from '../runs/summary.js';
import { evaluateEncodedSteps } from '../train/evaluate-encoded.js';
import type { Steps } from '../train/event-loop.js';
import { evaluateAdversariesOnRowsSteps } from './adversary-metrics.js';
import { targetDomainRows } from './domains.js';

/**
 * What a run with adversaries adds to summary.json, from the final checkpoint: each adversary's loss, accuracy and
 * chance on val and test (`adversaries`), and under `data.domains` the main tasks' metrics on the target domain's
 * rows (`targetDomain`). Nothing for a run without adversaries, so its summary is unchanged.
 */
export function* adversarialSummarySteps(
  model: MultiTaskModel,
  config: ResolvedConfig,
  data: PreparedData,
): Steps<Pick<RunSummary, 'adversaries' | 'targetDomain'>> {
  if (!model.adversaries) return {};
  const batchSize = config.training.eval_batch_size;
  const evaluate = (split: 'val' | 'test') =>
    evaluateAdversariesOnRowsSteps(model, data.splits[split], data.preprocessing, batchSize);
  const adversaries = { val: yield* evaluate('val'), test: yield* evaluate('test') };
  const domains = config.data.domains;
  if (!domains) return { adversaries };
  const targetDomain: NonNullable<RunSummary['targetDomain']> = { domain: domains.target, val: {}, test: {} };
  for (const split of ['val', 'test'] as const) {
    const rows = targetDomainRows(data.splits[split], data.preprocessing, domains);
    if (!rows || rows.rows === 0) continue;
    const evaluation = yield* evaluateEncodedSteps(model, rows, config.tasks, data.preprocessing, batchSize);
    targetDomain[split] = evaluation.metrics;
  }
  return { adversaries, targetDomain };
}
