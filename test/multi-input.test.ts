/**
 * Multi-input MTL (issue #17; data/multi-input.ts, train/multi-input-batches.ts): tasks with their own data are
 * split and preprocessed per data group, a step holds one batch of each group with each task's labels only on its
 * own group's rows, and training on two groups lowers both losses.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainExperiment } from '../src/api/train.js';
import { initBackend } from '../src/backend/select.js';
import { parseConfigText } from '../src/config/load.js';
import { dataGroups } from '../src/data/data-groups.js';
import { prepareMultiInput } from '../src/data/multi-input.js';
import { multiInputOrder, multiInputPlan, proportionalShares } from '../src/train/multi-input-batches.js';
import { createRng } from '../src/util/rng.js';
import { configProblems } from './helpers/expect.js';
import { tempDir } from './helpers.js';
import { configText, writeSources } from './helpers/multi-input.js';

let dir: string;
beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
  dir = tempDir('mtl-multi-input-');
  writeSources(dir);
}, 60_000);

const load = (targetData?: string, extra?: string) =>
  parseConfigText(configText(targetData, extra), { file: path.join(dir, 'exp.yaml') });

/** Mean of column `column` of the rows [from, to) of a row-major matrix `width` wide. */
function columnMean(x: Float32Array, width: number, column: number, from: number, to: number): number {
  let sum = 0;
  for (let r = from; r < to; r++) sum += x[r * width + column]!;
  return sum / (to - from);
}

describe('data groups', () => {
  it('groups tasks by their source, each split and standardised on its own training rows', async () => {
    const config = load().config;
    expect(dataGroups(config).map((g) => [g.field, g.tasks.map((t) => t.name)])).toEqual([
      ['data', ['y']],
      ['tasks[1].data', ['z']],
    ]);
    const data = await prepareMultiInput(config, dir);
    // 40 rows at 0.6/0.2/0.2 → 24/8/8; 20 rows at 0.5/0.25/0.25 → 10/5/5.
    expect(data.groups?.map((g) => g.rows)).toEqual([
      { train: 24, val: 8, test: 8 },
      { train: 10, val: 5, test: 5 },
    ]);
    const train = data.splits.train;
    expect(train.rows).toBe(34);
    expect(data.splits.val.rows).toBe(13);
    // Standardisation fitted per group: each group's encoded training features have mean 0 on its own rows (one
    // fit over both sources would leave the target's rows near (5 − mean) / sd, far from 0).
    for (const column of [0, 1]) {
      expect(columnMean(train.x, 2, column, 0, 24)).toBeCloseTo(0, 5);
      expect(columnMean(train.x, 2, column, 24, 34)).toBeCloseTo(0, 5);
    }
    // Each task is labelled exactly on its own group's rows.
    expect([...train.labelled!['y']!]).toEqual([...new Array(24).fill(1), ...new Array(10).fill(0)]);
    expect([...train.labelled!['z']!]).toEqual([...new Array(24).fill(0), ...new Array(10).fill(1)]);
    expect(data.labelCounts).toEqual({ y: { train: 24, val: 8, test: 8 }, z: { train: 10, val: 5, test: 5 } });
    // The data report (mtl validate, mtl train): both sources' rows and every task's target.
    expect(data.report.source).toMatch(/source\.csv \+ .*target\.csv$/);
    expect([data.report.rows, data.report.splits]).toEqual([60, { train: 34, val: 13, test: 13 }]);
    expect(data.report.columns.filter((c) => c.use === 'target').map((c) => [c.name, c.task])).toEqual([
      ['y', 'y'],
      ['z', 'z'],
    ]);
  });

  it('refuses sources whose features encode differently, naming both layouts', async () => {
    const config = load('csv: wide.csv, features: [x0, x1, x2]').config;
    const message = await prepareMultiInput(config, dir).then(
      () => '',
      (error: unknown) => String(error),
    );
    expect(message).toMatch(
      /tasks\[1\]\.data \(.*wide\.csv\) encodes its features as \[x0, x1, x2\] \(input width 3\)/,
    );
    expect(message).toMatch(/but data \(.*source\.csv\) as \[x0, x1\] \(input width 2\)/);
    expect(message).toMatch(/same feature columns in the same order/);
    expect(message).toMatch(/or set training.multi_input: \{ adapters: true \} to learn a dense input adapter/);
  });
});

