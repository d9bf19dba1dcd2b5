import { randomBytes } from 'node:crypto';
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { asFileSystemError } from '../runs/fs-errors.js';
import { isGroupDir, readGroupMeta } from '../runs/groups.js';
import { lockFile, runFile } from '../runs/layout.js';
import { readMeta } from '../runs/meta.js';
import { resolveRunsDir } from '../runs/store.js';
import { storeFolders } from '../runs/store-folders.js';
import {
  isSweepDir,
  readSweepMeta,
  SWEEP_FILE,
  trialStatus,
  writeSweepMeta,
  type SweepMeta,
  type TrialStatus,
} from '../runs/sweeps.js';
import { copyTree, treeChecksums, treeDifferences, treeFiles } from '../runs/tree.js';
import { makeDirectories } from '../runs/make-dirs.js';

/**
 * `mtl runs merge DIR… [--runs-dir DEST]` (issue #16): gathers runs made elsewhere (other machines, CI shards) into
 * one store. A DIR is a run folder, a seed group, a sweep folder, or a run store holding any of them. The rules, also
 * in the JSON (`rules`):
 *
 * - A run and a seed group are merged whole, as `DEST/<id>` (the id from its meta.json or group.json). A sweep is
 *   merged trial by trial into `DEST/<sweep id>/<hash>` (the id from sweep.json, whatever the folder is called); its
 *   plan must be the plan of the same sweep everywhere (same trials, same hashes); DEST's sweep.json is written with
 *   the statuses read from the trials it then holds.
 * - Identical: DEST (or an earlier DIR) already holds every file of it with the same sha256 (DEST may hold more, e.g.
 *   evals made there): skipped. Conflicting: the same id with a file missing or different: refused, naming both
 *   folders and the files that differ.
 * - Unfinished: a run whose meta.json says `running` (training, or its process died) or that holds a lock
 *   (`run.lock`, or the sweep's lock of the trial): refused; with `skipUnfinished` left out (a left-out trial shows as
 *   pending in DEST, and the next `mtl sweep` there trains it).
 * - All or nothing: any conflict or refused run, and nothing is copied (exit 2 in the CLI, every problem listed).
 *   Otherwise each copy goes to a temporary folder in DEST first and is renamed into place, so DEST never holds half a
 *   run.
 */
export const MERGE_RULES =
  'runs and seed groups merge whole, sweeps trial by trial (same sweep id, same plan); a copy whose every file ' +
  'DEST already holds with the same sha256 is skipped; the same id with other content is a conflict; a run ' +
  'still running or locked is unfinished; any conflict or unfinished run (unless left out) refuses the whole merge';

export type MergeKind = 'run' | 'group' | 'trial';

export interface MergeEntry {
  kind: MergeKind;
  /** The run or group id, or `<sweep id>/<hash>` for a trial. */
  id: string;
  source: string;
  target: string;
}

export interface MergeProblem extends MergeEntry {
  problem: 'conflict' | 'unfinished';
  /** For a conflict: the folder it clashes with (in DEST, or an earlier DIR). */
  other?: string;
  reason: string;
}

export interface MergeReport {
  runsDir: string;
  /** False when problems refused the merge: nothing was copied. */
  merged: boolean;
  copied: MergeEntry[];
  identical: MergeEntry[];
  /** Unfinished runs left out (`skipUnfinished`). */
  leftOut: MergeProblem[];
  problems: MergeProblem[];
  sweeps: { id: string; dir: string; trials: number; counts: Partial<Record<TrialStatus, number>> }[];
  rules: string;
}

export interface MergeOptions {
  runsDir?: string;
  skipUnfinished?: boolean;
}

interface SweepSource {
  dir: string;
  meta: SweepMeta;
}

