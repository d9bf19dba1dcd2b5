import path from 'node:path';
import { UsageError } from '../errors.js';
import { crashReason, shownStatus, type ShownStatus } from '../runs/liveness.js';
import { readMeta, type RunLineage } from '../runs/meta.js';
import { listGroupIds, readGroupMeta, resolveGroup, type GroupMeta, type GroupStatus } from '../runs/groups.js';
import { listRunIds, resolveRunsDir, subRunsOf } from '../runs/store.js';
import { readSummaryIfAny } from '../runs/summary.js';
import { readEpochLog } from '../runs/logs.js';
import type { BaselineKind } from '../analysis/types.js';
import { baselineStates, type BaselineState } from './compare-baseline.js';
import { describeRun, readConfigIfAny, type RunDescription } from './run-description.js';

/** A run as `mtl runs` lists it: identity, status, and what tells it apart (architecture, strategy, data, seed). */
export interface RunListing extends RunDescription {
  id: string;
  name: string;
  /** The stored status, or `crashed` for a run that says `running` but whose process is gone (runs/liveness.ts). */
  status: ShownStatus;
  /** Why a run shows as `crashed`. */
  statusReason?: string;
  startedAt: string;
  backend: string;
  epochs: number;
  /**
   * The runs trained inside this one (`baselines/a`, `baselines/towers`, `pairs/a+b`); `mtl runs` lists them under
   * their run, not as runs of their own. Empty for a run trained without baselines.
   */
  subRuns: string[];
  /**
   * The baselines its config asks for (`baselines:`), each with its status: `not started` for one an interrupt left
   * untrained. Absent without baselines, or when its config.resolved.json cannot be read.
   */
  baselines?: BaselinesListing;
  /** A few headline test metrics (`mean/*`) when the run finished. */
  metrics: Record<string, number>;
  dir: string;
  /** Where its initial weights came from (`init:`); absent for a run from fresh weights. */
  lineage?: RunLineage;
  /**
   * With `history`: the monitored validation value (its early-stopping metric) per epoch from epochs.jsonl, for
   * `mtl runs`' sparkline on a terminal.
   */
  monitor?: { name: string; values: number[] };
}

export interface BaselinesListing {
  kind: BaselineKind;
  runs: { path: string; status: ShownStatus | 'not started' | 'damaged' }[];
}

/**
 * A run folder whose own files cannot be read (a meta.json cut short, not JSON, missing a field, or of a newer
 * format): listed so, with why and what to do, rather than keeping the store's other runs from being listed.
 */
export interface DamagedRunListing {
  id: string;
  status: 'damaged';
  /** What is wrong, naming the file (`…/meta.json is not valid JSON (…).`). */
  statusReason: string;
  /** What to do about it: restore the file, delete the run folder, upgrade mtl. */
  hint: string;
  dir: string;
}

/**
 * Every run in the store, oldest first, with its status and headline metrics. Seed groups: {@link listGroups}. A run
 * whose files cannot be read is an error naming the file: {@link listRunEntries} lists it as damaged instead.
 */
export function listRuns(runsDir?: string, options: { history?: boolean } = {}): RunListing[] {
  const store = resolveRunsDir(runsDir);
  return listRunIds(store).map((id) => runListing(id, path.join(store, id), options.history === true));
}

/** {@link listRuns}, with each run that cannot be read listed as damaged in its place (`mtl runs`). */
export function listRunEntries(
  runsDir?: string,
  options: { history?: boolean } = {},
): (RunListing | DamagedRunListing)[] {
  const store = resolveRunsDir(runsDir);
  return listRunIds(store).map((id) => runEntry(id, path.join(store, id), options.history === true));
}

/** A run as listed, or as damaged where its files cannot be read. */
function runEntry(id: string, dir: string, history: boolean): RunListing | DamagedRunListing {
  try {
    return runListing(id, dir, history);
  } catch (error) {
    // Only what reading the run's files says (a UsageError naming the file); anything else is a bug to report.
    if (!(error instanceof UsageError)) throw error;
    return damagedRun(id, dir, error);
  }
}