describe('data errors of a group', () => {
  it("a task's own CSV without its target column names the task's data field", async () => {
    const config = load('csv: wide.csv, features: [x0, x1]').config;
    const renamed = { ...config, tasks: config.tasks.map((t) => (t.name === 'z' ? { ...t, targets: ['w'] } : t)) };
    const message = await prepareMultiInput(renamed, dir).then(
      () => '',
      (error: unknown) => String(error),
    );
    expect(message).toMatch(/^UsageError: tasks\[1\]\.data\.csv \(the data of z\): .*column "w" is not in .*wide\.csv/);
  });
});

describe('batching: one batch of each group per step', () => {
  it('plans ceil(largest / batch_size) steps of 8 + 8 rows; each group its own rows, the smaller cycling', () => {
    const plan = multiInputPlan([24, 10], 8, undefined);
    expect(plan).toEqual({ groupRows: [24, 10], groupBatch: [8, 8], stepRows: 16, steps: 3 });
    expect(multiInputPlan([24, 10], 8, { sampling: 'each', epoch: { steps: 5 } }).steps).toBe(5);
    expect(multiInputPlan([24, 5], 8, undefined).groupBatch).toEqual([8, 5]);
    const order = multiInputOrder(plan, createRng(0));
    expect(order.length).toBe(48);
    const firstGroup: number[] = [];
    const secondGroup: number[] = [];
    for (let step = 0; step < 3; step++) {
      const rows = [...order.subarray(step * 16, step * 16 + 16)];
      firstGroup.push(...rows.slice(0, 8));
      secondGroup.push(...rows.slice(8));
      expect(rows.slice(0, 8).every((r) => r >= 0 && r < 24)).toBe(true);
      expect(rows.slice(8).every((r) => r >= 24 && r < 34)).toBe(true);
    }
    // The largest group is seen exactly once; the smaller one passes 2.4 times (24 draws of 10 rows).
    expect([...firstGroup].sort((a, b) => a - b)).toEqual([...Array(24).keys()]);
    expect(new Set(secondGroup).size).toBe(10);
    // Its first pass is a permutation of its 10 rows.
    expect([...secondGroup.slice(0, 10)].sort((a, b) => a - b)).toEqual([...Array(10).keys()].map((r) => r + 24));
    // Each step's batch of a group holds distinct rows, also the second step, which takes the last 2 rows of the
    // smaller group's first pass and 6 of its next.
    for (let step = 0; step < 3; step++) expect(new Set(secondGroup.slice(step * 8, step * 8 + 8)).size).toBe(8);
    // Same generator state, same order (what resume relies on).
    expect([...multiInputOrder(plan, createRng(0))]).toEqual([...order]);
  });
});

