/**
 * `mtl compare --sweep` through the built CLI on a real sweep (grid 2 learning rates × 2 strategies × 2 seeds, two
 * epochs each): one row per configuration with mean ± sample std equal to the values computed here from the trials'
 * summary.json, ranks by the monitor metric, Pareto marks against a hand check, --group-by pooling, Δm against a
 * trial equal to `mtl compare`'s for the same pair, a config-file baseline, and the csv / md / json forms.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';
import { mtl, mtlInProcess } from './helpers/cli.js';
import { groupConfig } from './helpers/groups.js';

interface Stat {
  mean: number;
  std: number;
  n: number;
}
interface Row {
  rank: number;
  config: Record<string, string>;
  tasks: string[];
  n: number;
  seeds: number[];
  trials: string[];
  metrics: Record<string, Stat>;
  monitor?: number;
  deltaM?: number | null;
  pareto: boolean | null;
}
interface Comparison {
  split: string;
  paths: string[];
  columns: { key: string }[];
  ranking: { by: string; rule: string };
  baseline?: { kind: string; runs: string[] };
  rows: Row[];
  leftOut: unknown[];
}
interface Trial {
  id: string;
  hash: string;
  seed: number;
  overrides: string[];
}
type Metrics = Record<string, number>;

const dir = tempDir('mtl-compare-sweep-');
const store = path.join(dir, 'runs');
const file = path.join(dir, 'grid.yaml');
let sweepId = '';
let trials: Trial[] = [];
/** `mtl compare --sweep ID --json`, read once. */
let plain: Comparison;
const summaries = new Map<string, { test: Metrics; val: Metrics }>();

function compareJson(args: string[]): Comparison {
  const result = mtl(['compare', '--sweep', sweepId, ...args, '--json', '--runs-dir', store]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as Comparison;
}

/** Mean and sample std (n − 1), written out. */
function meanStd(values: number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1);
  return { mean, std: Math.sqrt(variance) };
}

const testOf = (id: string, key: string): number => summaries.get(id)!.test[key]!;

beforeAll(async () => {
  writeFileSync(path.join(dir, 'base.yaml'), groupConfig());
  writeFileSync(
    file,
    'base: base.yaml\nspace:\n  training.lr: [0.001, 0.03]\n  strategy.name: [equal, uncertainty]\nseeds: [0, 1]\n',
  );
  const run = await mtlInProcess(['sweep', file, '--json', '--runs-dir', store]);
  expect(run.code, run.stderr).toBe(0);
  const parsed = JSON.parse(run.stdout) as { id: string; trials: Trial[] };
  sweepId = parsed.id;
  trials = parsed.trials;
  for (const trial of trials) {
    const summary = JSON.parse(readFileSync(path.join(store, sweepId, trial.hash, 'summary.json'), 'utf8')) as {
      test: Metrics;
      val: Metrics;
    };
    summaries.set(trial.id, summary);
  }
  plain = compareJson([]);
});

