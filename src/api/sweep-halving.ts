import path from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { checkMetricReference } from '../config/semantics.js';
import type { TaskConfig } from '../config/types.js';
import { UsageError } from '../errors.js';
import { higherIsBetter } from '../metrics/direction.js';
import { readResolvedConfig } from '../runs/inputs.js';
import { readMeta } from '../runs/meta.js';
import { readSummaryIfAny } from '../runs/summary.js';
import {
  readTrialRungs,
  writeTrialRung,
  type HalvingConfigurationRecord,
  type HalvingRecord,
  type TrialRungRecord,
} from '../runs/sweep-rungs.js';
import { trialStatus, type TrialStatus } from '../runs/sweeps.js';
import { resolveRunsDir } from '../runs/store.js';
import { halvingRecordOf, meanValue, planRungs, promote, type HalvingPlan, type RungEntry } from '../sweep/halving.js';
import type { SweepSpec } from '../sweep/spec.js';
import { stoppedEarly } from './extend.js';
import { recordSweep } from './sweep-status.js';
import {
  executeTrials,
  type PlannedTrial,
  type SweepOptions,
  type SweepPlan,
  type SweepResult,
  type TrialOutcome,
} from './sweep.js';

/**
 * `search: halving` (sweep/halving.ts has the method, its papers and its rule): the rung loop of `mode: sync`
 * (`mode: asha`: api/sweep-asha.ts). Rung k asks every
 * trial of its configurations for b_k epochs through executeTrials (a new trial trains b_k epochs, a promoted one is
 * extended from its checkpoint, a finished one is skipped), then reads each trial's value back, records it per trial
 * (runs/sweep-rungs.ts) and in sweep.json, and promotes. Only `mode: sync` exists: a rung is decided once every one
 * of its trials has finished it, so the promotions are a pure function of the finished results; re-running the sweep
 * recomputes them and trains nothing twice. A rung that cannot be decided (a trial interrupted, failed to start, or
 * held by another process) ends the run of the sweep; running it again goes on from there.
 */
export async function runHalvingSweep(
  plan: SweepPlan,
  halving: HalvingPlan,
  options: SweepOptions,
): Promise<SweepResult> {
  const { shard, ...rest } = options;
  if (shard && shard.count > 1) refuseHalvingShard(plan);
  const runsDir = resolveRunsDir(options.runsDir);
  const dir = path.join(runsDir, plan.id);
  const statuses = new Map<string, TrialStatus>();
  const record: HalvingRecord = halvingRecordOf(halving);
  recordSweep(plan, dir, statuses, { halving: record });
  const outcomes: TrialOutcome[] = [];
  let configurations = halving.configurations;
  for (const { rung, epochs } of halving.rungs) {
    const requests = configurations.flatMap((c) => c.trials.map((index) => ({ trial: trialAt(plan, index), epochs })));
    const executed = await executeTrials(plan, dir, requests, statuses, { ...rest, runsDir });
    outcomes.push(...executed.outcomes);
    const entries = configurations.map((c) => rungEntry(dir, plan, c, rung, epochs, halving.metric));
    const decided = !executed.interrupted && !executed.stoppedEarly && entries.every((e) => e.finished);
    const last = rung === halving.rungs.length - 1;
    const promoted = decided && !last ? promote(entries, halving.eta, halving.higherIsBetter) : [];
    record.rungs.push({
      rung,
      epochs,
      decided,
      configurations: entries.map((entry) => configurationRecord(entry, promoted.includes(entry.configuration))),
    });
    recordSweep(plan, dir, statuses, { halving: record });
    if (!decided) {
      return { id: plan.id, dir, outcomes, interrupted: executed.interrupted, stoppedEarly: executed.stoppedEarly };
    }
    configurations = halving.configurations.filter((c) => promoted.includes(c.configuration));
  }
  return { id: plan.id, dir, outcomes, interrupted: false, stoppedEarly: false };
}

/** `--shard` splits trials with no coordination; a rung's promotions need all of its trials' results. */
export function refuseHalvingShard(plan: SweepPlan): never {
  throw new UsageError(
    `${plan.spec.where(['search'])}: search: halving cannot be split with --shard: each rung's promotions need ` +
      'every trial of the rung.',
    ['run it without --shard (running it again resumes it), or use search: grid or random to shard'],
  );
}

interface TrialAtRung {
  /** It finished the rung: completed its epochs (or stopped early, failed, diverged: final). */
  finished: boolean;
  value: number | undefined;
  /** Completed the rung's epochs and may train on. */
  extendable: boolean;
}

export type EntryAtRung = RungEntry & { finished: boolean; trials: PlannedTrial[] };

export function rungEntry(
  dir: string,
  plan: SweepPlan,
  configuration: HalvingPlan['configurations'][number],
  rung: number,
  epochs: number,
  metric: string,
): EntryAtRung {
  const trials = configuration.trials.map((index) => trialAt(plan, index));
  const states = trials.map((trial) => trialAtRung(dir, trial.hash, rung, epochs, metric));
  return {
    configuration: configuration.configuration,
    firstTrial: Math.min(...configuration.trials),
    value: meanValue(states.map((s) => s.value)),
    extendable: states.every((s) => s.extendable),
    finished: states.every((s) => s.finished),
    trials,
  };
}

/**
 * A trial at a rung: its record when it has one (written when it finished the rung), else read from its run now and
 * recorded when it completed the rung (the run is at the rung's epochs, or stopped early before them).
 */
