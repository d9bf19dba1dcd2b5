import type { ResolvedConfig } from '../config/types.js';
import type { PreparedData } from '../data/prepare.js';
import type { MultiTaskModel } from '../model/types.js';
import type { RunSummary } from '../runs/summary.js';
import { evaluateEncoded } from '../train/evaluate-encoded.js';
import { evaluateAdversariesOnRows } from './adversary-metrics.js';
import { targetDomainRows } from './domains.js';

/**
 * What a run with adversaries adds to summary.json, from the final checkpoint: each adversary's loss, accuracy and
 * chance on val and test (`adversaries`), and under `data.domains` the main tasks' metrics on the target domain's
 * rows (`targetDomain`). Nothing for a run without adversaries, so its summary is unchanged.
 */
export function adversarialSummary(
  model: MultiTaskModel,
  config: ResolvedConfig,
  data: PreparedData,
): Pick<RunSummary, 'adversaries' | 'targetDomain'> {
  if (!model.adversaries) return {};
  const batchSize = config.training.eval_batch_size;
  const evaluate = (split: 'val' | 'test') =>
    evaluateAdversariesOnRows(model, data.splits[split], data.preprocessing, batchSize);
  const adversaries = { val: evaluate('val'), test: evaluate('test') };
  const domains = config.data.domains;
  if (!domains) return { adversaries };
  const onTarget = (split: 'val' | 'test') => {
    const rows = targetDomainRows(data.splits[split], data.preprocessing, domains);
    return rows && rows.rows > 0
      ? evaluateEncoded(model, rows, config.tasks, data.preprocessing, batchSize).metrics
      : {};
  };
  return { adversaries, targetDomain: { domain: domains.target, val: onTarget('val'), test: onTarget('test') } };
}
