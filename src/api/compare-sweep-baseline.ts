/**
 * The `--baseline` of `mtl compare --sweep`: a run (its metrics), a seed group (each metric's mean over its members)
 * or a config file (the sweep's trials whose resolved config equals the file's, seed, seeds and name aside: their
 * mean).
 * A config no trial ran is refused with how to get a baseline: compare does not train.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { seedStatistic } from '../analysis/seed-statistics.js';
import { loadConfig } from '../config/load.js';
import type { ResolvedConfig } from '../config/types.js';
import { UsageError } from '../errors.js';
import type { MetricValues } from '../metrics/types.js';
import { resolveGroup } from '../runs/groups.js';
import { readMeta } from '../runs/meta.js';
import { openRun } from '../runs/store.js';
import { readSummaryIfAny } from '../runs/summary.js';
import { configDifferences, formatChange, type ConfigChange } from './config-diff.js';
import { isGroupReference } from './compare-groups.js';
import { dataDifferences, readComparedConfig, type ComparedConfig } from './data-identity.js';

export interface SweepBaseline {
  /** As given on the command line. */
  reference: string;
  kind: 'run' | 'group' | 'config';
  /** The run or group id, or the config file's path. */
  id: string;
  /** The runs whose metrics were averaged (one for a run). */
  runs: string[];
  /** Each metric on the split: the run's value, or the mean over the group's members or the matching trials. */
  metrics: MetricValues;
  /** Why the baseline's metrics may not compare with the sweep's (a run or group trained on other data). */
  warnings: string[];
}

/** A completed trial as the baseline search sees it. */
export interface BaselineCandidate {
  id: string;
  resolved: ResolvedConfig;
  metrics: MetricValues;
}

/**
 * What a config must equal, seeds and name aside: a trial's seed is the sweep's (a file's `seeds:` list, as
 * `mtl train --seeds`, trains the same config per seed); its name is the base's.
 */
function comparable(config: ResolvedConfig): Record<string, unknown> {
  const { seed: _seed, seeds: _seeds, name: _name, ...rest } = config;
  return rest;
}

export function resolveSweepBaseline(
  reference: string,
  options: {
    store: string;
    split: 'test' | 'val';
    sweepId: string;
    trials: readonly BaselineCandidate[];
    /** The data of the sweep's first compared trial, to warn about a baseline trained on other data. */
    sweepData: ComparedConfig;
  },
): SweepBaseline {
  const { store, split } = options;
  const dataWarnings = (id: string, dir: string): string[] => {
    const differences = dataDifferences(options.sweepData, readComparedConfig(dir, readMeta(dir)));
    if (differences.length === 0) return [];
    return [
      `the baseline ${id} was trained on other data than the sweep's trials (${differences.join('; ')}): its ` +
        'metrics are not comparable with theirs, nor is Δm',
    ];
  };
  if (existsSync(reference) && statSync(reference).isFile()) return configBaseline(reference, options);
  if (isGroupReference(reference, store)) {
    const { id, dir, meta } = resolveGroup(reference, store);
    const members = meta.members.flatMap((member) => {
      const memberDir = path.join(dir, member.folder);
      const metrics = readSummaryIfAny(memberDir)?.[split] ?? {};
      return Object.keys(metrics).length > 0 ? [{ id: member.id, dir: memberDir, metrics }] : [];
    });
    if (members.length === 0)
      throw new UsageError(`--baseline ${reference}: group ${id} has no member with ${split} metrics.`, [
        '`mtl runs GROUP` shows its members; give another baseline',
      ]);
    const warnings = members[0] ? dataWarnings(id, members[0].dir) : [];
    return { reference, kind: 'group', id, runs: members.map((m) => m.id), metrics: meanMetrics(members), warnings };
  }
  const { id, dir, meta } = openRun(reference, store);
  const metrics = readSummaryIfAny(dir)?.[split] ?? {};
  if (Object.keys(metrics).length === 0)
    throw new UsageError(`--baseline ${reference}: run ${id} (${meta.status}) has no ${split} metrics.`, [
      'give a completed run, or a group, as the baseline',
    ]);
  return { reference, kind: 'run', id, runs: [id], metrics, warnings: dataWarnings(id, dir) };
}

function configBaseline(
  file: string,
  options: { sweepId: string; trials: readonly BaselineCandidate[] },
): SweepBaseline {
  const wanted = comparable(loadConfig(file).config);
  let nearest: { id: string; changes: ConfigChange[] } | undefined;
  const matches = options.trials.filter((trial) => {
    const changes = configDifferences(wanted, comparable(trial.resolved));
    if (nearest === undefined || changes.length < nearest.changes.length) nearest = { id: trial.id, changes };
    return changes.length === 0;
  });
  if (matches.length === 0) {
    const near = nearest
      ? `; the nearest completed trial, ${nearest.id}, differs at ${nearest.changes
          .slice(0, 3)
          .map(formatChange)
          .join('; ')}${nearest.changes.length > 3 ? '; …' : ''}`
      : '';
    throw new UsageError(
      `--baseline ${file}: no completed trial of sweep ${options.sweepId} has this config ` +
        `(seed, seeds and name aside)${near}.`,
      [
        `train it first (mtl train ${file} --seeds 0,1,2) and give its group as --baseline, or name a trial: ` +
          '--baseline SWEEP/HASH',
      ],
    );
  }
  return {
    reference: file,
    kind: 'config',
    id: file,
    runs: matches.map((m) => m.id),
    metrics: meanMetrics(matches),
    warnings: [],
  };
}

/** Per metric, the mean over the runs that report it (non-finite values left out, as seedStatistic does). */
export function meanMetrics(runs: readonly { metrics: MetricValues }[]): MetricValues {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))];
  return Object.fromEntries(
    keys.map((key) => [key, seedStatistic(runs.map((r) => r.metrics[key] ?? NaN)).mean] as const),
  );
}
