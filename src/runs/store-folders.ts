import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { asFileSystemError } from './fs-errors.js';

/**
 * The folders of a run store that `isWanted` accepts (runs, seed groups), sorted, which is oldest first for ids that
 * start with their time; hidden entries are skipped. A store that does not exist is empty.
 */
export function storeFolders(runsDir: string, isWanted: (dir: string) => boolean): string[] {
  if (!existsSync(runsDir)) return [];
  let entries: string[];
  try {
    entries = readdirSync(runsDir);
  } catch (error) {
    throw asFileSystemError(error, 'list the runs folder', runsDir);
  }
  return entries.filter((entry) => !entry.startsWith('.') && isWanted(path.join(runsDir, entry))).sort();
}
