/**
 * `mtl compare --sweep` on a task-subset sweep (rows with other task sets: missing cells, Pareto within a task set,
 * no Δm against a baseline with more tasks), on trials left at different epoch budgets (successive halving: only the
 * largest budget is compared), and the mistakes a user makes with its flags: exit 2 with the message, no stack
 * trace, and the sweep's files unchanged.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { tempDir } from './helpers.js';
import { mtl, mtlInProcess, type CliResult } from './helpers/cli.js';
import { groupConfig } from './helpers/groups.js';
import { snapshotRun } from './helpers/run-snapshot.js';
import { fakeRun } from './helpers/runs.js';

interface Row {
  rank: number;
  config: Record<string, string>;
  tasks: string[];
  trials: string[];
  metrics: Record<string, { mean: number }>;
  deltaM?: number | null;
  deltaMProblems?: string[];
  pareto: boolean | null;
}
interface Comparison {
  paths: string[];
  columns: { key: string }[];
  rows: Row[];
  leftOut: { id: string; status: string; reason: string }[];
  notes: string[];
}
interface Trial {
  id: string;
  hash: string;
  overrides: string[];
  tasks?: string[];
}

const dir = tempDir('mtl-compare-sweep-inputs-');
const store = path.join(dir, 'runs');
const file = path.join(dir, 'subsets.yaml');
let sweepId = '';
let trials: Trial[] = [];

/** `mtl compare` in-process (the CLI's `main`); the file's first comparison runs the built CLI as a child process. */
function compare(args: string[]): Promise<CliResult> {
  return mtlInProcess(['compare', ...args, '--runs-dir', store]);
}

function compareSpawned(args: string[]): CliResult {
  return mtl(['compare', ...args, '--runs-dir', store]);
}

beforeAll(() => {
  writeFileSync(path.join(dir, 'base.yaml'), groupConfig());
  writeFileSync(file, 'base: base.yaml\nspace:\n  training.lr: [0.001, 0.03]\ntasks: [[y1], [y1, y2]]\nseeds: [0]\n');
  const run = mtl(['sweep', file, '--json', '--runs-dir', store]);
  expect(run.code).toBe(0);
  const parsed = JSON.parse(run.stdout) as { id: string; trials: Trial[] };
  sweepId = parsed.id;
  trials = parsed.trials;
});

describe('task subsets', () => {
  it('rows of another task set show — for the missing task, and are Pareto-ranked among themselves only', async () => {
    const result = compareSpawned(['--sweep', sweepId, '--json']);
    expect(result.code).toBe(0);
    const c = JSON.parse(result.stdout) as Comparison;
    expect(c.paths).toEqual(['training.lr', 'tasks']);
    expect(c.columns.map((col) => col.key)).toEqual(['y1/mse', 'y2/mse']);
    const single = c.rows.filter((r) => r.config['tasks'] === 'y1');
    const both = c.rows.filter((r) => r.config['tasks'] === 'y1+y2');
    expect(single).toHaveLength(2);
    expect(both).toHaveLength(2);
    for (const row of single) expect(Object.keys(row.metrics)).toEqual(['y1/mse']);
    // One objective among the y1-only rows: the lower y1/mse is the front.
    const [a, b] = single;
    expect(a!.pareto).toBe(a!.metrics['y1/mse']!.mean <= b!.metrics['y1/mse']!.mean);
    expect(b!.pareto).toBe(b!.metrics['y1/mse']!.mean <= a!.metrics['y1/mse']!.mean);
    const byMae = await compare(['--sweep', sweepId, '--metric', 'mae', '--json']);
    expect((JSON.parse(byMae.stdout) as Comparison).columns.map((col) => col.key)).toEqual(['y1/mae', 'y2/mae']);
    const text = await compare(['--sweep', sweepId]);
    const line = text.stdout.split('\n').find((l) => /^\d+\s+\S+\s+y1\s/.test(l));
    expect(line).toMatch(/\s—\s/);
  });

  it('against a two-task trial, a one-task row has no Δm (a missing metric never counts) and ranks last', async () => {
    const base = trials.find((t) => t.tasks?.length === 2)!;
    const result = await compare(['--sweep', sweepId, '--baseline', base.id, '--json']);
    expect(result.code).toBe(0);
    const c = JSON.parse(result.stdout) as Comparison;
    const single = c.rows.filter((r) => r.config['tasks'] === 'y1');
    for (const row of single) {
      expect(row.deltaM).toBeNull();
      expect(row.deltaMProblems).toContain('y2/mse: missing in the run');
      expect(row.rank).toBeGreaterThan(2);
    }
    expect(c.rows.find((r) => r.trials[0] === base.id)?.deltaM).toBe(0);
  });
});