/** A run (or sweep trial) listed as damaged: why its files cannot be read, and what to do, naming its folder. */
export function damagedRun(id: string, dir: string, error: UsageError): DamagedRunListing {
  const remedy = error.details.join('; ') || 'restore the file from a backup, or delete the run';
  const hint = `${remedy} (its folder: ${dir})`;
  return { id, status: 'damaged', statusReason: error.message, hint, dir };
}

function monitorHistory(dir: string): { name: string; values: number[] } | undefined {
  const entries = readEpochLog(dir);
  const last = entries.at(-1);
  return last ? { name: last.monitor.name, values: entries.map((e) => e.monitor.value) } : undefined;
}

function runListing(id: string, dir: string, history: boolean): RunListing {
  const meta = readMeta(dir);
  const summary = readSummaryIfAny(dir);
  const metrics = Object.fromEntries(Object.entries(summary?.test ?? {}).filter(([k]) => k.startsWith('mean/')));
  const crashed = crashReason(meta);
  return {
    ...describeRun(dir, meta),
    id,
    name: meta.name,
    status: crashed === undefined ? meta.status : 'crashed',
    ...(crashed === undefined ? {} : { statusReason: `${crashed}; resume it with: mtl train --resume ${id}` }),
    startedAt: meta.startedAt,
    backend: meta.backend?.name ?? '?',
    epochs: meta.epochsCompleted,
    subRuns: subRunsOf(dir),
    ...optionalBaselines(dir),
    metrics,
    dir,
    ...(meta.lineage ? { lineage: meta.lineage } : {}),
    ...(history ? optionalMonitor(dir) : {}),
  };
}

/** The baselines the run's config asks for, found as `mtl compare RUN --baseline` finds them. */
function optionalBaselines(dir: string): { baselines?: BaselinesListing } {
  const config = readConfigIfAny(dir);
  const kind = config?.baselines ?? 'none';
  if (!config || kind === 'none') return {};
  const states = baselineStates(
    dir,
    kind,
    config.tasks.map((task) => task.name),
  );
  return { baselines: { kind, runs: states.map((state) => ({ path: state.path, status: baselineStatus(state) })) } };
}

/**
 * A started baseline's status is its meta.json's, as for any run: a summary.json can be that of an earlier stop of a
 * baseline being resumed now.
 */
function baselineStatus(state: BaselineState): BaselinesListing['runs'][number]['status'] {
  if (!state.started) return 'not started';
  try {
    return shownStatus(readMeta(state.dir));
  } catch (error) {
    if (error instanceof UsageError) return 'damaged';
    throw error;
  }
}

function optionalMonitor(dir: string): { monitor?: { name: string; values: number[] } } {
  const monitor = monitorHistory(dir);
  return monitor ? { monitor } : {};
}

/** A seed group as `mtl runs` lists it: one line, with how many of its members are done. */
export interface GroupListing {
  kind: 'group';
  id: string;
  name: string;
  /**
   * group.json's status; `crashed` for a group still `running` whose member in training has crashed; `diverged` for
   * a group that ran every seed to its end (`completed` in group.json) where every member diverged: it has no result.
   */
  status: ShownGroupStatus;
  statusReason?: string;
  createdAt: string;
  seeds: number[];
  /** Members started, and of those how many ended `completed`. */
  members: number;
  completed: number;
  dir: string;
}

export type ShownGroupStatus = GroupStatus | 'crashed' | 'diverged';

/** Every seed group in the store, oldest first. */
export function listGroups(runsDir?: string): GroupListing[] {
  const store = resolveRunsDir(runsDir);
  return listGroupIds(store).map((id) => {
    const dir = path.join(store, id);
    const meta = readGroupMeta(dir);
    return {
      kind: 'group',
      id,
      name: meta.name,
      ...shownGroupStatus(dir, meta),
      createdAt: meta.createdAt,
      seeds: meta.seeds,
      members: meta.members.length,
      completed: meta.members.filter((m) => m.status === 'completed').length,
      dir,
    };
  });
}

