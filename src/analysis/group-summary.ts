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

/**
 * A statistic over seeds with the per-seed values it came from (null: that seed has no finite value, or is left out
 * of the statistics).
 */
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
  /** Every seed of the group, trained or not: each metric's `perSeed` has one value per seed, in this order. */
  seeds: number[];
  split: 'test' | 'val';
  members: { seed: number; id: string; status: RunStatus }[];
  metrics: GroupMetricSummary[];
  transfer?: GroupTransferSummary;
  /**
   * What makes the statistics partial: seeds left out (never trained, a member without metrics or one that did not
   * finish), members without baselines.
   */
  warnings: string[];
}

function series(values: readonly (number | undefined)[]): SeedSeries {
  const perSeed = values.map((v) => (v === undefined || !Number.isFinite(v) ? null : v));
  return { ...seedStatistic(perSeed.filter((v): v is number => v !== null)), perSeed };
}

export type LeftOutReason = 'never-trained' | 'no-metrics' | 'unfinished';

/**
 * Why a seed of a group is left out of the group's statistics (and counts as a value that is not finite in the CI
 * gates, api/compare-gate.ts, which never judge a group on the members that are left): it has no member (the group
 * stopped before training it), its member has no metrics on the split (it diverged before a good epoch, or failed),
 * or its member did not run to its end (interrupted, failed or still running: at most the metrics of a partly
 * trained run). Undefined for a member that counts: completed, or diverged after a good epoch (a result).
 */
export function leftOutReason(
  member: { status: RunStatus; metrics: MetricValues } | undefined,
): LeftOutReason | undefined {
  if (!member) return 'never-trained';
  if (Object.keys(member.metrics).length === 0) return 'no-metrics';
  if (member.status !== 'completed' && member.status !== 'diverged') return 'unfinished';
  return undefined;
}

/**
 * Every seed of a group: group.json's, then any member's seed not among them (group.json edited by hand), so that
 * every member still shows.
 */
export function groupSeeds(seeds: readonly number[], members: readonly { seed: number }[]): number[] {
  return [...seeds, ...members.map((m) => m.seed).filter((seed) => !seeds.includes(seed))];
}

/** A left-out seed in words, naming its member (or, for a seed never trained, its group), for warnings. */
export function describeLeftOut(
  seed: number,
  reason: LeftOutReason,
  member: { id: string; status: RunStatus } | undefined,
  group: { id: string; status?: string },
  split: 'test' | 'val',
): string {
  if ((reason === 'never-trained' || !member) && group.status === 'running')
    return `seed ${seed} of ${group.id} is not trained yet (the group is running)`;
  if (reason === 'never-trained' || !member)
    return `seed ${seed} of ${group.id} was never trained (the group is ${group.status ?? 'not complete'})`;
  const named = `seed ${seed} (${member.id}, ${member.status})`;
  if (reason === 'no-metrics') return `${named} has no ${split} metrics`;
  return `${named} did not finish its training (its ${split} metrics are those of a partly trained run)`;
}

/**
 * The summary of a group's members on `split`, one value per seed of the group in its order: a seed left out of the
 * statistics ({@link leftOutReason}) has none (null, shown as —), with a warning that says why.
 */
export function summarizeGroup(
  group: { id: string; name: string; seeds: readonly number[]; status?: string },
  members: readonly GroupMemberResult[],
  split: 'test' | 'val',
): GroupSummary {
  const keys: string[] = [];
  for (const member of members) for (const key of Object.keys(member.metrics)) if (!keys.includes(key)) keys.push(key);
  const directions = Object.assign({}, ...members.map((m) => m.directions)) as Record<string, boolean>;
  const seeds = groupSeeds(group.seeds, members);
  const warnings: string[] = [];
  const counted = seeds.map((seed) => {
    const member = members.find((m) => m.seed === seed);
    const reason = leftOutReason(member);
    if (reason === undefined) return member?.metrics;
    warnings.push(`${describeLeftOut(seed, reason, member, group, split)}: it is left out of the statistics`);
    return undefined;
  });
  const metrics = keys.map((key) => ({
    key,
    higherIsBetter: directions[key] ?? higherIsBetter(key),
    ...series(counted.map((m) => m?.[key])),
  }));
  const withTransfer = members.filter((m) => m.transfer !== undefined);
  const summary: GroupSummary = {
    group: group.id,
    name: group.name,
    seeds,
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
