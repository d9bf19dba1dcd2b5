import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { summarizeGroup, type GroupMemberResult, type GroupSummary } from '../analysis/group-summary.js';
import type { LoadedConfig } from '../config/load.js';
import type { ResolvedConfig } from '../config/types.js';
import { MtlError, RunFailedError, UsageError } from '../errors.js';
import { writeJsonAtomic } from '../runs/atomic.js';
import {
  claimMemberDir,
  groupDirOf,
  groupFile,
  GROUP_FILES,
  readGroupMeta,
  writeGroupMeta,
  type GroupMeta,
  type GroupStatus,
} from '../runs/groups.js';
import { readMeta, type RunStatus } from '../runs/meta.js';
import { createRunDir, resolveRunsDir } from '../runs/store.js';
import { readSummaryIfAny, type RunSummary } from '../runs/summary.js';
import { readTransferIfAny } from '../runs/transfer.js';
import type { TrainOptions } from './train.js';

/**
 * Trains one member: the config with its seed set (and no `seeds`), into the folder `options.claimRunDir` gives.
 * Plain `trainExperiment` by default; a trainer that also trains the run's single-task baselines (and writes its
 * transfer.json) plugs in here.
 */
export type MemberTrainer = (loaded: LoadedConfig, options: TrainOptions) => Promise<RunSummary>;

export interface SeedGroupOptions extends TrainOptions {
  /** The seeds to train; default the config's `seeds`. */
  seeds?: readonly number[];
  trainMember?: MemberTrainer;
  /** `baselines:` of the members, recorded in group.json. */
  baselines?: string;
  /** Called once the group folder exists, before its first member. */
  onGroupCreated?(group: GroupHandle): void;
  /** Called before each member starts. */
  onMemberStart?(member: { seed: number; index: number; count: number }): void;
  /** Called after each member ends, with its summary. */
  onMemberEnd?(summary: RunSummary): void;
}

/** The group being trained, as `onGroupCreated` gives it. */
export interface GroupHandle {
  id: string;
  dir: string;
  /** For a caller about to exit at once (a second Ctrl-C): records the group as `interrupted` with `reason`. */
  recordInterrupted(reason: string): void;
}

export interface SeedGroupResult {
  group: GroupMeta;
  dir: string;
  members: RunSummary[];
  summary: GroupSummary;
}

/**
 * Trains a config once per seed as a group (`<runs>/<group-id>/seed-<n>/`, group.json, group-summary.json), one
 * member after the other. What ends a group early:
 * - a signal (`options.signal`): the member in training ends `interrupted` as any run does, no further seed starts,
 *   the group is `interrupted` with the members done;
 * - a member that fails (a crash, a usage error found while training): the group is `failed` and the error is
 *   thrown; when the first member fails before its run folder exists (the config's data cannot be read) the group
 *   folder is removed, so a user mistake leaves nothing behind.
 * A diverged member is a result: the group goes on, and the member is listed with its status.
 */
export async function trainSeedGroup(loaded: LoadedConfig, options: SeedGroupOptions = {}): Promise<SeedGroupResult> {
  const seeds = [...(options.seeds ?? loaded.config.seeds ?? [])];
  checkSeeds(seeds);
  // Loaded here: the group readers of this module (report, resume, extend) need no trainer and no TF.js.
  const trainMember = options.trainMember ?? (await import('./train.js')).trainExperiment;
  const runsDir = resolveRunsDir(options.runsDir);
  const now = new Date();
  const created = createRunDir(runsDir, `${loaded.config.name.slice(0, 33)}-seeds`, now);
  const group: GroupMeta = {
    format: 1,
    kind: 'seeds',
    id: created.id,
    name: loaded.config.name,
    seeds,
    members: [],
    status: 'running',
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    command: options.command ?? process.argv.slice(1),
    cwd: process.cwd(),
    ...(loaded.file ? { configFile: loaded.file } : {}),
    overrides: loaded.overrides,
    ...(options.baselines ? { baselines: options.baselines } : {}),
  };
  const save = (): void => {
    group.updatedAt = new Date().toISOString();
    writeGroupMeta(created.dir, group);
  };
  const finish = (status: GroupStatus, reason?: string): void => {
    group.status = status;
    if (reason !== undefined) group.statusReason = reason;
    group.endedAt = new Date().toISOString();
    save();
  };
  save();
  options.onGroupCreated?.({ ...created, recordInterrupted: (reason) => finish('interrupted', reason) });

  const summaries: RunSummary[] = [];
  for (const [index, seed] of seeds.entries()) {
    if (options.signal?.aborted) break;
    options.onMemberStart?.({ seed, index, count: seeds.length });
    let summary: RunSummary;
    let claimed: string | undefined;
    try {
      summary = await trainMember(withSeed(loaded, seed), {
        ...options,
        claimRunDir: () => {
          const member = claimMemberDir(created, seed);
          claimed = member.dir;
          return member;
        },
        onRunCreated: (run) => {
          // Only the member itself is a member: a trainer that also trains sub-runs (its baselines) reports them too.
          if (run.dir === claimed && !group.members.some((m) => m.seed === seed)) {
            group.members.push({ seed, id: run.id, folder: path.relative(created.dir, run.dir), status: 'running' });
            save();
          }
          options.onRunCreated?.(run);
        },
      });
    } catch (error) {
      const member = group.members.find((m) => m.seed === seed);
      if (group.members.length === 0 && onlyGroupFiles(created.dir)) {
        rmSync(created.dir, { recursive: true, force: true });
        throw error;
      }
      const message = error instanceof Error ? error.message : String(error);
      if (member) member.status = memberStatusAfterFailure(path.join(created.dir, member.folder));
      finish('failed', `seed ${seed} failed: ${message}`);
      throw error instanceof MtlError
        ? error
        : new RunFailedError(`Seed ${seed} of group ${created.id} failed: ${message}`, error);
    }
    summaries.push(summary);
    const member = group.members.find((m) => m.seed === seed);
    if (member) member.status = summary.status;
    save();
    options.onMemberEnd?.(summary);
    if (summary.status === 'interrupted') break;
  }

  const done = summaries.length;
  const interrupted = options.signal?.aborted === true || summaries.some((s) => s.status === 'interrupted');
  const diverged = summaries.filter((s) => s.status === 'diverged').length;
  if (interrupted)
    finish('interrupted', `interrupted after ${done} of ${seeds.length} seed${seeds.length === 1 ? '' : 's'} started`);
  else finish('completed', diverged > 0 ? `${diverged} of ${seeds.length} seeds diverged` : undefined);
  const summary = summarizeSeedGroup(created.dir);
  return { group, dir: created.dir, members: summaries, summary };
}

