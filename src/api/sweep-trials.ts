/**
 * The trials `mtl compare --sweep` reads: the completed ones, with their summary and resolved config; the others
 * named with their status. When a successive-halving sweep left trials at different epoch budgets (sweep.json's
 * optional `epochs` per trial), only those at the largest budget are kept (rule: {@link BUDGET_RULE}).
 */
import path from 'node:path';
import type { ResolvedConfig } from '../config/types.js';
import { readTrialEpochBudgets } from '../runs/sweep-budgets.js';
import { readSummaryIfAny, type RunSummary } from '../runs/summary.js';
import { trialState, type SweepMeta, type SweepTrialRecord } from '../runs/sweeps.js';
import { readConfigIfAny } from './run-description.js';

export const BUDGET_RULE =
  'when the trials of a sweep reached different epoch budgets (successive halving), only the completed trials at the ' +
  'largest budget are compared; the others are left out and named';

export interface ComparedTrial {
  record: SweepTrialRecord;
  dir: string;
  summary: RunSummary;
  resolved: ResolvedConfig;
}

export interface LeftOutTrial {
  id: string;
  status: string;
  /** Why it is not compared. */
  reason: string;
}

export interface SweepTrials {
  trials: ComparedTrial[];
  leftOut: LeftOutTrial[];
  notes: string[];
}

export function readComparedTrials(sweepDir: string, meta: SweepMeta): SweepTrials {
  const trials: ComparedTrial[] = [];
  const leftOut: LeftOutTrial[] = [];
  for (const record of meta.trials) {
    const dir = path.join(sweepDir, record.hash);
    const { status, damage } = trialState(dir);
    const summary = status === 'completed' ? readSummaryIfAny(dir) : undefined;
    const resolved = summary ? readConfigIfAny(dir) : undefined;
    if (summary && resolved) trials.push({ record, dir, summary, resolved });
    else {
      const reason = damage
        ? damage.message
        : status !== 'completed'
          ? 'not completed'
          : summary
            ? 'config.resolved.json unreadable'
            : 'no summary.json';
      leftOut.push({ id: record.id, status, reason });
    }
  }
  const notes: string[] = [];
  const budgets = readTrialEpochBudgets(sweepDir);
  const reached = new Set(trials.map((t) => budgets.get(t.record.hash)));
  if (reached.size > 1) {
    const largest = Math.max(...[...reached].filter((b): b is number => b !== undefined));
    const atLargest = trials.filter((t) => budgets.get(t.record.hash) === largest);
    for (const trial of trials) {
      if (atLargest.includes(trial)) continue;
      const budget = budgets.get(trial.record.hash);
      const epochs =
        budget === undefined ? 'an unrecorded number of epochs' : `${budget} epoch${budget === 1 ? '' : 's'}`;
      const reason = `stopped at ${epochs}, not the largest budget`;
      leftOut.push({ id: trial.record.id, status: 'completed', reason });
    }
    notes.push(
      `the trials reached different epoch budgets (successive halving): only the ${atLargest.length} at the ` +
        `largest, ${largest} epochs, are compared; ${trials.length - atLargest.length} completed at smaller ` +
        'budgets are left out',
    );
    return { trials: atLargest, leftOut, notes };
  }
  return { trials, leftOut, notes };
}
