import { existsSync } from 'node:fs';
import path from 'node:path';
import { describeLeftOut, groupSeeds, leftOutReason } from '../analysis/group-summary.js';
import { pairedTTest, seedStatistic, type PairedTTest } from '../analysis/seed-statistics.js';
import type { SeedStatistic } from '../analysis/types.js';
import { DELTA_M_DEFINITION, deltaMBreakdown, relativeImprovement, type DeltaMTerm } from '../metrics/aggregate.js';
import { higherIsBetter, metricName, taskName } from '../metrics/direction.js';
import type { MetricValues } from '../metrics/types.js';
import { MtlError, UsageError } from '../errors.js';
import { findGroup, resolveGroup, type GroupMember, type GroupMeta } from '../runs/groups.js';
import { readMeta, type StoredRunMeta } from '../runs/meta.js';
import { listRunIds, resolveRunsDir } from '../runs/store.js';
import { readSummaryIfAny } from '../runs/summary.js';
import { suggest } from '../util/suggest.js';
import { configDifferences, type ConfigChange } from './config-diff.js';
import { dataDifferences, readComparedConfig, type ComparedConfig } from './data-identity.js';
import { describeRun, type RunDescription } from './run-description.js';

/**
 * `mtl compare GROUP-A GROUP-B …`: seed groups side by side. Per metric, each group's mean ± sample std over its
 * members and the relative change of its mean over the first group's (positive = better). Δm against the first
 * group (the definition `mtl compare` uses, metrics/aggregate.ts):
 * - paired by seed, when every group has the same seeds: Δm_s of the member of seed s against the first group's
 *   member of seed s, then mean ± std over seeds and a paired t-test on the Δm_s (H0: mean 0);
 * - unpaired otherwise (the groups were trained on different seeds): one Δm, of the group's means against the first
 *   group's means, and the comparison says so;
 * - n/a, with each seed at fault, when either group has a seed left out (never trained, without metrics, or not
 *   finished: analysis/group-summary.ts leftOutReason): as for a run, a value a group failed to produce never
 *   scores, so Δm is not taken over the seeds that are left.
 * As for runs, what tells the groups apart (architecture, strategy, data), where each group's config differs from the
 * first group's, and a warning when a group trained on other data: all read from each group's first member whose
 * config can be read (members differ only in their seed, so the seed is left out of the config compared).
 */

export interface ComparedGroup extends Omit<RunDescription, 'seed'> {
  id: string;
  name: string;
  status: string;
  /** Every seed of the group (group.json's), trained or not. */
  seeds: number[];
  /** The seeds whose member counts ({@link leftOutReason}): its metrics on the split make the statistics. */
  seedsWithMetrics: number[];
  /**
   * The other seeds: never trained (the group was interrupted first), or their member has no metrics on the split
   * (it diverged before a good epoch) or did not finish (interrupted, failed, running). Left out of the statistics,
   * they make Δm n/a, and each is a failed value for the CI gates (api/compare-gate.ts), which must not pass on the
   * rest.
   */
  seedsWithoutMetrics: number[];
  /**
   * Where this group's resolved config differs from the first group's (dotted paths; `seed` left out, as members
   * differ in it): absent for the first group, and when a group has no member whose config can be read.
   */
  configChanges?: ConfigChange[];
}

export interface GroupComparisonRow {
  metric: string;
  higherIsBetter: boolean;
  /** One statistic per group, in the order given (n = 0 when no member reports the metric). */
  stats: SeedStatistic[];
  /** One map per group: each member's value by seed (absent where the member lacks the metric). */
  perSeed: Record<string, number>[];
  /** Relative change of each group's mean over the first group's (null for the first, or when undefined). */
  relative: (number | null)[];
}

export interface GroupDeltaM {
  group: string;
  /** Paired: mean ± std of the per-seed Δm; unpaired: `mean` is the Δm of the means (n = 1, std NaN). */
  deltaM: SeedStatistic;
  /** Paired only: Δm per seed (null where undefined: a metric missing or not finite). */
  perSeed?: Record<string, number | null>;
  pairedTest?: PairedTTest | null;
  /** Why a Δm is undefined, one line per seed and metric at fault. */
  problems?: string[];
}