describe('bad inputs', () => {
  it('each mistake exits 2 with its message, and no file of the sweep changes', async () => {
    const other = path.join(dir, 'other.yaml');
    writeFileSync(other, groupConfig({ epochs: 3 }));
    // A run that failed before its first evaluation: no summary.json.
    const failed = '20260101-000000-failed';
    fakeRun(store, failed, { meta: { status: 'failed' } });
    // A sweep none of whose trials has run: its sweep.json alone, in a folder of its own.
    const empty = path.join(dir, 'empty-sweep');
    mkdirSync(empty);
    copyFileSync(path.join(store, sweepId, 'sweep.json'), path.join(empty, 'sweep.json'));
    const before = [snapshotRun(path.join(store, sweepId)), snapshotRun(path.join(store, failed))];
    const cases: [string[], string][] = [
      [['--sweep', sweepId, trials[0]!.id], `mtl: mtl compare --sweep ${sweepId}: give the sweep or runs, not both`],
      [['--sweep', 'nope'], `mtl: No sweep "nope" in ${store}; its sweeps: ${sweepId}.`],
      [['--sweep', sweepId, '--csv', '--md'], 'mtl: mtl compare: --csv and --md exclude each other.'],
      [['--group-by', 'strategy.name', trials[0]!.id], 'mtl: mtl compare: --group-by only applies with --sweep ID.'],
      [
        ['--sweep', sweepId, '--group-by', 'training.lrr'],
        `mtl: --group-by training.lrr: no compared trial's config has this path; did you mean "training.lr"?`,
      ],
      [
        ['--sweep', sweepId, '--baseline', other],
        `mtl: --baseline ${other}: no completed trial of sweep ${sweepId} has this config ` +
          '(seed, seeds and name aside); ' +
          'the nearest completed trial',
      ],
      [
        [trials[0]!.id, '--baseline', trials[1]!.id],
        `mtl: --baseline "${trials[1]!.id}": expected single-task or towers (a run, group or config needs --sweep).`,
      ],
      [[], 'mtl: mtl compare: missing the runs to compare.'],
      [
        ['--sweep', sweepId, '--fail-if', 'y1/mse > 1'],
        'mtl: --fail-on-regression and --fail-if gate runs or seed groups, not --sweep.',
      ],
      [['--sweep', sweepId, '--split', 'train'], 'mtl: --split "train": expected val or test.'],
      [
        ['--sweep', sweepId, '--metric', 'accuracy'],
        'mtl: --metric accuracy: no compared trial reports it on test.\n  - they report: loss, mae, mse, r2',
      ],
      [
        ['--sweep', sweepId, '--baseline', failed],
        `mtl: --baseline ${failed}: run ${failed} (failed) has no test metrics.`,
      ],
      [['--sweep', empty], `mtl: Sweep empty-sweep has no completed trial to compare (4 planned).`],
    ];
    for (const [args, message] of cases) {
      const result = await compare(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toContain(message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(result.stdout).toBe('');
    }
    expect([snapshotRun(path.join(store, sweepId)), snapshotRun(path.join(store, failed))]).toEqual(before);
  });
});

describe('successive halving', () => {
  it('trials at different epoch budgets: only the largest budget is compared, the others named', async () => {
    const sweepJson = path.join(store, sweepId, 'sweep.json');
    const original = readFileSync(sweepJson, 'utf8');
    const meta = JSON.parse(original) as { trials: Record<string, unknown>[] };
    // The first two trials stopped at 1 epoch, the last two reached 2 (as a halving sweep records it).
    for (const [i, trial] of meta.trials.entries()) trial['epochs'] = i < 2 ? 1 : 2;
    writeFileSync(sweepJson, JSON.stringify(meta));
    // The other tests read the sweep as it ran, whatever order they run in.
    onTestFinished(() => writeFileSync(sweepJson, original));
    const result = await compare(['--sweep', sweepId, '--json']);
    expect(result.code).toBe(0);
    const c = JSON.parse(result.stdout) as Comparison;
    expect(c.rows.flatMap((r) => r.trials).sort()).toEqual([trials[2]!.id, trials[3]!.id].sort());
    expect(c.leftOut).toEqual([
      { id: trials[0]!.id, status: 'completed', reason: 'stopped at 1 epoch, not the largest budget' },
      { id: trials[1]!.id, status: 'completed', reason: 'stopped at 1 epoch, not the largest budget' },
    ]);
    expect(c.notes.join('\n')).toContain('only the 2 at the largest, 2 epochs, are compared');
    const text = await compare(['--sweep', sweepId]);
    expect(text.stderr).toContain('note: the trials reached different epoch budgets (successive halving)');
  });
});

describe('a baseline trained on other data', () => {
  it('is compared, with a warning on stderr naming the difference', async () => {
    const config = path.join(dir, 'more-rows.yaml');
    writeFileSync(config, groupConfig().replace('samples: 200', 'samples: 300'));
    const trained = mtl(['train', config, '--runs-dir', store]);
    expect(trained.code).toBe(0);
    const run = trained.stdout.trim();
    const result = await compare(['--sweep', sweepId, '--baseline', run]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(
      `warning: the baseline ${run} was trained on other data than the sweep's trials ` +
        '(data.options.samples: 200 → 300): its metrics are not comparable with theirs, nor is Δm',
    );
    expect(result.stdout).toContain('Δm');
  });
});
