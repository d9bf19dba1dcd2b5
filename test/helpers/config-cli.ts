/**
 * Runs config mistakes as a user meets them: `mtl validate` and `mtl train` must both exit 2 with the located message
 * on stderr, print no stack frame and nothing on stdout, and leave an existing run (trained once before the mistakes)
 * untouched, byte for byte and by modification time. Every case runs through the CLI's `main` in the test's process
 * (a child process per command made these catalogues most of the suite's time), and the first case of each catalogue
 * (or the one named) also through the built CLI (bin/mtl.js → dist/), which must print the same.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeFile } from '../helpers.js';
import { bin, type CliResult, mtl, mtlInProcess, root } from './cli.js';

/** The config every case extends (10 lines: what a case appends starts on line 11). */
export const tiny = `name: tiny
seed: 1
backend: wasm
data:
  dataset: multi-digits
  options: { samples: 200 }
tasks:
  - { name: left, type: multiclass }
  - { name: right, type: multiclass }
training: { epochs: 1 }
`;

/** Every file under `dir` with its size, modification time and content hash. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (at: string): void => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const full = path.join(at, entry.name);
      if (entry.isDirectory()) walk(full);
      else {
        const hash = createHash('sha256').update(readFileSync(full)).digest('hex');
        files[path.relative(dir, full)] = `${statSync(full).mtimeMs} ${hash}`;
      }
    }
  };
  walk(dir);
  return files;
}

/** `mtl …args` as test/helpers/cli.ts runs it, without blocking, so that several can run at once. */
function mtlAsync(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const env = { ...process.env, CI: 'true' };
    execFile(process.execPath, [bin, ...args], { cwd: root, env, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * A bad input: the config text (appended to `tiny`, or `text` instead of it), the flags, and the text stderr must
 * hold; `file` names a config path given as is instead of the written one.
 */
export interface BadInput {
  what: string;
  config?: string;
  text?: string;
  file?: string;
  set?: string[];
  problem: string;
}

/** `builtCli`: the case also run through the built CLI (its `what`; the first case by default). */
export function describeBadConfigs(title: string, badInputs: readonly BadInput[], builtCli?: string): void {
  describe(title, () => {
    let dir: string;
    let runsDir: string;
    let before: Record<string, string>;

    beforeAll(() => {
      dir = tempDir();
      runsDir = path.join(dir, 'runs');
      const trained = mtl(['train', writeFile(dir, 'good.yaml', tiny), '--runs-dir', runsDir, '--quiet']);
      expect(trained.code, trained.stderr).toBe(0);
      before = snapshot(runsDir);
    }, 120_000);

    const commandsFor = (bad: BadInput): string[][] => {
      const file = bad.file ?? writeFile(dir, 'exp.yaml', bad.text ?? `${tiny}${bad.config ?? ''}`);
      const flags = (bad.set ?? []).flatMap((s) => ['--set', s]);
      return [
        ['validate', file, ...flags],
        ['train', file, ...flags, '--runs-dir', runsDir],
      ];
    };
    const check = (bad: BadInput, commands: string[][], results: CliResult[]): void => {
      for (const [index, result] of results.entries()) {
        expect(result.code, `${commands[index]?.[0]}: ${result.stderr}`).toBe(2);
        expect(result.stderr.replaceAll(dir + path.sep, '')).toContain(bad.problem);
        expect(result.stderr).not.toMatch(/^\s+at /m);
        expect(result.stdout).toBe('');
      }
      expect(snapshot(runsDir)).toEqual(before);
    };

    for (const bad of badInputs) {
      it(`${bad.what}: validate and train exit 2, name the problem, and change no run`, async () => {
        const commands = commandsFor(bad);
        const results: CliResult[] = [];
        for (const command of commands) results.push(await mtlInProcess(command));
        check(bad, commands, results);
      }, 60_000);
    }

    const first = builtCli === undefined ? badInputs[0] : badInputs.find((bad) => bad.what === builtCli);
    if (!first) throw new Error(`no case "${builtCli}" to run through the built CLI`);
    it(`${first.what}, through the built CLI: the same`, async () => {
      const commands = commandsFor(first);
      // Both at once: each is a Node start-up, and the two share nothing but the (unchanged) runs folder.
      check(first, commands, await Promise.all(commands.map((command) => mtlAsync(command))));
    }, 60_000);
  });
}
