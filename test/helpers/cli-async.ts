/** The built CLI as a child process that runs beside others (several at once), for tests of concurrency. */
import { spawn, type SpawnOptions } from 'node:child_process';
import { bin, type CliResult, root } from './cli.js';

/**
 * Starts `mtl …args` from the repository root, not on a TTY (`CI=true`); resolves when it exits. `spawnOptions`: a
 * user to run as (uid, gid), a timeout.
 */
export function mtlAsync(
  args: string[],
  env: Record<string, string> = {},
  spawnOptions: Pick<SpawnOptions, 'uid' | 'gid' | 'timeout'> = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: root,
      env: { ...process.env, CI: 'true', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // A child past its timeout is stuck: SIGTERM would ask mtl for a graceful stop, which a stuck one never makes.
      killSignal: 'SIGKILL',
      ...spawnOptions,
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
