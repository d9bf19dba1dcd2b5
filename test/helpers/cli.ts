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

/**
 * `mtl …args` as the library's own `main` runs it in this process (src/, not dist/), with `CI=true` and `env` set
 * for the call, stdout and stderr captured: what the CLI prints, without the Node start-up of a child process (~0.8 s
 * of CPU each, most of a catalogue of messages). Calls must not overlap (the streams are shared); the catalogues that
 * use it also run a case through the built CLI.
 */
export async function mtlInProcess(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const { main } = await import('../../src/cli/main.js');
  const savedEnv = new Map<string, string | undefined>();
  for (const [key, value] of Object.entries({ CI: 'true', ...env })) {
    savedEnv.set(key, process.env[key]);
    process.env[key] = value;
  }
  const captured = { stdout: '', stderr: '' };
  const writers = { stdout: process.stdout.write, stderr: process.stderr.write };
  const capture =
    (stream: 'stdout' | 'stderr'): typeof process.stdout.write =>
    (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      captured[stream] += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      const done = rest.find((argument) => typeof argument === 'function');
      if (typeof done === 'function') done();
      return true;
    };
  process.stdout.write = capture('stdout');
  process.stderr.write = capture('stderr');
  try {
    const code = await main(args);
    return { code, ...captured };
  } finally {
    process.stdout.write = writers.stdout;
    process.stderr.write = writers.stderr;
    for (const [key, value] of savedEnv) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}
