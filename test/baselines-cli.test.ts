import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeFile } from './helpers.js';
import { folderDigest } from './helpers/bad-inputs.js';
import { mtl, mtlInProcess, type CliResult } from './helpers/cli.js';
import { writeLinearRegressionCsv } from './helpers/csv.js';

/** Two regression tasks on 60 rows, 3 epochs: the run and its two baselines train in about a second. */
function writeConfig(dir: string, tasks = ['a', 'b']): string {
  writeLinearRegressionCsv(dir, 'two.csv', {
    seed: 2,
    rows: 60,
    features: 3,
    targets: [
      { weights: [1, -1, 0.5], noise: 0.1 },
      { weights: [0, 0.5, 1], noise: 0.1 },
    ],
  });
  const targets: Record<string, string> = { a: 'y1', b: 'y2' };
  return writeFile(
    dir,
    `cli-${tasks.join('')}.yaml`,
    [
      'name: cli',
      'backend: wasm',
      'data: { csv: two.csv }',
      'tasks:',
      ...tasks.map((task) => `  - { name: ${task}, type: regression, target: ${targets[task]} }`),
      'model: { trunk: [{ type: dense, units: 4 }] }',
      'training: { epochs: 3 }',
      '',
    ].join('\n'),
  );
}

describe('mtl train --baselines, compare --baseline, runs, eval of a baseline', () => {
  const dir = tempDir();
  const runsDir = path.join(dir, 'runs');
  const config = writeConfig(dir);
  let trained: CliResult;
  let id = '';
  beforeAll(() => {
    trained = mtl(['train', config, '--baselines', 'single-task', '--runs-dir', runsDir]);
    id = trained.stdout.trim();
  });

  it('trains the run, then a baseline per task inside it, and prints whether MTL helped', () => {
    expect(trained.code).toBe(0);
    expect(trained.stdout).toBe(`${id}\n`); // stdout stays the run id alone
    expect(trained.stderr).toContain('baseline 1/2: baselines/a');
    expect(trained.stderr).toContain('baseline 2/2: baselines/b');
    expect(trained.stderr).toMatch(/Did MTL help\? test split, MTL against single-task baselines:/);
    expect(trained.stderr).toMatch(/\nΔm [+-]\d+\.\d\d%\n/);
    expect(readdirSync(path.join(runsDir, id, 'baselines')).sort()).toEqual(['a', 'b']);
    expect(JSON.parse(readFileSync(path.join(runsDir, id, 'config.resolved.json'), 'utf8')).baselines).toBe(
      'single-task',
    );
  });

  it('lists the run once, marked, and not its baselines', async () => {
    const listed = await mtlInProcess(['runs', '--runs-dir', runsDir, '--json']);
    const runs = JSON.parse(listed.stdout) as { id: string; subRuns: string[] }[];
    expect(runs.map((run) => run.id)).toEqual([id]);
    expect(runs[0]?.subRuns).toEqual(['baselines/a', 'baselines/b']);
    expect((await mtlInProcess(['runs', '--runs-dir', runsDir])).stdout).toContain('single-task (2)');
  });

  it('evaluates a baseline by ID/baselines/<task> and by its path', async () => {
    const byId = await mtlInProcess(['eval', `${id.slice(0, 15)}/baselines/a`, '--runs-dir', runsDir, '--json']);
    expect(byId.code).toBe(0);
    expect(JSON.parse(byId.stdout).run).toBe(`${id}/baselines/a`);
    const byPath = await mtlInProcess([
      'eval',
      path.join(runsDir, id, 'baselines', 'b'),
      '--runs-dir',
      runsDir,
      '--json',
    ]);
    expect(byPath.code).toBe(0);
    expect(JSON.parse(byPath.stdout).run).toBe(`${id}/baselines/b`);
  });

  it('compare --baseline gives transfer.json again, per task and Δm', async () => {
    const compared = await mtlInProcess(['compare', id, '--baseline', 'single-task', '--runs-dir', runsDir, '--json']);
    expect(compared.code).toBe(0);
    const transfer = JSON.parse(readFileSync(path.join(runsDir, id, 'transfer.json'), 'utf8'));
    const { run, dir: _dir, ...report } = JSON.parse(compared.stdout);
    expect(run).toBe(id);
    expect(report).toEqual(transfer);
    const table = await mtlInProcess(['compare', id, '--baseline', 'single-task', '--runs-dir', runsDir]);
    expect(table.stdout).toMatch(/task +metric +MTL +single-task +relative +task gain +verdict/);
  });

  describe('bad input: exit 2, a message saying what to do, the run left alone', () => {
    const cases: { what: string; args: () => string[]; message: RegExp }[] = [
      {
        what: 'baselines for a config with one task',
        args: () => ['train', writeConfig(dir, ['a']), '--baselines', 'single-task', '--runs-dir', runsDir],
        message: /--baselines single-task: baselines: "single-task" compares a multi-task run with single-task ones, /,
      },
      {
        what: 'analysis.pairs without single-task baselines',
        args: () => ['train', config, '--set', 'analysis.pairs=true', '--runs-dir', runsDir],
        message: /analysis.pairs: the pairwise gains are measured against the single-task runs.*baselines: none/,
      },
      {
        what: 'an unknown kind of baseline',
        args: () => ['train', config, '--baselines', 'solo', '--runs-dir', runsDir],
        message: /--baselines.*Allowed choices are none, single-task, towers/,
      },
      {
        what: '--baselines with --resume',
        args: () => ['train', '--resume', id, '--baselines', 'single-task', '--runs-dir', runsDir],
        message: /--baselines cannot change a resumed run's config/,
      },
      {
        what: 'compare --baseline with two runs',
        args: () => ['compare', id, `${id}/baselines/a`, '--baseline', 'single-task', '--runs-dir', runsDir],
        message: /give one run \(got 2\)/,
      },
      {
        what: 'compare --baseline towers on a run with single-task baselines',
        args: () => ['compare', id, '--baseline', 'towers', '--runs-dir', runsDir],
        message: /has no towers baseline.*\n.*mtl train CONFIG --baselines towers/,
      },
      {
        what: 'compare --baseline on a baseline (a run trained without baselines)',
        args: () => ['compare', `${id}/baselines/a`, '--baseline', 'single-task', '--runs-dir', runsDir],
        message: /has no single-task baselines.*\n.*mtl train CONFIG --baselines single-task/,
      },
      {
        what: 'a baseline that is not there',
        args: () => ['eval', `${id}/baselines/c`, '--runs-dir', runsDir],
        message: /has no run "baselines\/c".*\n.*the runs inside it: .*baselines\/a, .*baselines\/b/,
      },
    ];
    for (const testCase of cases) {
      it(testCase.what, () => {
        const before = folderDigest(runsDir);
        const result = mtl(testCase.args());
        expect(result.code).toBe(2);
        expect(result.stderr).toMatch(testCase.message);
        expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
        expect(folderDigest(runsDir)).toEqual(before);
      });
    }
    it('creates no run for a config refused before training', () => {
      expect(readdirSync(runsDir)).toEqual([id]);
      expect(existsSync(path.join(runsDir, id, 'pairs'))).toBe(false);
    });
  });
});
