import type { HalvingRecord } from '../runs/sweep-rungs.js';

/**
 * Successive halving with epochs as the budget (`search: halving`): Jamieson & Talwalkar, "Non-stochastic Best Arm
 * Identification and Hyperparameter Optimization", AISTATS 2016; as SHA in Li et al., "A System for Massively
 * Parallel Hyperparameter Tuning", MLSys 2020 (the ASHA paper), with minimum resource r, maximum R and reduction
 * factor η. Pure: the rung plan and a rung's decision; api/sweep-halving.ts runs the rungs.
 *
 * - Rungs k = 0, 1, …, K: budget b_k = min(R, r·η^k) epochs, K the first k with r·η^k ≥ R (so b_K = R).
 * - Rung 0 holds all n_0 configurations; rung k+1 the top max(1, ⌊n_k/η⌋) of rung k (planned counts: n_{k+1} =
 *   max(1, ⌊n_k/η⌋); fewer when fewer are eligible, below).
 * - A configuration's value at rung k: the mean over its seeds' trials of the metric's val value in each trial's
 *   summary.json when it finished the rung (the value at the run's best checkpoint, as `mtl sweep status` reads it),
 *   recorded per trial and rung (runs/sweep-rungs.ts) so that later extensions do not change an earlier rung.
 * - Eligible for promotion: every trial of the configuration completed the rung's epochs with a finite value and
 *   none stopped early (an early-stopped run is final at its rung), failed or diverged.
 * - Ranking: by value in the metric's direction (metrics/direction.ts), ties to the lower first trial index; the top
 *   max(1, ⌊n_k/η⌋) eligible configurations are promoted, where n_k counts every configuration in the rung.
 * - Cost: a promoted trial is extended from b_k to b_{k+1} (api/extend.ts), so the epochs trained are
 *   Σ_k n_k·(b_k − b_{k−1}) per seed and task subset, against n_0·R for the grid.
 */
export const HALVING_RULE =
  'rung k trains its configurations to b_k = min(R, r·η^k) epochs; a configuration is ranked by the mean over its ' +
  "seeds of the metric's val value in summary.json (the run's best checkpoint) when it finished the rung; the top " +
  'max(1, ⌊n_k/η⌋) configurations whose trials all completed the rung without stopping early are promoted (ties to ' +
  'the lower trial index) and extended to the next rung from their checkpoints';

/** `mode: asha` (api/sweep-asha.ts). */
export const ASHA_RULE =
  'asynchronous (ASHA): one job at a time; an unfinished job first, else from the highest rung down the best ' +
  'configuration in the top ⌊n/η⌋ of those that finished rung k (n of them so far, ranked as in sync) not yet ' +
  'started at rung k+1 is promoted, else the next configuration not started trains rung 0, else (all started) the ' +
  'same with the top max(1, ⌊n/η⌋); results depend on the order trials finish in';

export interface RungPlan {
  rung: number;
  epochs: number;
  /** Configurations planned in this rung (n_k). */
  configurations: number;
}

/** The rungs' budgets b_k = min(R, r·η^k), up to the first that reaches R. */
export function rungBudgets(minEpochs: number, maxEpochs: number, eta: number): number[] {
  const budgets: number[] = [];
  for (let budget = minEpochs; ; budget *= eta) {
    budgets.push(Math.min(maxEpochs, budget));
    if (budget >= maxEpochs) return budgets;
  }
}

/** The rung plan for n_0 configurations: budgets and n_{k+1} = max(1, ⌊n_k/η⌋). */
export function planRungs(configurations: number, minEpochs: number, maxEpochs: number, eta: number): RungPlan[] {
  let count = configurations;
  return rungBudgets(minEpochs, maxEpochs, eta).map((epochs, rung) => {
    const planned = { rung, epochs, configurations: count };
    count = promotedCount(count, eta);
    return planned;
  });
}

export function promotedCount(configurations: number, eta: number): number {
  return configurations === 0 ? 0 : Math.max(1, Math.floor(configurations / eta));
}

/** Epochs trained per trial of a configuration (seed, task subset): halving's plan against the grid's n_0·R. */
export function plannedEpochs(rungs: readonly RungPlan[]): { halving: number; grid: number } {
  let halving = 0;
  let previous = 0;
  for (const rung of rungs) {
    halving += rung.configurations * (rung.epochs - previous);
    previous = rung.epochs;
  }
  const first = rungs[0]?.configurations ?? 0;
  return { halving, grid: first * (rungs[rungs.length - 1]?.epochs ?? 0) };
}

/** One configuration at a rung, as its trials finished it. */
export interface RungEntry {
  /** The configuration's number (its place in the sweep's order). */
  configuration: number;
  /** Its lowest trial index: the tie-break. */
  firstTrial: number;
  /** The mean over its trials' values; undefined when a trial has none. */
  value: number | undefined;
  /** Every trial completed the rung's epochs, none stopped early: it can train on. */
  extendable: boolean;
}

/**
 * The configurations promoted out of a rung, best first (see the rule above). `atLeastOne` false: the top ⌊n/η⌋
 * (ASHA's count while more configurations may still finish the rung).
 */
export function promote(
  entries: readonly RungEntry[],
  eta: number,
  higherIsBetter: boolean,
  atLeastOne = true,
): number[] {
  const eligible = entries.filter(
    (entry): entry is RungEntry & { value: number } =>
      entry.extendable && entry.value !== undefined && Number.isFinite(entry.value),
  );
  const ranked = [...eligible].sort(
    (a, b) => (higherIsBetter ? b.value - a.value : a.value - b.value) || a.firstTrial - b.firstTrial,
  );
  const count = atLeastOne ? promotedCount(entries.length, eta) : Math.floor(entries.length / eta);
  return ranked.slice(0, count).map((entry) => entry.configuration);
}

/** The mean of the values, undefined when one is missing or not finite. */
export function meanValue(values: readonly (number | undefined)[]): number | undefined {
  if (values.length === 0 || values.some((v) => v === undefined || !Number.isFinite(v))) return undefined;
  return values.reduce((sum: number, v) => sum + (v ?? 0), 0) / values.length;
}

/** A halving sweep's plan (api/sweep.ts planSweep): the settings with R resolved, the configurations, the rungs. */
export interface HalvingPlan {
  metric: string;
  higherIsBetter: boolean;
  minEpochs: number;
  maxEpochs: number;
  eta: number;
  mode: 'sync' | 'asha';
  /** The configurations in the sweep's order, each with its trials (seeds, task subsets) by index. */
  configurations: { configuration: number; trials: number[] }[];
  rungs: RungPlan[];
}

/** sweep.json's `halving` before any rung is decided. */
export function halvingRecordOf(plan: HalvingPlan): HalvingRecord {
  return {
    metric: plan.metric,
    higherIsBetter: plan.higherIsBetter,
    minEpochs: plan.minEpochs,
    maxEpochs: plan.maxEpochs,
    eta: plan.eta,
    mode: plan.mode,
    rule: plan.mode === 'asha' ? ASHA_RULE : HALVING_RULE,
    plan: plan.rungs.map((rung) => ({ ...rung })),
    rungs: [],
  };
}