function trialAtRung(dir: string, hash: string, rung: number, epochs: number, metric: string): TrialAtRung {
  const recorded = readTrialRungs(dir, hash).find((r) => r.rung === rung);
  if (recorded) return { finished: true, value: recorded.value, extendable: !recorded.stoppedEarly };
  const trialDir = path.join(dir, hash);
  const status = trialStatus(trialDir);
  // Failed or diverged: final, never promoted (a failed one retried with --retry-failed may finish later).
  if (status === 'failed' || status === 'diverged') return { finished: true, value: undefined, extendable: false };
  if (status !== 'completed') return { finished: false, value: undefined, extendable: false };
  const meta = readMeta(trialDir);
  const early = stoppedEarly(meta, readResolvedConfig(trialDir).training.epochs);
  if (meta.epochsCompleted < epochs && !early) return { finished: false, value: undefined, extendable: false };
  const found = readSummaryIfAny(trialDir)?.val[metric];
  const value = found !== undefined && Number.isFinite(found) ? found : undefined;
  const entry: TrialRungRecord = { rung, epochs, value, stoppedEarly: early };
  writeTrialRung(dir, hash, entry);
  return { finished: true, value, extendable: !early };
}

export function configurationRecord(entry: EntryAtRung, promoted: boolean): HalvingConfigurationRecord {
  const first = entry.trials[0];
  return {
    configuration: entry.configuration,
    trials: entry.trials.map((trial) => trial.hash),
    overrides: first?.overrides ?? [],
    ...(first?.tasks ? { tasks: [...first.tasks] } : {}),
    ...(entry.value === undefined ? {} : { value: entry.value }),
    promoted,
  };
}

export function trialAt(plan: SweepPlan, index: number): PlannedTrial {
  const trial = plan.trials[index];
  if (!trial) throw new Error(`halving plan names trial ${index}, which the sweep does not have`);
  return trial;
}

/** R: halving.max_epochs, else the base config's training.epochs; at least min_epochs. */
export function halvingMaxEpochs(spec: SweepSpec, base: LoadedConfig): number {
  const settings = spec.halving;
  if (!settings) throw new Error('halvingMaxEpochs: not a halving sweep');
  const epochs = settings.maxEpochs ?? base.config.training.epochs;
  if (epochs < settings.minEpochs) {
    throw new UsageError(
      `${spec.where(['halving', 'min_epochs'])}: halving.min_epochs: ${settings.minEpochs} is more than the ` +
        `base config's training.epochs (${epochs}), the last rung's budget.`,
      ['lower min_epochs, or set halving.max_epochs'],
    );
  }
  return epochs;
}

/**
 * The halving plan: the metric checked against the base config's tasks and each trial's (a task subset lacking the
 * metric's task could not be ranked), schedules whose rate depends on training.epochs refused (an extended trial
 * would not be the trial trained that long), the trials grouped into configurations (same overrides and task subset;
 * its seeds), the rungs planned.
 */
export function planHalving(spec: SweepSpec, base: LoadedConfig, trials: readonly PlannedTrial[]): HalvingPlan {
  const settings = spec.halving;
  if (!settings) throw new Error('planHalving: not a halving sweep');
  const at = spec.where(['halving', 'metric']);
  const problem = checkMetricReference(settings.metric, base.config.tasks);
  if (problem !== undefined) {
    throw new UsageError(`${at}: halving.metric: ${problem}`, [
      `the base config's metrics: ${metricNames(base.config.tasks).join(', ')}`,
    ]);
  }
  for (const trial of trials) {
    const config = trial.loaded.config;
    const lacking = checkMetricReference(settings.metric, config.tasks);
    if (lacking !== undefined) {
      throw new UsageError(
        `${at}: halving.metric: "${settings.metric}" cannot rank the task subset ` +
          `${trial.tasks?.join('+') ?? 'all'}: ${lacking}`,
        ['rank by a metric every subset reports (loss, mean/loss), or leave such subsets out of tasks:'],
      );
    }
    if (config.training.schedule.type === 'cosine') {
      throw new UsageError(
        `${spec.where(['search'])}: search: halving cannot use training.schedule cosine (trial ${trial.index + 1}): ` +
          "its learning rate depends on training.epochs, so a trial extended from one rung's epochs to the next " +
          'would not be the trial trained that long.',
        ['use schedule constant, step or exponential (warm-up is fine), or search: grid or random'],
      );
    }
  }
  const key = (trial: PlannedTrial): string => JSON.stringify([trial.overrides, trial.tasks ?? null]);
  const groups = new Map<string, number[]>();
  for (const trial of trials) groups.set(key(trial), [...(groups.get(key(trial)) ?? []), trial.index]);
  const configurations = [...groups.values()].map((indices, configuration) => ({ configuration, trials: indices }));
  const metric = settings.metric === 'loss' ? 'mean/loss' : settings.metric;
  const maxEpochs = halvingMaxEpochs(spec, base);
  return {
    metric,
    higherIsBetter: higherIsBetter(metric),
    minEpochs: settings.minEpochs,
    maxEpochs,
    eta: settings.eta,
    mode: settings.mode,
    configurations,
    rungs: planRungs(configurations.length, settings.minEpochs, maxEpochs, settings.eta),
  };
}

/** What a metric reference may name: loss, mean/<metric>, <task>/<metric> (loss included). */
function metricNames(tasks: readonly TaskConfig[]): string[] {
  const means = [...new Set(tasks.flatMap((task) => task.metrics))].map((m) => `mean/${m}`);
  return [
    'loss',
    'mean/loss',
    ...means,
    ...tasks.flatMap((t) => [`${t.name}/loss`, ...t.metrics.map((m) => `${t.name}/${m}`)]),
  ];
}
