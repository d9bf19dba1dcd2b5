import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { writeJsonAtomic } from './atomic.js';
import { storeFolders } from './store-folders.js';
import { asFileSystemError, errnoCode } from './fs-errors.js';
import { JsonFields } from './json.js';
import { runFile } from './layout.js';
import { RUN_STATUSES, type RunStatus } from './meta.js';

/**
 * A seed group (`mtl train CONFIG --seeds 0,1,2`): one folder in the run store,
 *
 *   <runs>/<group-id>/group.json            identity, seeds, members, status (this file's GroupMeta)
 *   <runs>/<group-id>/group-summary.json    statistics over the members, written when the group ends (api/groups.ts)
 *   <runs>/<group-id>/seed-<n>/             member runs, each a complete run whose id is `<group-id>/seed-<n>`
 *
 * A group folder has no meta.json, so the run listing never takes it for a run; group.json makes it a group.
 */
export const GROUP_FILES = {
  group: 'group.json',
  summary: 'group-summary.json',
} as const;

export type GroupFile = keyof typeof GROUP_FILES;

export function groupFile(groupDir: string, file: GroupFile): string {
  return path.join(groupDir, GROUP_FILES[file]);
}

/** The folder of the member trained with `seed`, relative to its group. */
export function memberFolder(seed: number): string {
  return `seed-${seed}`;
}

/**
 * `running` while members train; `completed` when every seed ran to its end (a diverged member is a result, listed
 * with its status); `interrupted` when a signal stopped it (the members done stay); `failed` when a member crashed
 * or could not start, which stops the group.
 */
export type GroupStatus = 'running' | 'completed' | 'interrupted' | 'failed';
export const GROUP_STATUSES: readonly GroupStatus[] = ['running', 'completed', 'interrupted', 'failed'];

export interface GroupMember {
  seed: number;
  /** The member's run id, `<group-id>/seed-<n>`. */
  id: string;
  /** Its folder, relative to the group's. */
  folder: string;
  /** The member's status as training left it. */
  status: RunStatus;
}

/** group.json. */
export interface GroupMeta {
  format: 1;
  kind: 'seeds';
  id: string;
  /** The config's name. */
  name: string;
  seeds: number[];
  /** The members started so far, in seed order; a seed not yet started has none. */
  members: GroupMember[];
  status: GroupStatus;
  statusReason?: string;
  createdAt: string;
  updatedAt: string;
  endedAt?: string;
  /** The command line that trained the group. */
  command: string[];
  cwd: string;
  configFile?: string;
  overrides: string[];
  /** `baselines:` of the members (each member then carries its own baselines and transfer.json). */
  baselines?: string;
}

export function writeGroupMeta(groupDir: string, meta: GroupMeta): void {
  writeJsonAtomic(groupFile(groupDir, 'group'), meta);
}

export function isGroupDir(dir: string): boolean {
  return existsSync(groupFile(dir, 'group'));
}

/** Reads and checks group.json; a damaged file is a UsageError naming the field. */
export function readGroupMeta(groupDir: string): GroupMeta {
  const fields = JsonFields.read(groupFile(groupDir, 'group'));
  const format = fields.number('format');
  if (format !== 1) {
    throw new UsageError(`${groupFile(groupDir, 'group')} has format ${format}; this mtl reads format 1.`, [
      'use the mtl version that trained the group',
    ]);
  }
  fields.oneOf('kind', ['seeds']);
  const baselines = fields.optionalString('baselines');
  const statusReason = fields.optionalString('statusReason');
  const endedAt = fields.optionalString('endedAt');
  const configFile = fields.optionalString('configFile');
  return {
    format: 1,
    kind: 'seeds',
    id: fields.string('id'),
    name: fields.string('name'),
    seeds: fields.numbers('seeds'),
    members: fields.objects('members').map((member) => ({
      seed: member.number('seed'),
      id: member.string('id'),
      folder: member.string('folder'),
      status: member.oneOf('status', RUN_STATUSES),
    })),
    status: fields.oneOf('status', GROUP_STATUSES),
    ...(statusReason === undefined ? {} : { statusReason }),
    createdAt: fields.string('createdAt'),
    updatedAt: fields.string('updatedAt'),
    ...(endedAt === undefined ? {} : { endedAt }),
    command: fields.strings('command'),
    cwd: fields.string('cwd'),
    ...(configFile === undefined ? {} : { configFile }),
    overrides: fields.strings('overrides'),
    ...(baselines === undefined ? {} : { baselines }),
  };
}

/** All group ids in a store, oldest first. */
export function listGroupIds(runsDir: string): string[] {
  return storeFolders(runsDir, isGroupDir);
}