/**
 * A group's status as `mtl runs` and `mtl report` show it: group.json's, but `crashed` for a running group whose
 * member in training has crashed, and `diverged` for a completed group whose every member diverged (`completed`
 * would read as a result it does not have).
 */
export function shownGroupStatus(dir: string, meta: GroupMeta): { status: ShownGroupStatus; statusReason?: string } {
  const last = meta.members[meta.members.length - 1];
  const crashed = meta.status === 'running' && last ? memberCrashReason(path.join(dir, last.folder)) : undefined;
  if (crashed !== undefined) return { status: 'crashed', statusReason: `member ${last?.id}: ${crashed}` };
  const everyDiverged =
    meta.status === 'completed' && meta.members.length > 0 && meta.members.every((m) => m.status === 'diverged');
  if (everyDiverged)
    return { status: 'diverged', statusReason: meta.statusReason ?? `all ${meta.members.length} seeds diverged` };
  return { status: meta.status, ...(meta.statusReason === undefined ? {} : { statusReason: meta.statusReason }) };
}

/**
 * Why the member a running group trains now is not training any more; undefined while it may be, and when its
 * meta.json cannot be read: the group stays listed as group.json says, and `mtl runs GROUP` lists that member as
 * damaged.
 */
function memberCrashReason(memberDir: string): string | undefined {
  try {
    return crashReason(readMeta(memberDir));
  } catch (error) {
    if (error instanceof UsageError) return undefined;
    throw error;
  }
}

/** {@link resolveGroup}; a reference that names a run instead says so (`mtl runs RUN` is not how a run is shown). */
function groupOrHint(reference: string, store: string): ReturnType<typeof resolveGroup> {
  return resolveGroupNotRun(reference, store, (run) => ({
    what: "mtl runs GROUP lists a group's members",
    hint: `mtl runs lists every run with its status; mtl eval ${run} or mtl report ${run} show this one`,
  }));
}

/**
 * {@link resolveGroup}, where a reference that names no group but a run (its id or a unique prefix) is told so:
 * `"<reference>" names the run <id>, not a seed group: <what>`, with the command's own hint for a run.
 */
export function resolveGroupNotRun(
  reference: string,
  store: string,
  forRun: (run: string) => { what: string; hint: string },
): ReturnType<typeof resolveGroup> {
  try {
    return resolveGroup(reference, store);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const runs = listRunIds(store).filter((id) => id.startsWith(reference));
    const run = runs.includes(reference) ? reference : runs.length === 1 ? runs[0] : undefined;
    if (run === undefined) throw error;
    const { what, hint } = forRun(run);
    throw new UsageError(`"${reference}" names the run ${run}, not a seed group: ${what}.`, [hint]);
  }
}

/**
 * The member runs of a group (id, unique prefix or path), in seed order, listed as runs. A member whose files cannot
 * be read is an error naming the file: {@link listGroupMemberEntries} lists it as damaged instead.
 */
export function listGroupMembers(
  reference: string,
  runsDir?: string,
  options: { history?: boolean } = {},
): { group: GroupListing; runs: RunListing[] } {
  return groupMembers(reference, runsDir, (id, dir) => runListing(id, dir, options.history === true));
}

/** {@link listGroupMembers}, with each member that cannot be read listed as damaged in its place (`mtl runs GROUP`). */
export function listGroupMemberEntries(
  reference: string,
  runsDir?: string,
  options: { history?: boolean } = {},
): { group: GroupListing; runs: (RunListing | DamagedRunListing)[] } {
  return groupMembers(reference, runsDir, (id, dir) => runEntry(id, dir, options.history === true));
}

function groupMembers<T>(
  reference: string,
  runsDir: string | undefined,
  member: (id: string, dir: string) => T,
): { group: GroupListing; runs: T[] } {
  const store = resolveRunsDir(runsDir);
  const { id, dir, meta } = groupOrHint(reference, store);
  const group = listGroups(path.dirname(dir)).find((g) => g.id === id);
  if (!group) throw new Error(`group ${id} vanished while it was listed`);
  return { group, runs: meta.members.map((m) => member(m.id, path.join(dir, m.folder))) };
}
