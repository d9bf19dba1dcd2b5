import { existsSync, readdirSync, rmSync } from 'node:fs';
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
import { readResolvedConfig } from '../runs/inputs.js';
import { runFile } from '../runs/layout.js';
import { readMeta, type RunStatus } from '../runs/meta.js';
import { createRunDir, resolveRunsDir } from '../runs/store.js';
import { readSummaryIfAny, type RunSummary } from '../runs/summary.js';
import { readTransferIfAny } from '../runs/transfer.js';
import { subRunDirOf, subRunsAskedFor } from './sub-runs.js';
import type { TrainOptions } from './train.js';

/**
 * Trains one member: the config with its seed set (and no `seeds`), into the folder `options.claimRunDir` gives.
 * Plain `trainExperiment` by default; a trainer that also trains the run's single-task baselines (and writes its
 * transfer.json) plugs in here.
 */
export type MemberTrainer = (loaded: LoadedConfig, options: TrainOptions) => Promise<RunSummary>;

/**
 * Continues a member that did not finish (its run, then its baselines; `reference` is its folder) in its folder, as
 * `mtl train --resume GROUP/seed-N` does.
 */
export type MemberResumer = (reference: string, options: TrainOptions) => Promise<RunSummary>;

export interface SeedGroupOptions extends TrainOptions {
  /** The seeds to train; default the config's `seeds`. */
  seeds?: readonly number[];
  trainMember?: MemberTrainer;
  /** `baselines:` of the members, recorded in group.json. */
  baselines?: string;
  /** Called once the group folder exists (or, continuing a group, once it is opened), before its first member. */
  onGroupCreated?(group: GroupHandle): void;
  /**
   * Called before each member starts; continuing a group, `resumed` is set for a member continued in its folder (the
   * members that had ended are reported by `onMemberKept` instead).
   */
  onMemberStart?(member: { seed: number; index: number; count: number; resumed?: string }): void;
  /** Continuing a group: a member that had ended (completed or diverged, with its baselines), kept as it is. */
  onMemberKept?(member: { seed: number; index: number; count: number; summary: RunSummary }): void;
  /** Called after each member ends, with its summary. */
  onMemberEnd?(summary: RunSummary): void;
}

/** The group being trained, as `onGroupCreated` gives it. */
export interface GroupHandle {
  id: string;
  dir: string;
  seeds: readonly number[];
  /**
   * For a caller about to exit at once (a second Ctrl-C): records the group as `interrupted` with `reason`; nothing
   * once the group has its final status.
   */
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
  const steps = seeds.map((seed): MemberStep => ({ seed, train: withSeed(loaded, seed) }));
  return trainMembers(created.dir, group, steps, { ...options, trainMember });
}

/**
 * What becomes of one seed of a group: trained anew (with this config, its seed set), continued in its folder (the
 * member's run id), or kept as it ended.
 */
export type MemberStep = { seed: number } & (
  | { train: LoadedConfig }
  | { resume: { id: string; dir: string } }
  | { keep: RunSummary }
);

/**
 * Trains or continues a group's members in seed order (see {@link trainSeedGroup} for what ends it early), then
 * writes its status and group-summary.json. `group` is group.json as it is to be written now (`running`). Continuing
 * a group, `before` is group.json as it was: a member that refuses to be continued (a usage error: no checkpoint, its
 * data changed) leaves the group's status as it was, since nothing of the group changed.
 */