/** Finds a group by path, full id or unique id prefix; undefined when nothing matches. */
export function findGroup(reference: string, runsDir: string): { id: string; dir: string } | undefined {
  if (existsSync(reference) && statSync(reference).isDirectory() && isGroupDir(reference)) {
    const dir = path.resolve(reference);
    return { id: path.basename(dir), dir };
  }
  const ids = listGroupIds(runsDir);
  if (ids.includes(reference)) return { id: reference, dir: path.join(runsDir, reference) };
  const matches = ids.filter((id) => id.startsWith(reference));
  if (matches.length > 1) {
    throw new UsageError(`Group "${reference}" is ambiguous in ${runsDir}; it matches:`, [
      ...matches.slice(0, 10),
      'give more characters of the id',
    ]);
  }
  const id = matches[0];
  return id === undefined ? undefined : { id, dir: path.join(runsDir, id) };
}

/** Like {@link findGroup}, but a reference that names no group is a UsageError. */
export function resolveGroup(reference: string, runsDir: string): { id: string; dir: string; meta: GroupMeta } {
  const found = findGroup(reference, runsDir);
  if (!found) {
    const ids = listGroupIds(runsDir);
    throw new UsageError(
      `No group "${reference}" in ${runsDir}${ids.length ? '' : ' (it has no groups)'}. Name a group by id, unique ` +
        'id prefix, or path; `mtl runs` lists them.',
    );
  }
  return { ...found, meta: readGroupMeta(found.dir) };
}

/**
 * A member of a group, named `<group id or unique prefix>/<member>` (`20261206-…-seeds-a1b2c3/seed-1`), with the rest
 * of the reference (`baselines/y1` of `…/seed-1/baselines/y1`) as `inside`, a path in the member that the caller
 * resolves as it does inside any run, so that a run missing there is told among the member's own runs, not the
 * group's members. Undefined when the first segment names no group, so the caller can try its other rules; a
 * UsageError when the group exists but has no such member (the message lists its members).
 */
export function resolveGroupMember(
  reference: string,
  runsDir: string,
): { id: string; dir: string; inside: string[] } | undefined {
  const [head, folder, ...inside] = reference.split('/').filter((segment) => segment !== '');
  if (head === undefined || folder === undefined) return undefined;
  const group = findGroup(head, runsDir);
  if (!group) return undefined;
  const dir = path.join(group.dir, folder);
  if (!path.resolve(dir).startsWith(path.resolve(group.dir) + path.sep) || !existsSync(runFile(dir, 'meta'))) {
    const asked = [folder, ...inside].join('/');
    const meta = readGroupMeta(group.dir);
    const members = meta.members.map((m) => `${group.id}/${m.folder} (${m.status})`);
    const listed = members.length > 0 ? [`its members: ${members.join(', ')}`] : ['it has no members yet'];
    // A seed of the group that never started: the group's own resume trains it (with the members left unfinished).
    const seed = meta.seeds.find((s) => memberFolder(s) === folder && !meta.members.some((m) => m.seed === s));
    if (seed !== undefined) {
      throw new UsageError(`Group ${group.id} has no run "${asked}": seed ${seed} has not started.`, [
        `train it, and finish the group's other seeds, with: mtl train --resume ${group.id}`,
        ...listed,
      ]);
    }
    throw new UsageError(`Group ${group.id} has no run "${asked}".`, listed);
  }
  return { id: `${group.id}/${folder}`, dir, inside };
}

/**
 * The id of a run folder given by path when it lies inside a group (`runs/<group>/seed-1` → `<group>/seed-1`, as the
 * group's members are named); undefined for a folder in no group.
 */
export function groupMemberId(runDir: string): string | undefined {
  const group = groupDirOf(runDir);
  if (group === undefined) return undefined;
  return `${path.basename(group)}/${path.relative(group, path.resolve(runDir)).split(path.sep).join('/')}`;
}

/** The group folder a run folder lies in (its nearest ancestor holding group.json); undefined for none. */
export function groupDirOf(runDir: string): string | undefined {
  const dir = path.resolve(runDir);
  for (let parent = path.dirname(dir); parent !== path.dirname(parent); parent = path.dirname(parent)) {
    if (isGroupDir(parent)) return parent;
  }
  return undefined;
}

/**
 * Creates a member's folder `<group>/seed-<n>` exclusively (a folder already there is never trained into again) and
 * returns its run id.
 */
export function claimMemberDir(group: { id: string; dir: string }, seed: number): { id: string; dir: string } {
  const folder = memberFolder(seed);
  const dir = path.join(group.dir, folder);
  try {
    mkdirSync(dir);
  } catch (error) {
    if (errnoCode(error) === 'EEXIST')
      throw new UsageError(`${dir} exists already: group ${group.id} has trained seed ${seed} before.`);
    throw asFileSystemError(error, 'create a member folder in', group.dir);
  }
  return { id: `${group.id}/${folder}`, dir };
}
