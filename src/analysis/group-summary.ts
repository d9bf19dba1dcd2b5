/**
 * The summary of a seed group (group-summary.json, and what `mtl train --seeds` prints): per metric mean ± sample std
 * over the members; when the members carry single-task baselines (their transfer.json, a TransferReport), per task
 * MTL and single-task mean ± std, the relative gain mean ± std, a paired t-test on the per-seed gains and the
 * negative-transfer verdict, and Δm mean ± std. Formulas and the rule: analysis/seed-statistics.ts. Pure: api/
 * groups.ts reads the members and hands them here.
 */
import { higherIsBetter } from '../metrics/direction.js';
import type { MetricValues } from '../metrics/types.js';
import type { RunStatus } from '../runs/meta.js';
import {
  NEGATIVE_TRANSFER_RULE,
  pairedTTest,
  seedStatistic,
  transferVerdict,
  type PairedTTest,
} from './seed-statistics.js';
import type { BaselineKind, SeedStatistic, TransferReport, TransferVerdict } from './types.js';

/** One member as the summary reads it. */
export interface GroupMemberResult {
  seed: number;
  id: string;
  status: RunStatus;
  /** The member's final metrics on the split (empty when it has none: no summary, or diverged before a good epoch). */
  metrics: MetricValues;
  directions: Record<string, boolean>;
  /** Its transfer.json, when it was trained with baselines. */
  transfer?: TransferReport;
}

/** A statistic over seeds with the per-seed values it came from (null: that seed has no finite value). */
export interface SeedSeries extends SeedStatistic {
  perSeed: (number | null)[];
}

export interface GroupMetricSummary extends SeedSeries {
  key: string;
  higherIsBetter: boolean;
}

export interface GroupTaskTransfer {
  task: string;
  metrics: {
    key: string;
    metric: string;
    higherIsBetter: boolean;
    mtl: SeedSeries;
    single: SeedSeries;
    relativeGain: SeedSeries;
  }[];
  /** The task's per-seed gain (Δm's per-task term), over seeds. */
  gain: SeedSeries;
  /** Paired t-test on the per-seed gains (H0: mean gain 0); null with fewer than two seeds. */
  pairedTest: PairedTTest | null;
  /** The verdict of `rule`; null when no seed has a gain. */
  verdict: TransferVerdict | null;
}

export interface GroupTransferSummary {
  baseline: BaselineKind;
  split: 'test' | 'val';
  /** The seeds whose member has a transfer.json (the statistics are over these). */
  seeds: number[];
  rule: string;
  tasks: GroupTaskTransfer[];
  /** Δm of MTL against the baseline, over seeds. */
  deltaM: SeedSeries;
  /** Paired t-test on the per-seed Δm; null with fewer than two seeds. */
  deltaMTest: PairedTTest | null;
}

/** group-summary.json. In JSON, a std of one seed (NaN) and a missing per-seed value are null. */
export interface GroupSummary {
  group: string;
  name: string;
  seeds: number[];
  split: 'test' | 'val';
  members: { seed: number; id: string; status: RunStatus }[];
  metrics: GroupMetricSummary[];
  transfer?: GroupTransferSummary;
  /** What makes the statistics partial: members without metrics, members without baselines. */
  warnings: string[];
}

function series(values: readonly (number | undefined)[]): SeedSeries {
  const perSeed = values.map((v) => (v === undefined || !Number.isFinite(v) ? null : v));
  return { ...seedStatistic(perSeed.filter((v): v is number => v !== null)), perSeed };
}

/** The summary of a group's members on `split`, in member (seed) order. */
export function summarizeGroup(
  group: { id: string; name: string; seeds: readonly number[] },
  members: readonly GroupMemberResult[],
  split: 'test' | 'val',
): GroupSummary {
  const keys: string[] = [];
  for (const member of members) for (const key of Object.keys(member.metrics)) if (!keys.includes(key)) keys.push(key);
  const directions = Object.assign({}, ...members.map((m) => m.directions)) as Record<string, boolean>;
  const metrics = keys.map((key) => ({
    key,
    higherIsBetter: directions[key] ?? higherIsBetter(key),
    ...series(members.map((m) => m.metrics[key])),
  }));
  const warnings = members
    .filter((m) => Object.keys(m.metrics).length === 0)
    .map((m) => `seed ${m.seed} (${m.id}, ${m.status}) has no ${split} metrics: it is left out of the statistics`);
  const withTransfer = members.filter((m) => m.transfer !== undefined);
  const summary: GroupSummary = {
    group: group.id,
    name: group.name,
    seeds: [...group.seeds],
    split,
    members: members.map(({ seed, id, status }) => ({ seed, id, status })),
    metrics,
    warnings,
  };
  if (withTransfer.length > 0) {
    const without = members.filter((m) => m.transfer === undefined).map((m) => m.seed);
    if (without.length > 0)
      warnings.push(`seeds ${without.join(', ')} have no transfer.json: the transfer statistics leave them out`);
    summary.transfer = summarizeTransfer(withTransfer);
  }
  return summary;
}

function summarizeTransfer(members: readonly GroupMemberResult[]): GroupTransferSummary {
  const reports = members.map((m) => m.transfer).filter((r): r is TransferReport => r !== undefined);
  const first = reports[0]!;
  const taskNames: string[] = [];
  for (const report of reports) for (const t of report.tasks) if (!taskNames.includes(t.task)) taskNames.push(t.task);
  const tasks = taskNames.map((task): GroupTaskTransfer => {
    const perSeed = reports.map((r) => r.tasks.find((t) => t.task === task));
    const metricKeys: string[] = [];
    for (const t of perSeed) for (const m of t?.metrics ?? []) if (!metricKeys.includes(m.key)) metricKeys.push(m.key);
    const metrics = metricKeys.map((key) => {
      const values = perSeed.map((t) => t?.metrics.find((m) => m.key === key));
      const known = values.find((m) => m !== undefined);
      return {
        key,
        metric: known?.metric ?? key.slice(key.lastIndexOf('/') + 1),
        higherIsBetter: known?.higherIsBetter ?? higherIsBetter(key),
        mtl: series(values.map((m) => m?.mtl)),
        single: series(values.map((m) => m?.single)),
        relativeGain: series(values.map((m) => m?.relativeGain ?? undefined)),
      };
    });
    const gains = perSeed.map((t) => t?.gain ?? undefined);
    const gain = series(gains);
    const finiteGains = gain.perSeed.filter((g): g is number => g !== null);
    return {
      task,
      metrics,
      gain,
      pairedTest: pairedTTest(finiteGains) ?? null,
      verdict: transferVerdict(finiteGains) ?? null,
    };
  });
  const deltaM = series(reports.map((r) => r.deltaM ?? undefined));
  return {
    baseline: first.baseline,
    split: first.split,
    seeds: members.map((m) => m.seed),
    rule: NEGATIVE_TRANSFER_RULE,
    tasks,
    deltaM,
    deltaMTest: pairedTTest(deltaM.perSeed.filter((d): d is number => d !== null)) ?? null,
  };
}
