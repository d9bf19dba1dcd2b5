import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Every file under a run directory with a hash of its bytes and its modification time: two equal snapshots taken
 * around a command mean the command left that run untouched.
 */
export function snapshotRun(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const file = path.join(dir, entry);
    const stat = statSync(file);
    if (stat.isFile()) out[entry] = `${createHash('sha256').update(readFileSync(file)).digest('hex')} ${stat.mtimeMs}`;
  }
  return out;
}
