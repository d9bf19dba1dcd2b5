/**
 * Rows with missing labels (issue #17; data/labels.ts): which rows `mask` and `drop` keep, the label counts per task
 * and split (PreparedData, summary.json, the train output), metrics on the labelled rows only, row budgets
 * (`tasks[].max_train_rows`), and the single-task baseline's rows.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainWithBaselines } from '../src/api/baselines.js';
import { trainExperiment } from '../src/api/train.js';
import { evaluateEncoded } from '../src/train/evaluate-encoded.js';
import { buildModel } from '../src/api/build.js';
import { initBackend } from '../src/backend/select.js';
import { parseConfigText } from '../src/config/load.js';
import { prepareData, splitTable } from '../src/data/prepare.js';
import { computeMetrics } from '../src/metrics/registry.js';
import { readResolvedConfig } from '../src/runs/inputs.js';
import { mtl } from './helpers/cli.js';
import { writeSyntheticCsv } from './helpers/csv.js';
import { configProblems } from './helpers/expect.js';
import { tempDir, writeFile } from './helpers.js';

/**
 * 60 rows: x0, x1; y (regression, y = x0 + x1) missing ('' or NA) on every 3rd row; c (binary p/n by the sign of x0 −
 * x1) missing on every 4th row; row 11 (and 23, …: every 12th) has neither label.
 */
function writePartlyLabelled(dir: string): void {
  writeSyntheticCsv(dir, 'part.csv', {
    seed: 5,
    rows: 60,
    header: ['x0', 'x1', 'y', 'c'],
    digits: 4,
    row: (rng, r) => {
      const [a, b] = [rng.normal(), rng.normal()];
      const y = r % 3 === 2 ? (r % 2 === 0 ? '' : 'NA') : (a + b).toFixed(4);
      const c = r % 4 === 3 ? '' : a - b > 0 ? 'p' : 'n';
      return [a, b, y, c];
    },
  });
}

const configText = (extra = '', tasks = '') => `name: part
seed: 3
backend: wasm
data: { csv: part.csv, split: { train: 0.6, val: 0.2, test: 0.2 }${extra} }
tasks:
  - { name: y, type: regression${tasks} }
  - { name: c, type: binary, positive: p, metrics: [accuracy] }
model: { trunk: [{ type: dense, units: 4, activation: tanh }] }
training: { epochs: 2, batch_size: 8, lr: 0.01 }
`;

let dir: string;
beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
  dir = tempDir('mtl-labels-');
  writePartlyLabelled(dir);
}, 60_000);

const load = (extra = '', tasks = '') =>
  parseConfigText(configText(extra, tasks), { file: path.join(dir, 'exp.yaml') }).config;

describe('mask (the default) and drop', () => {
  it('mask keeps a row with one label (55 of 60: every 12th row has none); drop keeps both-labelled (30)', async () => {
    const masked = await splitTable(load(), dir);
    expect(load().data.missing_targets).toBe('mask');
    expect(masked.rows.length).toBe(55);
    const dropped = await splitTable(load(', missing_targets: drop, missing: drop'), dir);
    expect(dropped.rows.length).toBe(30);
    expect(dropped.labels).toBeUndefined();
    // Rows are 0-based table rows: 11 has neither label and is in no split; 2 lacks y only and is kept.
    const all = [...masked.split.train, ...masked.split.val, ...masked.split.test];
    expect(all).not.toContain(11);
    expect(all).toContain(2);
    expect(masked.labels?.['y']?.[2]).toBe(0);
    expect(masked.labels?.['c']?.[2]).toBe(1);
  });

  it('label counts per task and split are the rows with the label, as counted from the file', async () => {
    const config = load();
    const data = await prepareData(config, dir);
    const { split } = await splitTable(config, dir);
    const count = (rows: Int32Array, missing: (r: number) => boolean) => [...rows].filter((r) => !missing(r)).length;
    const yMissing = (r: number) => r % 3 === 2;
    const cMissing = (r: number) => r % 4 === 3;
    expect(data.labelCounts).toEqual({
      y: { train: count(split.train, yMissing), val: count(split.val, yMissing), test: count(split.test, yMissing) },
      c: { train: count(split.train, cMissing), val: count(split.val, cMissing), test: count(split.test, cMissing) },
    });
    expect(data.report.labels).toEqual(data.labelCounts);
    // A regression target's scale is fitted on its labelled training rows only: the placeholders are not values.
    expect(data.splits.train.labelled?.['y']?.reduce((n, v) => n + v, 0)).toBe(data.labelCounts['y']!.train);
  });

  it('metrics read only the labelled rows: the same values as computed by hand on them', async () => {
    const config = load();
    const data = await prepareData(config, dir);
    const model = buildModel(config, data.preprocessing);
    const test = data.splits.test;
    const { metrics, predictions } = evaluateEncoded(model, test, config.tasks, data.preprocessing, 64);
    for (const task of config.tasks) {
      const labelled = test.labelled?.[task.name];
      expect(labelled, task.name).toBeDefined();
      const rows = [...labelled!.keys()].filter((i) => labelled![i] === 1);
      const byHand = computeMetrics(task.metrics, {
        type: task.type === 'binary' ? 'binary' : 'regression',
        rows: rows.length,
        outputSize: 1,
        predictions: Float32Array.from(rows, (i) => predictions[task.name]![i]!),
        targets: Float32Array.from(rows, (i) => test.targets[task.name]![i]!),
      });
      for (const [name, value] of Object.entries(byHand)) expect(metrics[`${task.name}/${name}`], name).toBe(value);
    }
    model.dispose();
  });

  it('summary.json and the train output report the label counts; the run trains and is finite', async () => {
    const runsDir = tempDir('mtl-labels-runs-');
    const summary = await trainExperiment(parseConfigText(configText(), { file: path.join(dir, 'exp.yaml') }), {
      runsDir,
    });
    const stored = JSON.parse(readFileSync(path.join(summary.dir, 'summary.json'), 'utf8'));
    const data = await prepareData(load(), dir);
    expect(stored.labels).toEqual(data.labelCounts);
    expect(Number.isFinite(summary.test['y/loss'])).toBe(true);
    expect(Number.isFinite(summary.test['c/accuracy'])).toBe(true);
    writeFile(dir, 'exp.yaml', configText());
    const cli = mtl(['train', path.join(dir, 'exp.yaml'), '--runs-dir', runsDir]);
    expect(cli.code, cli.stderr).toBe(0);
    const { y, c } = data.labelCounts;
    const line = `labels (train · val · test): y ${y!.train}·${y!.val}·${y!.test}, c ${c!.train}·${c!.val}·${c!.test}`;
    // At the start (the data report) and with the result.
    expect(cli.stderr.split(line).length - 1, cli.stderr).toBe(2);
  }, 60_000);
});

