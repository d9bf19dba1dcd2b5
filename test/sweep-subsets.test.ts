/**
 * Task-subset sweeps and trial identity (api/sweep.ts, api/sweep-configs.ts): each subset's config keeps only its
 * tasks, with the base's inputs pinned and the other tasks' targets required (so it reads the base's rows); one task
 * trains under `equal`; a trial's hash follows its resolved config and the CSV's bytes; `failFast` stops at the first
 * failed or diverged trial, the default goes on.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planSweep, runSweep } from '../src/api/sweep.js';
import { tempDir } from './helpers.js';
import { writeLinearRegressionCsv } from './helpers/csv.js';
import { groupConfig } from './helpers/groups.js';

function csvSweep(tasks: string, strategy = 'pcgrad'): { file: string; csv: string } {
  const dir = tempDir('mtl-sweep-subsets-');
  const csv = writeLinearRegressionCsv(dir, 'data.csv', {
    seed: 3,
    rows: 80,
    features: 2,
    targets: [
      { weights: [1, 0], noise: 0.1 },
      { weights: [0, 1], noise: 0.1 },
      { weights: [1, 1], noise: 0.1 },
    ],
  });
  writeFileSync(
    path.join(dir, 'base.yaml'),
    [
      'name: three',
      'seed: 4',
      'backend: wasm',
      'data: { csv: data.csv }',
      'tasks:',
      '  - { name: a, type: regression, target: y1 }',
      '  - { name: b, type: regression, target: y2 }',
      '  - { name: c, type: regression, target: y3 }',
      'model:',
      '  trunk: [{ type: dense, units: 4, activation: relu }]',
      'training: { epochs: 2, batch_size: 32, early_stopping: { metric: c/mse } }',
      `strategy: { name: ${strategy} }`,
      '',
    ].join('\n'),
  );
  const file = path.join(dir, 'subsets.yaml');
  writeFileSync(file, `base: base.yaml\ntasks: ${tasks}\n`);
  return { file, csv };
}

describe('task subsets', () => {
  it('all-pairs: each pair keeps its tasks, the base inputs and rows, and the strategy', async () => {
    const { file } = csvSweep('all-pairs');
    const plan = await planSweep(file);
    expect(plan.trials.map((t) => t.tasks)).toEqual([
      ['a', 'b'],
      ['a', 'c'],
      ['b', 'c'],
    ]);
    const configs = plan.trials.map((t) => t.loaded.config);
    expect(configs.map((c) => c.tasks.map((task) => task.name))).toEqual([
      ['a', 'b'],
      ['a', 'c'],
      ['b', 'c'],
    ]);
    for (const config of configs) expect(config.data.features).toEqual(['x0', 'x1']);
    // Under missing_targets: mask (the default) the left-out targets keep the rows they label (api/row-pinning.ts).
    expect(configs.map((c) => c.data.row_label_columns)).toEqual([['y3'], ['y2'], ['y1']]);
    expect(configs.map((c) => c.data.required_columns)).toEqual([undefined, undefined, undefined]);
    expect(configs.map((c) => c.strategy.name)).toEqual(['pcgrad', 'pcgrad', 'pcgrad']);
    // The base stops on c/mse: a pair without c stops on the loss.
    expect(configs.map((c) => c.training.early_stopping.metric)).toEqual(['loss', 'c/mse', 'c/mse']);
    expect(configs.map((c) => c.seed)).toEqual([4, 4, 4]);
  });

  it('leave-one-out of a two-task base: one task each, under equal, trained on the base rows', async () => {
    const dir = tempDir('mtl-sweep-loo-');
    writeFileSync(path.join(dir, 'base.yaml'), groupConfig({ extra: 'strategy: { name: pcgrad }' }));
    const file = path.join(dir, 'loo.yaml');
    writeFileSync(file, 'base: base.yaml\ntasks: leave-one-out\nseeds: [1]\n');
    const plan = await planSweep(file);
    expect(plan.trials.map((t) => [t.tasks, t.loaded.config.strategy.name, t.seed])).toEqual([
      [['y2'], 'equal', 1],
      [['y1'], 'equal', 1],
    ]);
    const store = tempDir();
    const result = await runSweep(plan, { runsDir: store });
    expect(result.outcomes.map((o) => o.status)).toEqual(['completed', 'completed']);
  });
});

describe('trial identity', () => {
  it('the same files give the same ids; another CSV byte gives other hashes', async () => {
    const { file, csv } = csvSweep('[[a, b], [c]]');
    const first = await planSweep(file);
    const again = await planSweep(file);
    expect(again.id).toBe(first.id);
    expect(again.trials.map((t) => t.id)).toEqual(first.trials.map((t) => t.id));
    appendFileSync(csv, '0.1,0.2,0.3,0.4,0.5\n');
    const changed = await planSweep(file);
    expect(changed.id).toBe(first.id); // the sweep file is the same
    for (const [i, trial] of changed.trials.entries()) expect(trial.hash).not.toBe(first.trials[i]!.hash);
  });
});

describe('failing trials', () => {
  const diverging = (): string => {
    const dir = tempDir('mtl-sweep-fail-');
    writeFileSync(path.join(dir, 'base.yaml'), groupConfig());
    const file = path.join(dir, 'div.yaml');
    writeFileSync(file, 'base: base.yaml\nspace:\n  training.lr: [1000000, 0.001]\n');
    return file;
  };

  it('failFast stops after a diverged trial; the default trains the others', async () => {
    const file = diverging();
    const plan = await planSweep(file);
    const fast = await runSweep(plan, { runsDir: tempDir(), failFast: true });
    expect(fast.stoppedEarly).toBe(true);
    expect(fast.outcomes.map((o) => `${o.action} ${o.status}`)).toEqual(['trained diverged']);
    const going = await runSweep(plan, { runsDir: tempDir() });
    expect(going.stoppedEarly).toBe(false);
    expect(going.outcomes.map((o) => `${o.action} ${o.status}`)).toEqual(['trained diverged', 'trained completed']);
  });
});
