/**
 * The pure parts of `mtl sweep` (src/sweep/): the sweep file's checks with file:line:col errors, the expansion of
 * grid, random and task-subset sweeps against hand-written lists, and the canonical hash of a trial.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planSweep } from '../src/api/sweep.js';
import { UsageError } from '../src/errors.js';
import { expandTrials, taskSubsets } from '../src/sweep/expand.js';
import { canonicalJson, trialHash } from '../src/sweep/hash.js';
import { parseSweepText, SWEEP_SCHEMA, type SweepSpec } from '../src/sweep/spec.js';
import { createRng } from '../src/util/rng.js';

const spec = (text: string): SweepSpec => parseSweepText(text, '/tmp/s/sweep.yaml', 'sweep.yaml');

function problems(text: string): string {
  try {
    spec(text);
  } catch (error) {
    if (error instanceof UsageError) return error.format();
    throw error;
  }
  throw new Error('expected a UsageError');
}

describe('sweep file checks', () => {
  it('a grid with lists and choices parses; base is relative to the sweep file', () => {
    const parsed = spec(
      'base: ../configs/b.yaml\nspace:\n  training.lr: [0.1, 0.2]\n  strategy.name: { choice: [equal] }\n',
    );
    expect(parsed.base).toBe('/tmp/configs/b.yaml');
    expect(parsed.name).toBe('sweep');
    expect(parsed.search).toBe('grid');
    expect(parsed.space).toEqual([
      ['training.lr', { kind: 'values', values: [0.1, 0.2] }],
      ['strategy.name', { kind: 'values', values: ['equal'] }],
    ]);
  });

  const cases: [string, string, string][] = [
    ['an unknown key', 'base: b.yaml\nsearh: grid\n', 'sweep.yaml:2:1: searh:'],
    ['no base', 'space: {}\n', 'sweep.yaml:1:1: (top level): missing required field "base"'],
    ['random without trials', 'base: b.yaml\nsearch: random\n', 'sweep.yaml:2:9: search: random search needs'],
    ['trials on a grid', 'base: b.yaml\ntrials: 3\n', 'sweep.yaml:2:9: trials: a grid trains every combination'],
    [
      'a range in a grid',
      'base: b.yaml\nspace:\n  training.lr: { min: 0.1, max: 1 }\n',
      'sweep.yaml:3:16: space.training.lr: a range cannot be enumerated by a grid',
    ],
    [
      'max not above min',
      'base: b.yaml\nsearch: random\ntrials: 2\nspace:\n  training.lr: { min: 1, max: 1 }\n',
      'sweep.yaml:5:31: space.training.lr.max: expected max > min (min is 1)',
    ],
    [
      'a log range from 0',
      'base: b.yaml\nsearch: random\ntrials: 2\nspace:\n  training.lr: { min: 0, max: 1, log: true }\n',
      'sweep.yaml:5:23: space.training.lr.min: a log-scale range needs min > 0',
    ],
    ['seed swept in space', 'base: b.yaml\nspace:\n  seed: [1, 2]\n', 'sweep.yaml:3:3: space.seed: not swept in space'],
    ['an empty list', 'base: b.yaml\nspace:\n  training.lr: []\n', 'sweep.yaml:3:16: space.training.lr:'],
    ['a duplicated seed', 'base: b.yaml\nseeds: [0, 0]\n', 'sweep.yaml:2:8: seeds:'],
    ['a bad task subset', 'base: b.yaml\ntasks: some\n', 'sweep.yaml:2:8: tasks:'],
    ['broken YAML', 'base: [b.yaml\n', 'sweep.yaml is not valid YAML:\n  - sweep.yaml:2:1:'],
  ];
  for (const [what, text, expected] of cases) {
    it(`${what}: a UsageError at its line`, () => expect(problems(text)).toContain(expected));
  }
});

describe('expansion', () => {
  it('grid: the cartesian product, last key fastest, then task subsets, then seeds', () => {
    const sweep = spec(
      'base: b.yaml\nspace:\n  training.lr: [1, 2]\n  strategy.name: [equal, pcgrad]\nseeds: [0, 5]\n',
    );
    const trials = expandTrials(sweep, ['a', 'b'], [0, 5]).map((t) => [Object.fromEntries(t.point), t.seed]);
    expect(trials).toEqual([
      [{ 'training.lr': 1, 'strategy.name': 'equal' }, 0],
      [{ 'training.lr': 1, 'strategy.name': 'equal' }, 5],
      [{ 'training.lr': 1, 'strategy.name': 'pcgrad' }, 0],
      [{ 'training.lr': 1, 'strategy.name': 'pcgrad' }, 5],
      [{ 'training.lr': 2, 'strategy.name': 'equal' }, 0],
      [{ 'training.lr': 2, 'strategy.name': 'equal' }, 5],
      [{ 'training.lr': 2, 'strategy.name': 'pcgrad' }, 0],
      [{ 'training.lr': 2, 'strategy.name': 'pcgrad' }, 5],
    ]);
    expect(expandTrials(sweep, ['a', 'b'], [0, 5]).map((t) => t.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('an empty space is one configuration: the base itself', () => {
    expect(expandTrials(spec('base: b.yaml\n'), ['a'], [3])).toEqual([
      { index: 0, point: [], tasks: undefined, seed: 3 },
    ]);
  });

  it('random: trials draws from createRng(seed), in key order; log, integer and list domains', () => {
    const sweep = spec(
      [
        'base: b.yaml',
        'search: random',
        'trials: 3',
        'seed: 7',
        'space:',
        '  training.lr: { min: 0.0001, max: 0.1, log: true }',
        '  training.batch_size: { min: 16, max: 20, integer: true }',
        '  strategy.name: [equal, pcgrad, mgda]',
        '',
      ].join('\n'),
    );
    const rng = createRng(7);
    const expected = [0, 1, 2].map(() => {
      const u = [rng.next(), rng.next(), rng.next()] as const;
      const lr = Number(Math.exp(Math.log(1e-4) + u[0] * (Math.log(0.1) - Math.log(1e-4))).toPrecision(6));
      return {
        'training.lr': lr,
        'training.batch_size': 16 + Math.floor(u[1] * 5),
        'strategy.name': ['equal', 'pcgrad', 'mgda'][Math.floor(u[2] * 3)],
      };
    });
    const trials = expandTrials(sweep, ['a'], [0]).map((t) => Object.fromEntries(t.point));
    expect(trials).toEqual(expected);
    for (const t of trials) {
      expect(t['training.lr']).toBeGreaterThanOrEqual(1e-4);
      expect(t['training.lr']).toBeLessThanOrEqual(0.1);
    }
    // The same file gives the same draws; another seed other draws.
    expect(expandTrials(sweep, ['a'], [0])).toEqual(expandTrials(sweep, ['a'], [0]));
    const other = spec(sweep.text.replace('seed: 7', 'seed: 8'));
    expect(expandTrials(other, ['a'], [0]).map((t) => t.point)).not.toEqual(
      expandTrials(sweep, ['a'], [0]).map((t) => t.point),
    );
  });

  it('task subsets: all, all-pairs, leave-one-out and lists (in the base order)', () => {
    const base = ['a', 'b', 'c'];
    expect(taskSubsets(spec('base: b.yaml\n'), base)).toEqual([undefined]);
    expect(taskSubsets(spec('base: b.yaml\ntasks: all-pairs\n'), base)).toEqual([
      ['a', 'b'],
      ['a', 'c'],
      ['b', 'c'],
    ]);
    expect(taskSubsets(spec('base: b.yaml\ntasks: leave-one-out\n'), base)).toEqual([
      ['b', 'c'],
      ['a', 'c'],
      ['a', 'b'],
    ]);
    expect(taskSubsets(spec('base: b.yaml\ntasks: [[c, a], [b]]\n'), base)).toEqual([['a', 'c'], ['b']]);
  });

  it('a subset naming a task the base lacks, and pairs of a one-task base: errors at the line', () => {
    const failure = (text: string, tasks: string[]): string => {
      try {
        taskSubsets(spec(text), tasks);
      } catch (error) {
        if (error instanceof UsageError) return error.format();
        throw error;
      }
      throw new Error('expected a UsageError');
    };
    expect(failure('base: b.yaml\ntasks:\n  - [a, x]\n', ['a', 'b'])).toBe(
      'sweep.yaml names tasks its base config lacks:\n' +
        '  - sweep.yaml:3:9: tasks[0][1]: "x" is no task of the base config; its tasks are a, b',
    );
    expect(failure('base: b.yaml\ntasks: all-pairs\n', ['a'])).toBe(
      'sweep.yaml:2:8: tasks: "all-pairs" needs a base config with at least two tasks; it has 1.',
    );
  });
});

describe('trial hash', () => {
  it('does not depend on key order, does on values and on the data file', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[1,{"e":3,"f":2}]},"b":1}',
    );
    const hash = trialHash({ a: 1, b: 2 }, undefined);
    expect(hash).toMatch(/^[0-9a-f]{12}$/);
    expect(trialHash({ b: 2, a: 1 }, undefined)).toBe(hash);
    expect(trialHash({ a: 1, b: 3 }, undefined)).not.toBe(hash);
    expect(trialHash({ a: 1, b: 2 }, 'ff')).not.toBe(hash);
  });
});

describe('shipped files', () => {
  const root = path.resolve(import.meta.dirname, '..');
  it('schema/sweep.schema.json is what scripts/write-schema.mjs writes', () => {
    const shipped = readFileSync(path.join(root, 'schema', 'sweep.schema.json'), 'utf8');
    expect(shipped).toBe(`${JSON.stringify(SWEEP_SCHEMA, null, 2)}\n`);
  });

  it('sweeps/quickstart-lr.yaml plans 12 trials; strings are written bare, as --set takes them', async () => {
    const plan = await planSweep(path.join(root, 'sweeps', 'quickstart-lr.yaml'));
    expect(plan.trials).toHaveLength(12);
    expect(plan.trials[2]!.overrides).toEqual(['training.lr=0.001', 'strategy.name=pcgrad']);
    expect(plan.trials[2]!.loaded.config.strategy.name).toBe('pcgrad');
    expect(plan.monitor).toEqual({ metric: 'mean/accuracy', higherIsBetter: true });
  });
});