export interface GroupComparison {
  split: 'test' | 'val';
  groups: ComparedGroup[];
  pairing: 'paired-by-seed' | 'unpaired';
  pairingNote: string;
  rows: GroupComparisonRow[];
  /** One per group after the first. */
  deltaM: GroupDeltaM[];
  deltaMMetrics: string[];
  deltaMDefinition: string;
  warnings: string[];
}

export interface CompareGroupsOptions {
  runsDir?: string;
  metric?: string;
  split?: 'test' | 'val';
}

/**
 * Whether a reference (of `mtl compare`, `mtl train --resume`) names a seed group (true) or a run (false). A
 * reference that could be either (an id prefix both a run and a group start with) is a UsageError naming both, so
 * that the user can copy the one meant.
 */
export function isGroupReference(reference: string, runsDir?: string): boolean {
  const store = resolveRunsDir(runsDir);
  const group = findGroup(reference, store);
  if (!group) return false;
  const runs = existsSync(path.join(reference, 'meta.json'))
    ? [reference]
    : listRunIds(store).filter((id) => id.startsWith(reference));
  if (runs.length > 0)
    throw new UsageError(`"${reference}" is ambiguous in ${store}: it matches both a run and a seed group:`, [
      ...runs.slice(0, 10).map((id) => `run ${id}`),
      ...(runs.length > 10 ? [`… and ${runs.length - 10} more runs`] : []),
      `seed group ${group.id}`,
      'give more characters of the id, or the path',
    ]);
  return true;
}

interface OpenedGroup {
  group: ComparedGroup;
  /** Metrics of each member that counts ({@link leftOutReason}), by seed. */
  bySeed: Map<number, MetricValues>;
  /** The config of the group's first member whose config can be read (empty when none can). */
  config: ComparedConfig;
  members: GroupMember[];
  /** Each seed left out of the statistics, in words ({@link describeLeftOut}). */
  leftOut: string[];
  /** What makes the group's statistics partial: it is not complete, seeds are left out. */
  warnings: string[];
}

/**
 * The description and config of a group's first member whose meta.json and config.resolved.json can be read: the
 * group's, as every member is the same config with another seed. Empty when no member's can be read.
 */
function groupConfig(
  dir: string,
  meta: GroupMeta,
): { description: Omit<RunDescription, 'seed'>; config: ComparedConfig } {
  for (const member of meta.members) {
    const memberDir = path.join(dir, member.folder);
    const memberMeta = metaIfReadable(memberDir);
    // A member that never got its files, or a damaged one: the next one tells as much.
    if (!memberMeta) continue;
    const config = readComparedConfig(memberDir, memberMeta);
    if (!config.resolved) continue;
    const { seed: _seed, ...description } = describeRun(memberDir, memberMeta);
    return { description, config };
  }
  return { description: {}, config: {} };
}

/** A member's meta.json, or undefined where it is missing or damaged (the next member tells as much). */
function metaIfReadable(dir: string): StoredRunMeta | undefined {
  try {
    return readMeta(dir);
  } catch (error) {
    if (error instanceof MtlError) return undefined;
    throw error;
  }
}

/** A member's resolved config without its seed, the one field members of a group differ in. */
function withoutSeed(config: ComparedConfig): Record<string, unknown> | undefined {
  if (!config.resolved) return undefined;
  const { seed: _seed, ...rest } = config.resolved;
  return rest;
}

