/**
 * The CI gates on a comparison (issue #16): what analysis/gate.ts checks, fed from `mtl compare` of runs (one value
 * per run) or of seed groups (one value per member, by seed, so the regression check can pair them).
 */
import { evaluateGate, type GateInput, type GateMetric, type GateOptions, type GateReport } from '../analysis/gate.js';
import { metricName, taskName } from '../metrics/direction.js';
import type { Comparison } from './compare.js';
import type { GroupComparison } from './compare-groups.js';

export type { GateOptions, GateReport } from '../analysis/gate.js';

/** A per-task metric (not `mean/…`, not a loss): the ones the regression check and Δm cover. */
function isPerTask(key: string): boolean {
  return metricName(key) !== 'loss' && taskName(key) !== 'mean';
}

/** The gate on runs compared with `compareRuns`: each run is one seed (its values keyed 0, never paired). */
export function gateRunComparison(comparison: Comparison, options: GateOptions): GateReport {
  const metrics: GateMetric[] = comparison.rows.map((row) => ({
    metric: row.metric,
    higherIsBetter: row.higherIsBetter,
    perTask: isPerTask(row.metric),
    values: row.values.map((v) => new Map(v === undefined ? [] : [[0, v]])),
  }));
  const input: GateInput = { subjects: comparison.runs.map((r) => r.id), metrics };
  return evaluateGate(input, options);
}

/**
 * The gate on seed groups compared with `compareGroups`: members paired by seed. A seed left out of a group's
 * statistics (its member diverged before a good epoch or did not finish, or the group never trained it) counts as a
 * value that is not finite, so its check fails rather than the gate judging the group on the members that are left.
 */
export function gateGroupComparison(comparison: GroupComparison, options: GateOptions): GateReport {
  const metrics: GateMetric[] = comparison.rows.map((row) => ({
    metric: row.metric,
    higherIsBetter: row.higherIsBetter,
    perTask: isPerTask(row.metric),
    values: row.perSeed.map(
      (bySeed, g) =>
        new Map([
          ...Object.entries(bySeed).map(([seed, v]): [number, number] => [Number(seed), v]),
          ...(comparison.groups[g]?.seedsWithoutMetrics ?? []).map((seed): [number, number] => [seed, Number.NaN]),
        ]),
    ),
  }));
  const input: GateInput = { subjects: comparison.groups.map((g) => g.id), metrics };
  return evaluateGate(input, options);
}
