/** The built CLI (bin/mtl.js → dist/) as a child process, as a user or a CI script runs it. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

export const root = path.resolve(import.meta.dirname, '..', '..');
export const bin = path.join(root, 'bin', 'mtl.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `mtl …args` from the repository root, not on a TTY (`CI=true`), and waits for it. */
export function mtl(args: string[], env: Record<string, string> = {}): CliResult {
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, CI: 'true', ...env },
    timeout: 170_000,
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}