/** A group's members as the comparison reads them: each seed's metrics, or why the seed is left out. */
function openGroup(reference: string, store: string, split: 'test' | 'val'): OpenedGroup {
  const { id, dir, meta } = resolveGroup(reference, store);
  const bySeed = new Map<number, MetricValues>();
  const seedsWithoutMetrics: number[] = [];
  const leftOut: string[] = [];
  const seeds = groupSeeds(meta.seeds, meta.members);
  for (const seed of seeds) {
    const member = meta.members.find((m) => m.seed === seed);
    const summary = member ? readSummaryIfAny(path.join(dir, member.folder)) : undefined;
    const result = member && {
      id: member.id,
      status: summary?.status ?? member.status,
      metrics: summary?.[split] ?? {},
    };
    const reason = leftOutReason(result);
    if (result && reason === undefined) {
      bySeed.set(seed, result.metrics);
      continue;
    }
    seedsWithoutMetrics.push(seed);
    leftOut.push(describeLeftOut(seed, reason ?? 'never-trained', result, meta, split));
  }
  // An interrupted (or failed, or running) group is incomplete: said before each seed it lacks.
  const incomplete =
    meta.status === 'completed'
      ? []
      : [
          `${id} is ${meta.status}${meta.statusReason ? ` (${meta.statusReason})` : ''}: ${split} metrics to ` +
            `compare for ${bySeed.size} of its ${seeds.length} seeds`,
        ];
  const { description, config } = groupConfig(dir, meta);
  const group: ComparedGroup = {
    id,
    name: meta.name,
    status: meta.status,
    seeds,
    seedsWithMetrics: [...bySeed.keys()],
    seedsWithoutMetrics,
    ...description,
  };
  return {
    group,
    bySeed,
    config,
    members: meta.members,
    leftOut,
    warnings: [...incomplete, ...leftOut.map((line) => `${line}: it is left out`)],
  };
}

/** Each seed's member by status, `1 never trained` for a seed without one: why a group has nothing to compare. */
function memberStatuses(opened: OpenedGroup): string {
  const statuses = new Map<string, number>();
  for (const member of opened.members) statuses.set(member.status, (statuses.get(member.status) ?? 0) + 1);
  const untrained = opened.group.seeds.length - opened.members.length;
  if (untrained > 0) statuses.set('never trained', untrained);
  return [...statuses].map(([status, n]) => `${n} ${status}`).join(', ');
}

export function compareGroups(references: string[], options: CompareGroupsOptions = {}): GroupComparison {
  if (references.length < 1) throw new UsageError('compare needs at least one group (the first one is the base).');
  const split = options.split ?? 'test';
  const store = resolveRunsDir(options.runsDir);
  const opened = references.map((reference) => openGroup(reference, store, split));
  // As for runs: a group without metrics is a blank column (its gate checks fail); none with any, nothing to compare.
  if (opened.every((g) => g.bySeed.size === 0)) {
    const hint = '`mtl runs GROUP` shows its members; train the group again, or compare on the other split';
    const only = opened.length === 1 ? opened[0]! : undefined;
    if (only)
      throw new UsageError(
        `Group ${only.group.id} has no member with ${split} metrics (members: ${memberStatuses(only)}).`,
        [hint],
      );
    throw new UsageError(
      `None of these groups has a member with ${split} metrics (${opened
        .map((g) => `${g.group.id}: ${memberStatuses(g)}`)
        .join('; ')}).`,
      [hint],
    );
  }
  const base = opened[0]!;
  const baseConfig = withoutSeed(base.config);
  const dataWarnings: string[] = [];
  for (const other of opened.slice(1)) {
    const config = withoutSeed(other.config);
    if (baseConfig && config) other.group.configChanges = configDifferences(baseConfig, config);
    const differences = dataDifferences(base.config, other.config);
    if (differences.length > 0)
      dataWarnings.push(
        `${other.group.id} was trained on other data than ${base.group.id} (${differences.join('; ')}): its ` +
          "metrics are not comparable with the base group's",
      );
  }
  const keys: string[] = [];
  for (const { bySeed } of opened)
    for (const metrics of bySeed.values())
      for (const key of Object.keys(metrics)) if (!keys.includes(key)) keys.push(key);
  const selected = keys
    .filter((k) => !options.metric || metricName(k) === options.metric)
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  if (selected.length === 0) {
    const reported = [...new Set(keys.map(metricName))].sort();
    const guess = suggest(options.metric ?? '', reported);
    throw new UsageError(`No metric "${options.metric}" in these groups${guess ? `; did you mean "${guess}"?` : '.'}`, [
      `they report: ${reported.join(', ')}`,
    ]);
  }
  const rows = selected.map((metric): GroupComparisonRow => {
    const higher = higherIsBetter(metric);
    const stats = opened.map(({ bySeed }) => seedStatistic([...bySeed.values()].map((m) => m[metric] ?? NaN)));
    const base = stats[0]!.mean;
    return {
      metric,
      higherIsBetter: higher,
      stats,
      perSeed: opened.map(({ bySeed }) =>
        Object.fromEntries(
          [...bySeed].flatMap(([seed, m]) => (m[metric] === undefined ? [] : [[String(seed), m[metric]]])),
        ),
      ),
      relative: stats.map((s, i) => {
        if (i === 0) return null;
        const change = relativeImprovement(s.mean, base, higher);
        return Number.isFinite(change) ? change : null;
      }),
    };
  });
  const deltaMMetrics = selected.filter((k) => rank(k) === 0);
  const seedKey = (seeds: readonly number[]): string => [...seeds].sort((a, b) => a - b).join(',');
  const paired = opened.every((g) => seedKey(g.group.seeds) === seedKey(base.group.seeds));
  const deltaM = opened.slice(1).map((other) => {
    // A seed left out on either side never scores: Δm is not taken over the seeds that are left (as for a run).
    const leftOut = [...base.leftOut, ...other.leftOut];
    if (leftOut.length > 0) return { group: other.group.id, deltaM: { mean: NaN, std: NaN, n: 0 }, problems: leftOut };
    return paired
      ? pairedDeltaM(base, other, deltaMMetrics)
      : unpairedDeltaM(rows, opened.indexOf(other), other.group.id);
  });
  const pairingNote = paired
    ? `paired by seed (seeds ${seedKey(base.group.seeds)}): Δm per seed against ${base.group.id}'s member of the ` +
      'same seed, then mean ± std over seeds and a paired t-test'
    : `unpaired: the groups have different seeds (${opened
        .map((g) => `${g.group.id}: ${seedKey(g.group.seeds)}`)
        .join('; ')}), so Δm is of the group means, with no spread`;
  return {
    split,
    groups: opened.map((g) => g.group),
    pairing: paired ? 'paired-by-seed' : 'unpaired',
    pairingNote,
    rows,
    deltaM,
    deltaMMetrics,
    deltaMDefinition: DELTA_M_DEFINITION,
    // As for runs: other data first (it makes the whole comparison doubtful), then the members left out.
    warnings: [...dataWarnings, ...opened.flatMap((g) => g.warnings)],
  };
}