export function mergeRuns(dirs: readonly string[], options: MergeOptions = {}): MergeReport {
  if (dirs.length === 0) throw new UsageError('mtl runs merge: name at least one folder to merge.');
  const runsDir = resolveRunsDir(options.runsDir);
  const candidates: MergeEntry[] = [];
  const sweeps = new Map<string, SweepSource[]>();
  for (const dir of dirs) collect(dir, runsDir, candidates, sweeps);
  const problems: MergeProblem[] = [...checkSweepPlans(sweeps, runsDir)];
  const copied: MergeEntry[] = [];
  const identical: MergeEntry[] = [];
  const leftOut: MergeProblem[] = [];
  const chosen = new Map<string, { source: string; sums: Map<string, string> }>();
  for (const entry of candidates) {
    const unfinished = unfinishedReason(entry);
    if (unfinished !== undefined) {
      const problem: MergeProblem = { ...entry, problem: 'unfinished', reason: unfinished };
      (options.skipUnfinished ? leftOut : problems).push(problem);
      continue;
    }
    const sums = treeChecksums(entry.source);
    const earlier = chosen.get(entry.target);
    const other = earlier ?? (existsSync(entry.target) ? { source: entry.target, sums: undefined } : undefined);
    if (other === undefined) {
      chosen.set(entry.target, { source: entry.source, sums });
      copied.push(entry);
      continue;
    }
    const differences = treeDifferences(sums, other.sums ?? treeChecksums(other.source));
    if (differences.length === 0) identical.push(entry);
    else {
      problems.push({
        ...entry,
        problem: 'conflict',
        other: other.source,
        reason:
          `${entry.source} and ${other.source} are both ${entry.id} but differ: ` +
          `${differences.slice(0, 5).join(', ')}${differences.length > 5 ? `, … (${differences.length} files)` : ''}`,
      });
    }
  }
  const report = { runsDir, copied, identical, leftOut, problems, rules: MERGE_RULES };
  if (problems.length > 0) return { ...report, merged: false, sweeps: [] };
  copyEntries(runsDir, copied);
  return { ...report, merged: true, sweeps: writeSweeps(sweeps, runsDir) };
}

/** What one DIR holds, as entries to merge (and sweeps, by id). */
function collect(dir: string, runsDir: string, entries: MergeEntry[], sweeps: Map<string, SweepSource[]>): void {
  if (!existsSync(dir)) throw new UsageError(`mtl runs merge: ${dir}: no such folder.`);
  if (!statSync(dir).isDirectory()) throw notMergeable(dir, 'it is a file');
  const source = path.resolve(dir);
  if (existsSync(runFile(source, 'meta'))) {
    const { id } = readMeta(source);
    if (id.includes('/')) {
      throw new UsageError(`mtl runs merge: ${dir} is the run ${id}, inside a sweep, a seed group or another run.`, [
        `merge the folder that holds it (the part of the id before the first /: ${id.split('/')[0]})`,
      ]);
    }
    entries.push({ kind: 'run', id, source, target: path.join(runsDir, id) });
  } else if (isGroupDir(source)) {
    const { id } = readGroupMeta(source);
    entries.push({ kind: 'group', id, source, target: path.join(runsDir, id) });
  } else if (isSweepDir(source)) {
    const meta = readSweepMeta(source);
    sweeps.set(meta.id, [...(sweeps.get(meta.id) ?? []), { dir: source, meta }]);
    for (const hash of storeFolders(source, (folder) => existsSync(runFile(folder, 'meta')))) {
      const id = `${meta.id}/${hash}`;
      entries.push({ kind: 'trial', id, source: path.join(source, hash), target: path.join(runsDir, meta.id, hash) });
    }
  } else {
    const inside = storeFolders(
      source,
      (folder) => existsSync(runFile(folder, 'meta')) || isGroupDir(folder) || isSweepDir(folder),
    );
    if (inside.length === 0)
      throw notMergeable(dir, 'it has no meta.json, group.json or sweep.json, nor folders that do');
    for (const name of inside) collect(path.join(source, name), runsDir, entries, sweeps);
  }
}

function notMergeable(dir: string, why: string): UsageError {
  return new UsageError(`mtl runs merge: ${dir} is not a run, a seed group, a sweep or a run store: ${why}.`, [
    'name run folders (with meta.json), seed groups (group.json), sweep folders (sweep.json) or folders holding them',
  ]);
}