export async function trainMembers(
  dir: string,
  group: GroupMeta,
  steps: readonly MemberStep[],
  options: SeedGroupOptions & { trainMember: MemberTrainer; resumeMember?: MemberResumer },
  before?: GroupMeta,
): Promise<SeedGroupResult> {
  const seeds = group.seeds;
  const save = (): void => {
    group.updatedAt = new Date().toISOString();
    writeGroupMeta(dir, group);
  };
  // Set by the group's final status: a signal after it (the command still prints) leaves the group as it ended.
  let ended = false;
  const finish = (status: GroupStatus, reason?: string): void => {
    ended = true;
    group.status = status;
    if (reason === undefined) delete group.statusReason;
    else group.statusReason = reason;
    group.endedAt = new Date().toISOString();
    save();
  };
  save();
  options.onGroupCreated?.({
    id: group.id,
    dir,
    seeds,
    recordInterrupted: (reason) => {
      if (!ended) finish('interrupted', reason);
    },
  });

  const summaries: RunSummary[] = [];
  for (const [index, step] of steps.entries()) {
    const { seed } = step;
    const count = steps.length;
    if ('keep' in step) {
      summaries.push(step.keep);
      options.onMemberKept?.({ seed, index, count, summary: step.keep });
      continue;
    }
    if (options.signal?.aborted) break;
    options.onMemberStart?.({ seed, index, count, ...('resume' in step ? { resumed: step.resume.id } : {}) });
    let summary: RunSummary;
    let claimed: string | undefined;
    try {
      if ('resume' in step) {
        if (!options.resumeMember) throw new Error(`group ${group.id}: no way to continue ${step.resume.id} given`);
        summary = await options.resumeMember(step.resume.dir, options);
      } else {
        summary = await options.trainMember(step.train, {
          ...options,
          claimRunDir: () => {
            const member = claimMemberDir({ id: group.id, dir }, seed);
            claimed = member.dir;
            return member;
          },
          onRunCreated: (run) => {
            // Only the member itself is a member: a trainer that also trains sub-runs (its baselines) reports them.
            if (run.dir === claimed && !group.members.some((m) => m.seed === seed)) {
              group.members.push({ seed, id: run.id, folder: path.relative(dir, run.dir), status: 'running' });
              save();
            }
            options.onRunCreated?.(run);
          },
        });
      }
    } catch (error) {
      const member = group.members.find((m) => m.seed === seed);
      if (group.members.length === 0 && onlyGroupFiles(dir)) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
      if (member) member.status = memberStatus(path.join(dir, member.folder), 'failed');
      if (before && 'resume' in step && error instanceof UsageError) {
        group.status = before.status;
        for (const key of ['statusReason', 'endedAt'] as const) {
          const value = before[key];
          if (value === undefined) delete group[key];
          else group[key] = value;
        }
        save();
        throw error;
      }
      const message = error instanceof Error ? error.message : String(error);
      finish('failed', `seed ${seed} failed: ${message}`);
      throw error instanceof MtlError
        ? error
        : new RunFailedError(`Seed ${seed} of group ${group.id} failed: ${message}`, error);
    }
    summaries.push(summary);
    const member = group.members.find((m) => m.seed === seed);
    if (member) member.status = summary.status;
    save();
    options.onMemberEnd?.(summary);
    if (summary.status === 'interrupted') break;
  }

  const interrupted = options.signal?.aborted === true || summaries.some((s) => s.status === 'interrupted');
  if (interrupted) finish('interrupted', interruptedReason(group));
  else
    finish(
      'completed',
      completedReason(
        summaries.map((s) => s.status),
        seeds.length,
      ),
    );
  const summary = summarizeSeedGroup(dir);
  return { group, dir, members: summaries, summary };
}

function interruptedReason(group: GroupMeta): string {
  const count = group.seeds.length;
  return `interrupted after ${group.members.length} of ${count} seed${count === 1 ? '' : 's'} started`;
}

/** A completed group's status reason: how many of its seeds diverged (none: no reason). */
function completedReason(statuses: readonly RunStatus[], seeds: number): string | undefined {
  const diverged = statuses.filter((status) => status === 'diverged').length;
  return diverged > 0 ? `${diverged} of ${seeds} seeds diverged` : undefined;
}

/** The status a member's meta.json records, or `otherwise` when it has none to read (not written yet, damaged). */
function memberStatus(dir: string, otherwise: RunStatus): RunStatus {
  try {
    return readMeta(dir).status;
  } catch {
    return otherwise;
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
 * After a member of a group was trained again in its folder (`mtl train --resume GROUP/seed-1`, its run or its
 * baselines): the members' statuses in group.json and group-summary.json follow. The group's own status stays while
 * it is not finished (seeds that never started still have not); a group that had stopped (interrupted, failed) whose
 * every seed has now ended, with its baselines, becomes `completed`. A group still `running` is its trainer's to
 * write. Nothing for a run in no group.
 */
export function refreshGroupOfMember(runDir: string): void {
  const groupDir = groupDirOf(runDir);
  if (groupDir === undefined) return;
  const meta = readGroupMeta(groupDir);
  if (!meta.members.some((m) => path.resolve(groupDir, m.folder) === path.resolve(runDir))) return;
  for (const member of meta.members) member.status = memberStatus(path.join(groupDir, member.folder), member.status);
  const finished = meta.seeds.every((seed) => {
    const member = meta.members.find((m) => m.seed === seed);
    return member !== undefined && memberFinished(path.join(groupDir, member.folder));
  });
  meta.updatedAt = new Date().toISOString();
  if (meta.status !== 'running' && meta.status !== 'completed' && finished) {
    meta.status = 'completed';
    const reason = completedReason(
      meta.members.map((m) => m.status),
      meta.seeds.length,
    );
    if (reason === undefined) delete meta.statusReason;
    else meta.statusReason = reason;
    meta.endedAt = meta.updatedAt;
  }
  writeGroupMeta(groupDir, meta);
  summarizeSeedGroup(groupDir);
}

/**
 * Whether a member has nothing left to train: its run diverged (a result; no baseline follows a run that did not
 * complete), or it completed and so did every baseline and pair run its config asks for. A member whose files cannot
 * be read is not finished: continuing it says what is wrong.
 */
export function memberFinished(dir: string): boolean {
  try {
    const status = readMeta(dir).status;
    if (status === 'diverged') return true;
    if (status !== 'completed') return false;
    return subRunsAskedFor(readResolvedConfig(dir)).every((entry) => {
      const sub = subRunDirOf(dir, entry);
      return existsSync(runFile(sub, 'meta')) && readMeta(sub).status === 'completed';
    });
  } catch (error) {
    if (error instanceof UsageError) return false;
    throw error;
  }
}