describe('mtl compare --sweep', () => {
  it('one row per configuration: mean ± sample std over its seeds, from the trials summary.json', () => {
    const c = plain;
    expect(c.split).toBe('test');
    expect(c.paths).toEqual(['training.lr', 'strategy.name']);
    expect(c.columns.map((col) => col.key)).toEqual(['y1/mse', 'y2/mse']);
    expect(c.rows).toHaveLength(4);
    expect(c.leftOut).toEqual([]);
    for (const row of c.rows) {
      expect(row.n).toBe(2);
      expect(row.seeds).toEqual([0, 1]);
      const members = trials.filter((t) =>
        t.overrides.every((o) => row.config[o.slice(0, o.indexOf('='))] === o.slice(o.indexOf('=') + 1)),
      );
      expect(row.trials.sort()).toEqual(members.map((t) => t.id).sort());
      for (const key of ['y1/mse', 'y2/mse']) {
        const expected = meanStd(members.map((t) => testOf(t.id, key)));
        expect(row.metrics[key]!.mean).toBeCloseTo(expected.mean, 12);
        expect(row.metrics[key]!.std).toBeCloseTo(expected.std, 12);
      }
      const monitor = members.map((t) => summaries.get(t.id)!.val['mean/loss']!);
      expect(row.monitor).toBeCloseTo((monitor[0]! + monitor[1]!) / 2, 12);
    }
    // No baseline: ranked by the monitor (mean/loss on val, lower is better).
    expect(c.ranking.by).toBe('monitor');
    expect(c.rows.map((r) => r.rank)).toEqual([1, 2, 3, 4]);
    const monitors = c.rows.map((r) => r.monitor!);
    expect([...monitors].sort((a, b) => a - b)).toEqual(monitors);
  });

  it('marks the Pareto-optimal configurations (both mse lower is better), as checked by hand', async () => {
    const c = plain;
    const point = (r: Row): [number, number] => [r.metrics['y1/mse']!.mean, r.metrics['y2/mse']!.mean];
    for (const row of c.rows) {
      const [a1, a2] = point(row);
      const dominated = c.rows.some((other) => {
        const [b1, b2] = point(other);
        return other !== row && b1 <= a1 && b2 <= a2 && (b1 < a1 || b2 < a2);
      });
      expect(row.pareto).toBe(!dominated);
    }
    // lr 0.001 learns less in two epochs: neither of its rows is on the front.
    for (const row of c.rows.filter((r) => r.config['training.lr'] === '0.001')) expect(row.pareto).toBe(false);
    const text = await mtlInProcess(['compare', '--sweep', sweepId, '--runs-dir', store]);
    expect(text.code).toBe(0);
    const lines = text.stdout.split('\n');
    expect(lines[0]).toMatch(
      new RegExp(`^sweep ${sweepId}: 4 configurations, 8 completed trials; (test|val) metrics$`),
    );
    expect(lines[1]).toMatch(/^rank\s+training\.lr\s+strategy\.name\s+n\s+y1\/mse ↓\s+y2\/mse ↓\s+pareto$/);
    for (const row of c.rows) {
      const line = lines[3 + row.rank - 1]!;
      expect(line.startsWith(`${row.rank} `)).toBe(true);
      expect(line.endsWith('*')).toBe(row.pareto === true);
    }
  });

  it('--group-by strategy.name pools the learning rates and the seeds: one row per strategy', () => {
    const c = compareJson(['--group-by', 'strategy.name']);
    expect(c.paths).toEqual(['strategy.name']);
    expect(c.rows.map((r) => r.config['strategy.name']).sort()).toEqual(['equal', 'uncertainty']);
    for (const row of c.rows) {
      expect(row.n).toBe(4);
      const members = trials.filter((t) => t.overrides.includes(`strategy.name=${row.config['strategy.name']}`));
      expect(row.trials.sort()).toEqual(members.map((t) => t.id).sort());
      const expected = meanStd(members.map((t) => testOf(t.id, 'y2/mse')));
      expect(row.metrics['y2/mse']!.mean).toBeCloseTo(expected.mean, 12);
      expect(row.metrics['y2/mse']!.std).toBeCloseTo(expected.std, 12);
    }
  });

  it('Δm against a trial equals mtl compare BASE NEW for that pair (one trial a row: grouped by seed)', async () => {
    const base = trials[0]!;
    const c = compareJson(['--group-by', 'training.lr', 'strategy.name', 'seed', '--baseline', base.id]);
    expect(c.ranking.by).toBe('deltaM');
    expect(c.baseline).toMatchObject({ kind: 'run', runs: [base.id] });
    expect(c.rows.every((r) => r.n === 1)).toBe(true);
    const own = c.rows.find((r) => r.trials[0] === base.id)!;
    expect(own.deltaM).toBe(0);
    for (const other of [trials[1]!, trials[6]!]) {
      const row = c.rows.find((r) => r.trials[0] === other.id)!;
      const pair = await mtlInProcess(['compare', base.id, other.id, '--json', '--runs-dir', store]);
      expect(pair.code).toBe(0);
      const expected = (JSON.parse(pair.stdout) as { runs: { deltaM?: number }[] }).runs[1]!.deltaM!;
      expect(row.deltaM).toBe(expected);
    }
    const deltas = c.rows.map((r) => r.deltaM!);
    expect([...deltas].sort((a, b) => b - a)).toEqual(deltas);
  });

  it('a config file as the baseline: the trials that ran it (seeds and name aside), averaged', () => {
    const config = path.join(dir, 'baseline.yaml');
    writeFileSync(
      config,
      groupConfig({ seeds: '[0, 1]', extra: '  lr: 0.03\nstrategy: { name: uncertainty }' }).replace(
        'name: corr',
        'name: other',
      ),
    );
    const c = compareJson(['--baseline', config]);
    const matching = trials.filter((t) => t.overrides.join() === 'training.lr=0.03,strategy.name=uncertainty');
    expect(c.baseline).toMatchObject({ kind: 'config' });
    expect(c.baseline!.runs.sort()).toEqual(matching.map((t) => t.id).sort());
    const own = c.rows.find((r) => r.config['strategy.name'] === 'uncertainty' && r.config['training.lr'] === '0.03')!;
    expect(own.deltaM).toBe(0);
    // Another row by hand: Δm = mean over tasks of the mean over its metrics of s·(M − B)/|B| on the means.
    const other = c.rows.find((r) => r.config['strategy.name'] === 'equal' && r.config['training.lr'] === '0.001')!;
    const mean = (ids: string[], key: string): number => ids.reduce((a, id) => a + testOf(id, key), 0) / ids.length;
    const perTask = ['y1', 'y2'].map((task) => {
      const changes = ['mse', 'mae', 'r2'].map((metric) => {
        const key = `${task}/${metric}`;
        const b = mean(c.baseline!.runs, key);
        const m = mean(other.trials, key);
        return ((metric === 'r2' ? 1 : -1) * (m - b)) / Math.abs(b);
      });
      return changes.reduce((a, v) => a + v, 0) / changes.length;
    });
    expect(Object.keys(summaries.get(trials[0]!.id)!.test).sort()).toEqual(
      [
        'mean/loss',
        'mean/mae',
        'mean/mse',
        'mean/r2',
        'y1/loss',
        'y1/mae',
        'y1/mse',
        'y1/r2',
        'y2/loss',
        'y2/mae',
        'y2/mse',
        'y2/r2',
      ].sort(),
    );
    expect(other.deltaM).toBeCloseTo((perTask[0]! + perTask[1]!) / 2, 12);
  });

  it('--csv, --md and --json carry the same rows', async () => {
    const c = plain;
    const csv = await mtlInProcess(['compare', '--sweep', sweepId, '--csv', '--runs-dir', store]);
    expect(csv.code).toBe(0);
    const [header, ...lines] = csv.stdout
      .trimEnd()
      .split('\n')
      .map((line) => line.split(','));
    expect(header).toEqual([
      'rank',
      'training.lr',
      'strategy.name',
      'n',
      'seeds',
      'y1/mse mean',
      'y1/mse std',
      'y2/mse mean',
      'y2/mse std',
      'pareto',
    ]);
    expect(lines).toHaveLength(4);
    for (const [i, cells] of lines.entries()) {
      const row = c.rows[i]!;
      expect(cells).toEqual([
        String(row.rank),
        row.config['training.lr'],
        row.config['strategy.name'],
        '2',
        '0 1',
        String(row.metrics['y1/mse']!.mean),
        String(row.metrics['y1/mse']!.std),
        String(row.metrics['y2/mse']!.mean),
        String(row.metrics['y2/mse']!.std),
        String(row.pareto),
      ]);
    }
    const md = await mtlInProcess(['compare', '--sweep', sweepId, '--md', '--runs-dir', store]);
    expect(md.code).toBe(0);
    const tableLines = md.stdout.split('\n').filter((line) => line.startsWith('|'));
    expect(tableLines).toHaveLength(6);
    expect(tableLines[0]).toBe('| rank | training.lr | strategy.name | n | y1/mse ↓ | y2/mse ↓ | pareto |');
    expect(tableLines[1]).toBe('|--:|:--|:--|--:|--:|--:|--:|');
    for (const line of tableLines.filter((_, i) => i !== 1)) expect(line.split(' | ')).toHaveLength(7);
    const first = c.rows[0]!;
    const y1 = first.metrics['y1/mse']!;
    expect(tableLines[2]).toContain(`| ${y1.mean.toFixed(4)} ± ${y1.std.toFixed(4)} |`);
    expect(tableLines[2]!.endsWith(first.pareto ? '| \\* |' : '|  |')).toBe(true);
  });
});