describe('batching: proportional sampling', () => {
  it('shares batch_size rows by largest remainder, at least 1 per group; an epoch shows the largest once', () => {
    // 8·24/34 = 5.65 and 8·10/34 = 2.35: floors 5 and 2, the row left to the larger remainder (0.65).
    expect(proportionalShares([24, 10], 8)).toEqual([6, 2]);
    // 32·1400/1540 = 29.09 and 32·140/1540 = 2.91: floors 29 and 2, the row left to 0.91.
    expect(proportionalShares([1400, 140], 32)).toEqual([29, 3]);
    // 8·1000/1001 = 7.99 and 0.008: [8, 0], then at least one row of every group.
    expect(proportionalShares([1000, 1], 8)).toEqual([8, 1]);
    const plan = multiInputPlan([24, 10], 8, { sampling: 'proportional', epoch: 'largest' });
    expect(plan).toEqual({ groupRows: [24, 10], groupBatch: [6, 2], stepRows: 8, steps: 4 });
    const order = multiInputOrder(plan, createRng(1));
    // Each group once per epoch here: 4 steps × 6 = 24 and 4 × 2 = 8 of 10.
    const first = [...order].filter((_, i) => i % 8 < 6);
    expect(first.sort((a, b) => a - b)).toEqual([...Array(24).keys()]);
  });

  it('a run with sampling: proportional trains and lowers both losses', async () => {
    const text = configText(undefined, '').replace(
      'training: { epochs: 5,',
      'training: { multi_input: { sampling: proportional }, epochs: 5,',
    );
    const loaded = parseConfigText(text, { file: path.join(dir, 'exp.yaml') });
    expect(loaded.config.training.multi_input).toEqual({ sampling: 'proportional', epoch: 'largest' });
    const summary = await trainExperiment(loaded, { runsDir: tempDir('mtl-multi-input-runs-') });
    expect(summary.status).toBe('completed');
    const train = readFileSync(path.join(summary.dir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { split: string; metrics: Record<string, number> })
      .filter((record) => record.split === 'train');
    for (const task of ['y', 'z']) {
      expect(train[4]!.metrics[`${task}/loss`]!).toBeLessThan(train[0]!.metrics[`${task}/loss`]!);
    }
  }, 60_000);
});

describe('training on two data groups', () => {
  it('runs, and both tasks’ training losses fall; val metrics per task on its own rows', async () => {
    const runsDir = tempDir('mtl-multi-input-runs-');
    const summary = await trainExperiment(load(), { runsDir });
    expect(summary.status).toBe('completed');
    const train = readFileSync(path.join(summary.dir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { split: string; metrics: Record<string, number> })
      .filter((record) => record.split === 'train');
    expect(train.length).toBe(5);
    const [first, last] = [train[0]!.metrics, train[4]!.metrics];
    for (const task of ['y', 'z']) {
      console.log(`multi-input train loss of ${task}, epoch 1 → 5: ${first[`${task}/loss`]} → ${last[`${task}/loss`]}`);
    }
    expect(last['y/loss']!).toBeLessThan(first['y/loss']!);
    expect(last['z/loss']!).toBeLessThan(first['z/loss']!);
    expect(Number.isFinite(summary.test['z/loss'])).toBe(true);
  }, 60_000);
});

describe('config errors', () => {
  it('a task data CSV that does not exist names the field and its line', () => {
    const problems = configProblems(configText('csv: nowhere.csv'), { displayName: 'exp.yaml' });
    expect(problems.join('\n')).toMatch(/exp\.yaml:7:\d+: tasks\[1\]\.data\.csv: file not found: .*nowhere\.csv/);
  });

  it("a row budget on a task whose own data drops rows missing labels names the task's data field", () => {
    // The task's own data drops rows missing a label; its row budget then cannot mask anything.
    const text = configText('csv: target.csv, missing_targets: drop').replace(
      'drop } }',
      'drop }, max_train_rows: 4 }',
    );
    expect(configProblems(text, { displayName: 'exp.yaml' })).toContainEqual(
      expect.stringMatching(
        /^exp\.yaml:7:\d+: tasks\[1\]\.max_train_rows: .*tasks\[1\]\.data\.missing_targets is "drop"; set tasks\[1\]/,
      ),
    );
  });

  it('refuses training.multi_input in a config whose tasks all read the top-level data', () => {
    const text = `data: { dataset: synthetic-correlated }
tasks:
  - { name: y1, type: regression }
training:
  multi_input: { epoch: { steps: 3 } }
`;
    expect(configProblems(text, { displayName: 'exp.yaml' })).toEqual([
      'exp.yaml:5:3: training.multi_input: applies only when tasks have their own data (tasks[].data), and none ' +
        'has; remove it',
    ]);
  });

  it("a task's own data listing a target among its features is refused as leakage, at its field", () => {
    const problems = configProblems(configText('csv: target.csv, features: [x0, y]'), { displayName: 'exp.yaml' });
    const leak = problems.find((line) => line.includes('tasks[1].data.features[1]')) ?? '';
    expect(leak).toMatch(/^exp\.yaml:7:\d+: tasks\[1\]\.data\.features\[1\]: column "y" is the target of task "y"/);
    expect(leak).toMatch(/Remove it from tasks\[1\]\.data\.features\.$/);
  });
});
