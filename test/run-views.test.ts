/**
 * `mtl runs` and `mtl compare` tell look-alike runs apart (#14 point 10): architecture, strategy, data and seed in
 * text and --json; compare lists where the resolved configs differ (only there, as dotted paths) and warns when the
 * runs trained on other data, or when one has no metrics on the split compared.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareRuns } from '../src/api/compare.js';
import { configDifferences, formatChange } from '../src/api/config-diff.js';
import { listRuns } from '../src/api/runs.js';
import { parseConfigText } from '../src/config/load.js';
import { tempDir } from './helpers.js';
import { mtl } from './helpers/cli.js';
import { fakeRun } from './helpers/runs.js';
import { usageErrorAsync } from './helpers/expect.js';

const METRICS = { 'left/accuracy': 0.9, 'right/accuracy': 0.8, 'mean/accuracy': 0.85 };

const TASKS = 'tasks:\n  - { name: left, type: multiclass }\n  - { name: right, type: multiclass }\n';

/** A finished run written by hand, with the resolved config of `yaml` (its `data:` by default multi-digits). */
function runWithConfig(
  store: string,
  id: string,
  yaml: string,
  options: { seed?: number; data?: string; csv?: string; test?: Record<string, number>; configFile?: string } = {},
): string {
  const seed = options.seed ?? 42;
  const dataYaml = options.data ?? 'data: { dataset: multi-digits }\n';
  const loaded = parseConfigText(`name: quickstart\nseed: ${seed}\n${dataYaml}${TASKS}${yaml}`, {
    displayName: `${id}.yaml`,
  });
  const dir = fakeRun(store, id, {
    name: 'quickstart',
    test: options.test ?? METRICS,
    meta: {
      seed,
      cwd: store,
      ...(options.configFile ? { configFile: options.configFile } : {}),
      ...(loaded.config.strategy.name === 'pcgrad' ? { strategy: { name: 'pcgrad', gradTarget: 'params' } } : {}),
    },
  });
  // A CSV run's config is written as resolved, not loaded: loading would read the (made-up) file.
  const { dataset: _dataset, ...data } = loaded.config.data;
  const config = options.csv ? { ...loaded.config, data: { ...data, csv: options.csv } } : loaded.config;
  writeFileSync(path.join(dir, 'config.resolved.json'), JSON.stringify(config, null, 2));
  return dir;
}