/** Why a run may still change (it trains, or a command holds its lock); undefined when it is finished. */
function unfinishedReason(entry: MergeEntry): string | undefined {
  if (entry.kind === 'group') {
    const group = readGroupMeta(entry.source);
    if (group.status === 'running') return `${entry.source}: the group is still running (group.json)`;
  } else if (readMeta(entry.source).status === 'running') {
    return `${entry.source}: meta.json says running: it is training, or its process died (then resume it where it ran)`;
  }
  const lock = path.basename(lockFile(entry.source));
  const locked = treeFiles(entry.source).find((file) => path.posix.basename(file) === lock);
  if (locked !== undefined) return `${entry.source}: a command holds ${locked}; merge it once that command ended`;
  if (entry.kind === 'trial') {
    const sweepLock = lockFile(path.join(path.dirname(entry.source), 'locks', path.basename(entry.source)));
    if (existsSync(sweepLock)) return `${entry.source}: a sweep process holds its trial lock ${sweepLock}`;
  }
  return undefined;
}

/** Every sweep's plans (in the DIRs and in DEST) must be one plan: the same trials with the same hashes. */
function checkSweepPlans(sweeps: Map<string, SweepSource[]>, runsDir: string): MergeProblem[] {
  const problems: MergeProblem[] = [];
  for (const [id, sources] of sweeps) {
    const target = path.join(runsDir, id);
    const all = isSweepDir(target) ? [{ dir: target, meta: readSweepMeta(target) }, ...sources] : sources;
    const [first, ...rest] = all;
    if (first === undefined) continue;
    for (const other of rest) {
      if (planKey(other.meta) === planKey(first.meta)) continue;
      problems.push({
        kind: 'trial',
        id,
        source: other.dir,
        target,
        problem: 'conflict',
        other: first.dir,
        reason:
          `${path.join(other.dir, SWEEP_FILE)} and ${path.join(first.dir, SWEEP_FILE)} both plan sweep ${id} but ` +
          'with other trials (another mtl version or a changed base config?)',
      });
    }
  }
  return problems;
}

function planKey(meta: SweepMeta): string {
  return meta.trials.map((trial) => `${trial.index}:${trial.hash}`).join(' ');
}

/** Each copy into a temporary folder in DEST, then renamed into place. */
function copyEntries(runsDir: string, entries: readonly MergeEntry[]): void {
  if (entries.length === 0) return;
  const temp = path.join(runsDir, `.merge-${randomBytes(4).toString('hex')}.tmp`);
  try {
    makeDirectories(temp);
  } catch (error) {
    throw asFileSystemError(error, 'create a temporary folder in', runsDir);
  }
  try {
    entries.forEach((entry, n) => {
      const staged = path.join(temp, String(n));
      copyTree(entry.source, staged);
      try {
        makeDirectories(path.dirname(entry.target));
        renameSync(staged, entry.target);
      } catch (error) {
        throw asFileSystemError(error, 'move the merged run into', entry.target);
      }
    });
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

/** DEST's sweep.json for each merged sweep: the plan, the earliest createdAt, the statuses its trials have now. */
function writeSweeps(sweeps: Map<string, SweepSource[]>, runsDir: string): MergeReport['sweeps'] {
  const written: MergeReport['sweeps'] = [];
  for (const [id, sources] of sweeps) {
    const dir = path.join(runsDir, id);
    const metas = [...(isSweepDir(dir) ? [readSweepMeta(dir)] : []), ...sources.map((s) => s.meta)];
    const [base] = metas;
    if (base === undefined) continue;
    const createdAt = metas.map((m) => m.createdAt).sort()[0] ?? base.createdAt;
    const counts: Partial<Record<TrialStatus, number>> = {};
    const trials = base.trials.map((trial) => {
      const status = trialStatus(path.join(dir, trial.hash));
      counts[status] = (counts[status] ?? 0) + 1;
      return { ...trial, status };
    });
    writeSweepMeta(dir, { ...base, createdAt, updatedAt: new Date().toISOString(), trials });
    written.push({ id, dir, trials: trials.length, counts });
  }
  return written;
}
