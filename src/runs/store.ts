import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { asFileSystemError, errnoCode } from './fs-errors.js';
import { findGroup, groupMemberId, readGroupMeta, resolveGroupMember } from './groups.js';
import { runFile } from './layout.js';
import { readMeta, type StoredRunMeta } from './meta.js';

/** The run store: `--runs-dir`, else `MTL_RUNS_DIR`, else `runs/` under the current directory. */
export function resolveRunsDir(explicit?: string): string {
  return path.resolve(explicit ?? process.env['MTL_RUNS_DIR'] ?? 'runs');
}

export function slugify(name: string): string {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return slug || 'run';
}

function timestamp(date: Date): string {
  const iso = date.toISOString(); // 2026-11-23T16:34:27.123Z
  return `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}`;
}

/**
 * Claims a new run directory. The id sorts by time (UTC) and cannot collide between parallel runs: a random suffix
 * from crypto (never from the training seed, which parallel sweeps share) plus an exclusive mkdir, retried on a clash.
 */
export function createRunDir(runsDir: string, name: string, now: Date = new Date()): { id: string; dir: string } {
  try {
    mkdirSync(runsDir, { recursive: true });
  } catch (error) {
    throw asFileSystemError(error, 'create the runs folder', runsDir);
  }
  for (let attempt = 0; attempt < 20; attempt++) {
    const id = `${timestamp(now)}-${slugify(name)}-${randomBytes(3).toString('hex')}`;
    const dir = path.join(runsDir, id);
    try {
      mkdirSync(dir); // not recursive: fails with EEXIST if another process took this id
      return { id, dir };
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw asFileSystemError(error, 'create a run folder in', runsDir);
    }
  }
  throw new Error(`Could not claim a unique run directory in ${runsDir}`);
}

function isRunDir(dir: string): boolean {
  return existsSync(runFile(dir, 'meta'));
}

/** All run ids in a store, oldest first. */
export function listRunIds(runsDir: string): string[] {
  if (!existsSync(runsDir)) return [];
  let entries: string[];
  try {
    entries = readdirSync(runsDir);
  } catch (error) {
    throw asFileSystemError(error, 'list the runs folder', runsDir);
  }
  return entries.filter((entry) => !entry.startsWith('.') && isRunDir(path.join(runsDir, entry))).sort();
}

/** Finds a run by path, full id, or unique id prefix. */
export function resolveRun(reference: string, runsDir: string): { id: string; dir: string } {
  if (existsSync(reference) && statSync(reference).isDirectory() && isRunDir(reference)) {
    const dir = path.resolve(reference);
    return { id: groupMemberId(dir) ?? path.basename(dir), dir };
  }
  // `<group>/seed-1`: a member of a seed group (runs/groups.ts).
  if (reference.includes('/')) {
    const member = resolveGroupMember(reference, runsDir);
    if (member) return member;
  }
  const ids = listRunIds(runsDir);
  if (ids.includes(reference)) return { id: reference, dir: path.join(runsDir, reference) };
  const matches = ids.filter((id) => id.startsWith(reference));
  if (matches.length === 1) {
    const id = matches[0]!;
    return { id, dir: path.join(runsDir, id) };
  }
  if (matches.length > 1) {
    throw new UsageError(`Run "${reference}" is ambiguous in ${runsDir}; it matches:`, [
      ...matches.slice(0, 10),
      ...(matches.length > 10 ? [`… and ${matches.length - 10} more`] : []),
      'give more characters of the id',
    ]);
  }
  const group = findGroup(reference, runsDir);
  if (group) throw groupIsNoRun(group);
  throw new UsageError(
    `No run "${reference}" in ${runsDir}${ids.length ? '' : ' (the store is empty)'}. Name a run by id, unique id ` +
      `prefix, or path; \`mtl runs\` lists them.`,
  );
}

/** A group where a command takes one run: name its members. */
function groupIsNoRun(group: { id: string; dir: string }): UsageError {
  const members = readGroupMeta(group.dir).members.map((m) => `${group.id}/${m.folder}`);
  return new UsageError(`${group.id} is a seed group, not a run: this command takes one run.`, [
    members.length > 0 ? `name one of its members: ${members.join(', ')}` : 'it has no members yet',
    '`mtl runs GROUP` lists them; `mtl compare` takes groups',
  ]);
}

/** A run found by {@link resolveRun}, with its meta.json read and checked (a newer format is refused). */
export function openRun(reference: string, runsDir: string): { id: string; dir: string; meta: StoredRunMeta } {
  const { id, dir } = resolveRun(reference, runsDir);
  return { id, dir, meta: readMeta(dir) };
}