describe('mtl runs: what tells runs apart', () => {
  it('lists architecture, strategy, data and seed (library, --json and the table)', () => {
    const store = tempDir();
    runWithConfig(store, 'a-equal', 'model: { architecture: hard-sharing }\n');
    runWithConfig(store, 'b-pcgrad', 'model: { architecture: mmoe }\nstrategy: { name: pcgrad }\n', { seed: 1 });
    const listed = listRuns(store);
    expect(listed.map((r) => [r.id, r.architecture, r.strategy, r.data, r.seed])).toEqual([
      ['a-equal', 'hard-sharing', 'equal', 'multi-digits', 42],
      ['b-pcgrad', 'mmoe', 'pcgrad', 'multi-digits', 1],
    ]);
    expect(listed[1]?.gradTarget).toBe('params');

    const json = mtl(['runs', '--runs-dir', store, '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)[1]).toMatchObject({ architecture: 'mmoe', strategy: 'pcgrad', seed: 1 });
    const text = mtl(['runs', '--runs-dir', store]);
    expect(text.stdout.split('\n')[0]).toMatch(/architecture +strategy +data +seed/);
    expect(text.stdout).toMatch(/b-pcgrad .* mmoe +pcgrad +multi-digits +1 /);
  });

  it('still lists a run whose config.resolved.json is damaged, with ? for what it would tell', async () => {
    const store = tempDir();
    const dir = runWithConfig(store, 'damaged', '');
    writeFileSync(path.join(dir, 'config.resolved.json'), '{ not json');
    const [run] = listRuns(store);
    expect(run).toMatchObject({ id: 'damaged', seed: 42 });
    expect(run?.architecture).toBeUndefined();
  });
});

describe('mtl compare: what differs between the runs', () => {
  it('lists only the differences of the resolved configs, as dotted paths baseline → run', async () => {
    const store = tempDir();
    runWithConfig(store, 'base', 'training: { lr: 0.003 }\n');
    runWithConfig(store, 'other', 'training: { lr: 0.01 }\nstrategy: { name: pcgrad }\n', { seed: 7 });
    runWithConfig(store, 'same', 'training: { lr: 0.003 }\n');
    const comparison = await compareRuns(['base', 'other', 'same'], { runsDir: store });
    expect(comparison.runs.map((r) => [r.strategy, r.seed])).toEqual([
      ['equal', 42],
      ['pcgrad', 7],
      ['equal', 42],
    ]);
    expect(comparison.runs[0]?.configChanges).toBeUndefined();
    const changes = comparison.runs[1]?.configChanges ?? [];
    expect(changes.map(formatChange)).toEqual([
      'seed: 42 → 7',
      'training.lr: 0.003 → 0.01',
      'strategy.name: equal → pcgrad',
      'strategy.grad_target: (absent) → auto',
    ]);
    expect(comparison.runs[2]?.configChanges).toEqual([]);
    expect(comparison.warnings).toEqual([]);

    const text = mtl(['compare', 'base', 'other', '--runs-dir', store]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('other vs base (config.resolved.json, baseline → this run):\n  seed: 42 → 7\n');
    expect(text.stdout).toMatch(/^other +hard-sharing +pcgrad +multi-digits +7$/m);
  });

  it('walks lists by index and names a field one side lacks', async () => {
    expect(
      configDifferences({ tasks: [{ weight: 1 }, { weight: 1 }], a: { b: 1 } }, { tasks: [{ weight: 2 }], a: {} }),
    ).toEqual([
      { path: 'tasks.0.weight', baseline: 1, value: 2 },
      { path: 'tasks.1', baseline: { weight: 1 } },
      { path: 'a.b', baseline: 1 },
    ]);
  });

  it('warns when a run trained on other data: dataset options, split, another CSV', async () => {
    const store = tempDir();
    runWithConfig(store, 'base', '');
    runWithConfig(store, 'fewer', '', { data: 'data: { dataset: multi-digits, options: { samples: 500 } }\n' });
    const split = 'data: { dataset: multi-digits, split: { train: 0.6, val: 0.2, test: 0.2 } }\n';
    runWithConfig(store, 'split', '', { data: split });
    const comparison = await compareRuns(['base', 'fewer', 'split'], { runsDir: store });
    expect(comparison.warnings).toHaveLength(2);
    expect(comparison.warnings[0]).toMatch(/^fewer was trained on other data than base \(data\.options\.samples: /);
    expect(comparison.warnings[1]).toMatch(
      /^split was trained on other data than base \(data\.split\.column: split → \(absent\); data\.split\.train: /,
    );
    const text = mtl(['compare', 'base', 'fewer', '--runs-dir', store]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr).toMatch(/^warning: fewer was trained on other data than base/m);
  });

  it('takes a CSV named from two config folders as the same data, and another file as other data', async () => {
    const store = tempDir();
    runWithConfig(store, 'here', '', { csv: 'd.csv', configFile: '/data/exp/a.yaml' });
    runWithConfig(store, 'up', '', { csv: '../exp/d.csv', configFile: '/data/other/b.yaml' });
    runWithConfig(store, 'else', '', { csv: 'e.csv', configFile: '/data/exp/c.yaml' });
    const comparison = await compareRuns(['here', 'up', 'else'], { runsDir: store });
    expect(comparison.warnings).toEqual([
      'else was trained on other data than here (CSV /data/exp/d.csv → CSV /data/exp/e.csv): its metrics are not ' +
        "comparable with the baseline's",
    ]);
  });

  it('says which run has no test metrics instead of `No metric "undefined"`', async () => {
    const store = tempDir();
    runWithConfig(store, 'empty', '', { test: {} });
    const alone = await usageErrorAsync(() => compareRuns(['empty'], { runsDir: store }));
    expect(alone.message).toBe('Run empty has no test metrics: its test split was empty.');
    const withMetric = await usageErrorAsync(() => compareRuns(['empty'], { runsDir: store, metric: 'accuracy' }));
    expect(withMetric.message).not.toContain('undefined');
    expect(withMetric.message).toBe('Run empty has no test metrics: its test split was empty.');

    runWithConfig(store, 'full', '');
    const mixed = await compareRuns(['full', 'empty'], { runsDir: store });
    expect(mixed.warnings).toEqual(['empty has no test metrics (its test split was empty); its column shows —']);
  });
});
