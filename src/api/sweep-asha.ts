import { existsSync } from 'node:fs';
import path from 'node:path';
import { readResolvedConfig } from '../runs/inputs.js';
import { runFile } from '../runs/layout.js';
import type { HalvingRecord } from '../runs/sweep-rungs.js';
import type { TrialStatus } from '../runs/sweeps.js';
import { resolveRunsDir } from '../runs/store.js';
import { halvingRecordOf, promote, type HalvingPlan } from '../sweep/halving.js';
import { configurationRecord, refuseHalvingShard, rungEntry, trialAt, type EntryAtRung } from './sweep-halving.js';
import { recordSweep } from './sweep-status.js';
import { executeTrials, type SweepOptions, type SweepPlan, type SweepResult, type TrialOutcome } from './sweep.js';

/**
 * `halving: { mode: asha }`: asynchronous successive halving (ASHA, Li et al., "A System for Massively Parallel
 * Hyperparameter Tuning", MLSys 2020, Algorithm 2), same rungs b_k = min(R, r·η^k) as sync. One job at a time (a
 * configuration's trials, all its seeds, to one rung's epochs), chosen when the previous one ended:
 *
 * 1. a job started and not finished (a run interrupted or killed) is finished first;
 * 2. else, from the highest rung k < K down to 0: among the configurations that finished rung k, the top ⌊n/η⌋ by
 *    value (n those finished so far; the sync rule's ranking, sweep/halving.ts); the best of them not yet started
 *    at rung k+1 is promoted to it (extended from its checkpoint);
 * 3. else the next configuration not started, in the sweep's order, trains rung 0's epochs;
 * 4. else (every configuration started, none running) rule 2 with the top max(1, ⌊n/η⌋), so that, as in sync, at
 *    least one configuration reaches R;
 * 5. else the sweep is done.
 *
 * Promotions depend on which trials had finished when they were decided, so ASHA's results depend on the order of
 * completion; run one job at a time, as here, that order is the sweep's own and the results are reproducible, and a
 * sweep interrupted and run again decides the same (rule 1, and decisions read from the recorded rung values).
 * Unlike sync, a configuration may be promoted early and later fall out of the top fraction: more than ⌊n_k/η⌋ may
 * reach rung k+1. `mode: sync` (the default) is the one to use when the promotions must not depend on order.
 */
export async function runAshaSweep(plan: SweepPlan, halving: HalvingPlan, options: SweepOptions): Promise<SweepResult> {
  const { shard, ...rest } = options;
  if (shard && shard.count > 1) refuseHalvingShard(plan);
  const runsDir = resolveRunsDir(options.runsDir);
  const dir = path.join(runsDir, plan.id);
  const statuses = new Map<string, TrialStatus>();
  recordSweep(plan, dir, statuses, { halving: halvingRecordOf(halving) });
  const outcomes: TrialOutcome[] = [];
  for (let job = nextJob(dir, plan, halving); job !== undefined; job = nextJob(dir, plan, halving)) {
    const epochs = halving.rungs[job.rung]?.epochs ?? halving.maxEpochs;
    const requests = job.trials.map((index) => ({ trial: trialAt(plan, index), epochs }));
    const executed = await executeTrials(plan, dir, requests, statuses, { ...rest, runsDir });
    outcomes.push(...executed.outcomes);
    const finished = rungEntry(dir, plan, job, job.rung, epochs, halving.metric).finished;
    recordSweep(plan, dir, statuses, { halving: ashaRecord(dir, plan, halving) });
    if (executed.interrupted || executed.stoppedEarly || !finished) {
      return { id: plan.id, dir, outcomes, interrupted: executed.interrupted, stoppedEarly: executed.stoppedEarly };
    }
  }
  return { id: plan.id, dir, outcomes, interrupted: false, stoppedEarly: false };
}

type Configuration = HalvingPlan['configurations'][number];

/** The highest rung a configuration's runs were started at (their training.epochs), −1 when none has a run. */
function startedRung(dir: string, plan: SweepPlan, halving: HalvingPlan, configuration: Configuration): number {
  let highest = -1;
  for (const index of configuration.trials) {
    const trialDir = path.join(dir, trialAt(plan, index).hash);
    if (!existsSync(runFile(trialDir, 'meta'))) continue;
    const epochs = readResolvedConfig(trialDir).training.epochs;
    highest = Math.max(
      highest,
      halving.rungs.findIndex((rung) => rung.epochs >= epochs),
    );
  }
  return highest;
}

function nextJob(dir: string, plan: SweepPlan, halving: HalvingPlan): (Configuration & { rung: number }) | undefined {
  const started = halving.configurations.map((c) => startedRung(dir, plan, halving, c));
  const entries = (rung: number): EntryAtRung[] =>
    halving.configurations
      .filter((c) => (started[c.configuration] ?? -1) >= rung)
      .map((c) => rungEntry(dir, plan, c, rung, halving.rungs[rung]?.epochs ?? 0, halving.metric));
  for (const configuration of halving.configurations) {
    const rung = started[configuration.configuration] ?? -1;
    if (rung < 0) continue;
    const epochs = halving.rungs[rung]?.epochs ?? 0;
    if (!rungEntry(dir, plan, configuration, rung, epochs, halving.metric).finished) return { ...configuration, rung };
  }
  const promotion = (atLeastOne: boolean): (Configuration & { rung: number }) | undefined => {
    for (let rung = halving.rungs.length - 2; rung >= 0; rung--) {
      const finished = entries(rung).filter((e) => e.finished);
      const ranked = promote(finished, halving.eta, halving.higherIsBetter, atLeastOne);
      const configuration = halving.configurations[ranked.find((c) => started[c] === rung) ?? -1];
      if (configuration) return { ...configuration, rung: rung + 1 };
    }
    return undefined;
  };
  const fresh = halving.configurations.find((c) => started[c.configuration] === -1);
  return promotion(false) ?? (fresh && { ...fresh, rung: 0 }) ?? promotion(true);
}

/** sweep.json's `halving` for ASHA: per rung, the configurations that finished it; promoted = started above it. */
function ashaRecord(dir: string, plan: SweepPlan, halving: HalvingPlan): HalvingRecord {
  const started = halving.configurations.map((c) => startedRung(dir, plan, halving, c));
  const record = halvingRecordOf(halving);
  for (const { rung, epochs } of halving.rungs) {
    const reached = halving.configurations.filter((c) => (started[c.configuration] ?? -1) >= rung);
    if (reached.length === 0) break;
    const entries = reached.map((c) => rungEntry(dir, plan, c, rung, epochs, halving.metric));
    record.rungs.push({
      rung,
      epochs,
      decided: entries.every((e) => e.finished),
      configurations: entries.map((e) => configurationRecord(e, (started[e.configuration] ?? -1) > rung)),
    });
  }
  return record;
}