describe('max_train_rows: a per-task row budget', () => {
  it('exactly N training rows keep the label; val and test untouched; same seed same rows', async () => {
    const full = await prepareData(load(), dir);
    const budget = await prepareData(load('', ', max_train_rows: 5'), dir);
    expect(budget.labelCounts['y']).toEqual({ ...full.labelCounts['y'], train: 5 });
    expect(budget.labelCounts['c']).toEqual(full.labelCounts['c']);
    const again = await splitTable(load('', ', max_train_rows: 5'), dir);
    const first = await splitTable(load('', ', max_train_rows: 5'), dir);
    expect([...again.labels!['y']!]).toEqual([...first.labels!['y']!]);
  });

  it('the rows chosen for a task do not depend on the other tasks (their budgets, their presence)', async () => {
    const chosen = async (text: string) => {
      const config = parseConfigText(text, { file: path.join(dir, 'exp.yaml') }).config;
      const { labels, split } = await splitTable(config, dir);
      return [...split.train].filter((r) => labels!['y']![r] === 1);
    };
    const both = await chosen(configText('', ', max_train_rows: 7'));
    const cBudget = await chosen(
      configText('', ', max_train_rows: 7').replace(
        'metrics: [accuracy] }',
        'metrics: [accuracy], max_train_rows: 3 }',
      ),
    );
    expect(cBudget).toEqual(both);
    expect(both).toHaveLength(7);
  });

  it('a budget with missing_targets: drop is a config error at the field', () => {
    const problems = configProblems(configText(', missing_targets: drop', ', max_train_rows: 5'));
    // (The CSV is not beside the config text's default location; that problem is reported too.)
    expect(problems).toContain(
      'exp.yaml:6:50: tasks[0].max_train_rows: a row budget masks the labels of the rows beyond it, and ' +
        'data.missing_targets is "drop"; set data.missing_targets to "mask" or remove max_train_rows',
    );
  });
});

describe('single-task baselines under masking', () => {
  it("the baseline of a task keeps its run's split and trains on the rows where the task is labelled", async () => {
    const runsDir = tempDir('mtl-labels-base-');
    const text = `${configText('', ', max_train_rows: 9')}baselines: single-task\n`;
    const result = await trainWithBaselines(parseConfigText(text, { file: path.join(dir, 'exp.yaml') }), { runsDir });
    const labels = result.summary.labels!;
    expect(labels['y']!.train).toBe(9);
    expect(result.subRuns.map((run) => run.labels)).toEqual([{ y: labels['y'] }, { c: labels['c'] }]);
    // The same rows, not only as many: the baseline's split replayed has the run's labelled rows of its task.
    const run = await splitTable(load('', ', max_train_rows: 9'), dir);
    const yRows = (s: Int32Array) => [...s].filter((r) => run.labels!['y']![r] === 1);
    const baseline = readResolvedConfig(result.subRuns[0]!.dir);
    const replayed = await splitTable(baseline, dir);
    expect([...replayed.split.train]).toEqual(yRows(run.split.train));
    expect([...replayed.split.test]).toEqual(yRows(run.split.test));
  }, 120_000);
});
