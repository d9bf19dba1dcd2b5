import { UsageError } from '../errors.js';
import { readResolvedConfig } from '../runs/inputs.js';
import { withRunLock } from '../runs/lock.js';
import type { StoredRunMeta } from '../runs/meta.js';
import { openRun, resolveRunsDir } from '../runs/store.js';
import type { RunSummary } from '../runs/summary.js';
import { refreshGroupOfMember } from './groups.js';
import { continueFromLast, type ResumeOptions } from './resume.js';

/**
 * Trains a completed run on to more epochs (successive halving's promotion, api/sweep-halving.ts): its
 * training.epochs raised to `epochs` in config.resolved.json, `training.epochs=<epochs>` in meta.json's overrides
 * (so `mtl train <config> --set …` retrains it), and training continued from its `last` checkpoint exactly as
 * `mtl train --resume` continues (weights, optimizer slots, generators, strategy state, early-stopping counters).
 * With a learning rate that does not depend on training.epochs (schedule constant, step or exponential, warm-up
 * included) a run trained to e epochs and extended to E has the metrics of a run trained to E epochs straight, bit
 * for bit on one backend. Refused:
 *
 * - a `cosine` schedule: its rate at every epoch depends on training.epochs, so the extended run would have followed
 *   one schedule for its first e epochs and another after (the run trained to E straight follows one);
 * - a run that is not completed (resume it), or that stopped early (it is final: a run trained longer would have
 *   stopped at the same epoch), or that has `epochs` epochs already.
 */
export async function extendExperiment(
  reference: string,
  epochs: number,
  options: ResumeOptions = {},
): Promise<RunSummary> {
  const { dir } = openRun(reference, resolveRunsDir(options.runsDir));
  const summary = await withRunLock(dir, () => extendLocked(reference, epochs, options), {
    command: 'mtl sweep (extend)',
    ...options.lock,
  });
  refreshGroupOfMember(dir);
  return summary;
}

async function extendLocked(reference: string, epochs: number, options: ResumeOptions): Promise<RunSummary> {
  const { id, dir, meta } = openRun(reference, resolveRunsDir(options.runsDir));
  const stored = readResolvedConfig(dir);
  const problem = whyNotExtendable(meta, stored.training.epochs, epochs);
  if (problem !== undefined) throw new UsageError(`Run ${id} cannot be extended to ${epochs} epochs: ${problem}.`);
  if (stored.training.schedule.type === 'cosine') {
    throw new UsageError(
      `Run ${id} cannot be extended to ${epochs} epochs: its cosine schedule's learning rate depends on ` +
        'training.epochs, so the extended run would not be the run trained that long.',
      ['use schedule constant, step or exponential, or train a new run with the epochs you want'],
    );
  }
  const override = `training.epochs=${epochs}`;
  return continueFromLast(reference, options, {
    config: (config) => ({ ...config, training: { ...config.training, epochs } }),
    meta: { overrides: [...meta.overrides.filter((o) => !o.startsWith('training.epochs=')), override] },
  });
}

/** Why a run cannot be trained on to `epochs` (undefined: it can). */
export function whyNotExtendable(meta: StoredRunMeta, configuredEpochs: number, epochs: number): string | undefined {
  if (meta.status !== 'completed') return `it is ${meta.status}, not completed (resume it: mtl train --resume)`;
  if (stoppedEarly(meta, configuredEpochs)) {
    return `it stopped early (${meta.statusReason ?? `after epoch ${meta.epochsCompleted}`}); it is final`;
  }
  if (meta.epochsCompleted >= epochs) return `it has ${meta.epochsCompleted} epochs already`;
  return undefined;
}

/**
 * A completed run stopped by early stopping: fewer epochs than its config's, or the early-stopping reason (a run
 * whose patience ran out at its last epoch: trained longer, it would have stopped there too).
 */
export function stoppedEarly(meta: StoredRunMeta, configuredEpochs: number): boolean {
  return (
    meta.status === 'completed' &&
    (meta.epochsCompleted < configuredEpochs || (meta.statusReason ?? '').startsWith('early stopping'))
  );
}