/** The status a failed member's meta.json records (`failed`), or `failed` when it has none to read. */
function memberStatusAfterFailure(dir: string): RunStatus {
  try {
    return readMeta(dir).status;
  } catch {
    return 'failed';
  }
}

function checkSeeds(seeds: readonly number[]): void {
  if (seeds.length === 0)
    throw new UsageError('No seeds to train: give --seeds 0,1,2 or seeds: [0, 1, 2] in the config.');
  const bad = seeds.find((s) => !Number.isInteger(s) || s < 0);
  if (bad !== undefined) throw new UsageError(`Seed ${bad} is not a whole number ≥ 0.`);
  const twice = seeds.find((s, i) => seeds.indexOf(s) !== i);
  if (twice !== undefined) throw new UsageError(`Seed ${twice} is listed twice; list each seed once.`);
}

/** The config of one member: `seed` set, `seeds` gone (a member is one run). */
export function withSeed(loaded: LoadedConfig, seed: number): LoadedConfig {
  const config: ResolvedConfig = structuredClone(loaded.config);
  delete config.seeds;
  config.seed = seed;
  return { ...loaded, config: Object.freeze(config) };
}

/** True while the group folder holds nothing but its own files (no member folder was made). */
function onlyGroupFiles(dir: string): boolean {
  const own = new Set<string>(Object.values(GROUP_FILES));
  return readdirSync(dir).every((entry) => own.has(entry) || entry.startsWith('.'));
}

/**
 * Reads a group's members (summary.json, transfer.json) and writes group-summary.json; the summary is over the test
 * split (the split the members' final metrics and transfer reports are on).
 */
export function summarizeSeedGroup(groupDir: string, split: 'test' | 'val' = 'test'): GroupSummary {
  const summary = seedGroupSummary(groupDir, split);
  writeJsonAtomic(groupFile(groupDir, 'summary'), summary);
  return summary;
}

/** The summary of a group's members as they are on disk now, without writing it (`mtl report`). */
export function seedGroupSummary(groupDir: string, split: 'test' | 'val' = 'test'): GroupSummary {
  const meta = readGroupMeta(groupDir);
  const members: GroupMemberResult[] = meta.members.map((member) => {
    const dir = path.join(groupDir, member.folder);
    const summary = readSummaryIfAny(dir);
    const transfer = readTransferIfAny(dir);
    return {
      seed: member.seed,
      id: member.id,
      status: summary?.status ?? member.status,
      metrics: summary?.[split] ?? {},
      directions: summary?.directions ?? {},
      ...(transfer ? { transfer } : {}),
    };
  });
  return summarizeGroup(meta, members, split);
}

/**
 * After a member of a group was trained again in its folder (`mtl train --resume GROUP/seed-1`): its status in
 * group.json and group-summary.json follow. The group's own status stays: seeds that never started still have not.
 * Nothing for a run in no group.
 */
export function refreshGroupOfMember(runDir: string): void {
  const groupDir = groupDirOf(runDir);
  if (groupDir === undefined) return;
  const meta = readGroupMeta(groupDir);
  const member = meta.members.find((m) => path.resolve(groupDir, m.folder) === path.resolve(runDir));
  if (!member) return;
  member.status = readMeta(runDir).status;
  meta.updatedAt = new Date().toISOString();
  writeGroupMeta(groupDir, meta);
  summarizeSeedGroup(groupDir);
}