function terms(keys: readonly string[], value: MetricValues, baseline: MetricValues): DeltaMTerm[] {
  return keys.map((key) => ({
    task: taskName(key),
    metric: metricName(key),
    value: value[key],
    baseline: baseline[key],
    higherIsBetter: higherIsBetter(key),
  }));
}

function pairedDeltaM(base: OpenedGroup, other: OpenedGroup, keys: readonly string[]): GroupDeltaM {
  const perSeed: Record<string, number | null> = {};
  const problems: string[] = [];
  for (const [seed, baseline] of base.bySeed) {
    const breakdown = deltaMBreakdown(terms(keys, other.bySeed.get(seed) ?? {}, baseline));
    perSeed[String(seed)] = breakdown.value ?? null;
    problems.push(...breakdown.problems.map((p) => `seed ${seed}: ${p}`));
  }
  const values = Object.values(perSeed).filter((v): v is number => v !== null);
  return {
    group: other.group.id,
    deltaM: seedStatistic(values),
    perSeed,
    pairedTest: pairedTTest(values) ?? null,
    ...(problems.length > 0 ? { problems } : {}),
  };
}

function unpairedDeltaM(rows: readonly GroupComparisonRow[], index: number, group: string): GroupDeltaM {
  const means = (i: number): MetricValues =>
    Object.fromEntries(rows.filter((r) => r.stats[i]!.n > 0).map((r) => [r.metric, r.stats[i]!.mean]));
  const keys = rows.map((r) => r.metric).filter((k) => rank(k) === 0);
  const breakdown = deltaMBreakdown(terms(keys, means(index), means(0)));
  return {
    group,
    deltaM: { mean: breakdown.value ?? NaN, std: NaN, n: breakdown.value === undefined ? 0 : 1 },
    ...(breakdown.problems.length > 0 ? { problems: breakdown.problems } : {}),
  };
}

/** Per-task metrics first, then the means, then losses (as `mtl compare` of runs). */
function rank(key: string): number {
  if (metricName(key) === 'loss') return 2;
  if (taskName(key) === 'mean') return 1;
  return 0;
}
