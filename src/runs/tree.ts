import { createHash } from 'node:crypto';
import { copyFileSync, type Dirent, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { asFileSystemError } from './fs-errors.js';
import { makeDirectories } from './make-dirs.js';

/**
 * A folder of a run store as files (`mtl runs merge`, api/merge.ts): every file under it, by its path relative to
 * the folder (`/`-separated), with the sha256 of its bytes; and a plain recursive copy (the caller copies into a
 * temporary folder and renames it into place, so readers never see half a copy).
 */
export function treeChecksums(dir: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const file of treeFiles(dir)) {
    const full = path.join(dir, ...file.split('/'));
    let bytes: Buffer;
    try {
      bytes = readFileSync(full);
    } catch (error) {
      throw asFileSystemError(error, 'read', full);
    }
    sums.set(file, createHash('sha256').update(bytes).digest('hex'));
  }
  return sums;
}

/** Every file under `dir`, relative, `/`-separated, sorted. */
export function treeFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (relative: string): void => {
    const here = path.join(dir, ...relative.split('/').filter((s) => s !== ''));
    let entries: Dirent[];
    try {
      entries = readdirSync(here, { withFileTypes: true });
    } catch (error) {
      throw asFileSystemError(error, 'list the folder', here);
    }
    for (const entry of entries) {
      const name = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) walk(name);
      else if (entry.isFile()) found.push(name);
    }
  };
  walk('');
  return found.sort();
}

/**
 * What tells `source` from `target` when `target` is to hold everything `source` has: the files of `source` that
 * `target` lacks or holds with other bytes (empty: `target` has it all; it may have more, e.g. evals made there).
 */
export function treeDifferences(source: Map<string, string>, target: Map<string, string>): string[] {
  const differences: string[] = [];
  for (const [file, sum] of source) {
    const other = target.get(file);
    if (other === undefined) differences.push(`${file} only in the first`);
    else if (other !== sum) differences.push(`${file} differs`);
  }
  return differences;
}

export function copyTree(source: string, target: string): void {
  try {
    makeDirectories(target);
  } catch (error) {
    throw asFileSystemError(error, 'create the folder', target);
  }
  for (const file of treeFiles(source)) {
    const to = path.join(target, ...file.split('/'));
    try {
      makeDirectories(path.dirname(to));
      copyFileSync(path.join(source, ...file.split('/')), to);
    } catch (error) {
      throw asFileSystemError(error, 'copy a run file to', to);
    }
  }
}
