/**
 * The config mistakes of issue #14 (points 2, 7, 9) through the built CLI, as a user meets them: `mtl validate` and
 * `mtl train` both exit 2 with the located message, print no stack frame, and leave an existing run untouched.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeFile } from './helpers.js';
import { bin, type CliResult, mtl, root } from './helpers/cli.js';

const tiny = `name: tiny
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

/** A bad input: the config text (appended to `tiny`), the flags, and the problem line stderr must hold. */
interface BadInput {
  what: string;
  config?: string;
  set?: string[];
  problem: string;
}

const badInputs: BadInput[] = [
  {
    what: 'a misspelled model key with the default architecture',
    config: 'model: { archtecture: mmoe }\n',
    problem: 'exp.yaml:11:10: model.archtecture: unknown field "archtecture"; did you mean "architecture"?',
  },
  {
    what: 'a misspelled strategy key with the default strategy',
    config: 'strategy: { nmae: pcgrad }\n',
    problem: 'exp.yaml:11:13: strategy.nmae: unknown field "nmae"; did you mean "name"?',
  },
  {
    what: "the README's --set tasks.0.weight=2 under the default strategy",
    set: ['tasks.0.weight=2'],
    problem: '--set tasks.0.weight=2: tasks[0].weight: has no effect: strategy "equal" does not read task weights',
  },
  {
    what: 'strategy.c under equal',
    set: ['strategy.c=0.5'],
    problem: '--set strategy.c=0.5: strategy.c: "c" has no effect when strategy.name is "equal"',
  },
  {
    what: 'model.experts on hard-sharing',
    set: ['model.experts=4'],
    problem: '--set model.experts=4: model.experts: "experts" has no effect when model.architecture is "hard-sharing"',
  },
  {
    what: 'dselect-k with k > experts',
    config: 'model: { architecture: dselect-k, experts: 2, k: 3 }\n',
    problem: 'exp.yaml:11:50: model.k: k (3) is more than experts (2)',
  },
  {
    what: 'Adam options under sgd',
    set: ['training.optimizer=sgd', 'training.beta2=0.9'],
    problem: '--set training.beta2=0.9: training.beta2: has no effect with training.optimizer "sgd"',
  },
  {
    what: 'a target column among the features',
    config: 'model: { trunk: [{ type: dense, units: 8 }] }\n',
    set: ['data.features=[p0, left]'],
    problem: '--set data.features=[p0, left]: data.features[1]: column "left" is the target of task "left"',
  },
  {
    what: 'a --set path that does not exist',
    set: ['foo.bar.baz=1'],
    problem: '--set foo.bar.baz=1: foo: unknown field "foo"',
  },
  {
    what: 'a --set index past the end of a list',
    set: ['tasks.5.weight=2'],
    problem: 'mtl: --set "tasks.5.weight=2": tasks has 2 entries (indices 0 to 1); index 5 is past the end.',
  },
];

describe('config mistakes through the CLI', () => {
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

  for (const bad of badInputs) {
    it(`${bad.what}: validate and train exit 2, name the problem, and change no run`, async () => {
      const file = writeFile(dir, 'exp.yaml', `${tiny}${bad.config ?? ''}`);
      const flags = (bad.set ?? []).flatMap((s) => ['--set', s]);
      const commands = [
        ['validate', file, ...flags],
        ['train', file, ...flags, '--runs-dir', runsDir],
      ];
      // Both at once: each is a Node start-up, and the two share nothing but the (unchanged) runs folder.
      const results = await Promise.all(commands.map((command) => mtlAsync(command)));
      for (const [index, result] of results.entries()) {
        expect(result.code, `${commands[index]?.[0]}: ${result.stderr}`).toBe(2);
        expect(result.stderr.replaceAll(dir + path.sep, '')).toContain(bad.problem);
        expect(result.stderr).not.toMatch(/^\s+at /m);
        expect(result.stdout).toBe('');
      }
      expect(snapshot(runsDir)).toEqual(before);
    }, 60_000);
  }
});
