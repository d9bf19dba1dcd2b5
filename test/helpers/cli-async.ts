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

/**
 * `mtl train …args`, sent SIGINT (Ctrl-C) once its stderr shows `when` (a string it contains, or a pattern it
 * matches); resolves when it exits.
 */
export function trainInterrupted(args: string[], when: string | RegExp): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'train', ...args], {
      cwd: root,
      env: { ...process.env, CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      if (!sent && (typeof when === 'string' ? stderr.includes(when) : when.test(stderr))) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
