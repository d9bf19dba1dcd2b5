/**
 * Sub-runs of multi-input configs (issue #17; api/row-pinning.ts `subsetData`): single-task baselines, pair runs and
 * sweep task subsets keep each kept task's own data, pinned to its own source's rows and features (a source's pinning
 * names only its own group's targets: another source's targets are not in its file); `init:` works from and into a
 * multi-input run by parameter path. Base: a and b read two.csv (the top-level data), c reads target.csv.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { planSweep } from '../src/api/sweep.js';
import { initBackend } from '../src/backend/select.js';
import { parseConfigText } from '../src/config/load.js';
import { prepareConfigData } from '../src/data/multi-input.js';
import { readMeta, readResolvedConfig, readSummary, trainExperiment, trainWithBaselines } from '../src/index.js';
import { tempDir } from './helpers.js';
import { writeSyntheticCsv } from './helpers/csv.js';
import { writeSources } from './helpers/multi-input.js';

let dir: string;
beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
  dir = tempDir('mtl-multi-subruns-');
  writeSources(dir);
  writeSyntheticCsv(dir, 'two.csv', {
    seed: 5,
    rows: 40,
    header: ['x0', 'x1', 'ya', 'yb'],
    row: (rng) => {
      const [p, q] = [rng.normal(), rng.normal()];
      return [p, q, p + q, p - q];
    },
  });
  writeFileSync(path.join(dir, 'base.yaml'), base());
}, 60_000);

const base = (extra = '') => `name: three
seed: 4
backend: wasm
data: { csv: two.csv, split: { train: 0.6, val: 0.2, test: 0.2 } }
tasks:
  - { name: a, type: regression, target: ya }
  - { name: b, type: regression, target: yb }
  - { name: c, type: regression, target: z, data: { csv: target.csv, split: { train: 0.5, val: 0.25, test: 0.25 } } }
model: { trunk: [{ type: dense, units: 8, activation: tanh }] }
training: { epochs: 3, batch_size: 8, lr: 0.03 }
${extra}`;
const load = (text: string) => parseConfigText(text, { file: path.join(dir, 'base.yaml') });

describe('single-task baselines and pair runs of a multi-input run', () => {
  it("train each task on its own data: the run's rows and label counts per task", async () => {
    const runsDir = path.join(dir, 'runs-baselines');
    const { summary, subRuns, transfer } = await trainWithBaselines(
      load(base('baselines: single-task\nanalysis: { pairs: true }\n')),
      { runsDir },
    );
    expect(subRuns.map((run) => run.id.slice(summary.id.length + 1))).toEqual([
      'baselines/a',
      'baselines/b',
      'baselines/c',
      'pairs/a+b',
      'pairs/a+c',
      'pairs/b+c',
    ]);
    const labels = readSummary(summary.dir, summary.id).labels ?? {};
    expect(labels['a']).toEqual({ train: 24, val: 8, test: 8 });
    expect(labels['c']).toEqual({ train: 10, val: 5, test: 5 });
    for (const sub of subRuns) {
      const own = readSummary(sub.dir, sub.id).labels ?? {};
      for (const [task, counts] of Object.entries(own)) expect(counts, `${sub.id} ${task}`).toEqual(labels[task]);
    }
    const c = readResolvedConfig(path.join(summary.dir, 'baselines', 'c'));
    expect(c.tasks[0]?.data?.csv).toBe('target.csv');
    expect(c.tasks[0]?.data?.features).toEqual(['x0', 'x1']);
    const a = readResolvedConfig(path.join(summary.dir, 'baselines', 'a'));
    // a's source pinned on b's target only (c's target z is not in two.csv).
    expect([a.data.features, a.data.row_label_columns]).toEqual([['x0', 'x1'], ['yb']]);
    const ac = readResolvedConfig(path.join(summary.dir, 'pairs', 'a+c'));
    expect([ac.data.row_label_columns, ac.tasks[1]?.data?.csv]).toEqual([['yb'], 'target.csv']);
    expect(transfer?.tasks.map((t) => t.task)).toEqual(['a', 'b', 'c']);
  }, 120_000);
});

describe('sweeps with task subsets of a multi-input config', () => {
  it('keep each kept task’s own data, pinned like its source, and read the base’s rows per task', async () => {
    const file = path.join(dir, 'pairs.yaml');
    writeFileSync(file, 'base: base.yaml\ntasks: all-pairs\n');
    const plan = await planSweep(file);
    const configs = plan.trials.map((t) => t.loaded.config);
    expect(configs.map((c) => c.tasks.map((t) => `${t.name}:${t.data?.csv ?? 'data'}`))).toEqual([
      ['a:data', 'b:data'],
      ['a:data', 'c:target.csv'],
      ['b:data', 'c:target.csv'],
    ]);
    expect(configs.map((c) => c.data.row_label_columns)).toEqual([undefined, ['yb'], ['ya']]);
    expect(configs[1]?.tasks[1]?.data?.features).toEqual(['x0', 'x1']);
    const whole = await prepareConfigData(load(base()).config, dir);
    const pair = await prepareConfigData(configs[1]!, dir);
    expect(pair.labelCounts).toEqual({ a: whole.labelCounts['a'], c: whole.labelCounts['c'] });
  }, 60_000);
});

describe('init: from and into a multi-input run', () => {
  it('loads the trunk by parameter path both ways and records the lineage', async () => {
    const runsDir = path.join(dir, 'runs-init');
    const multi = await trainExperiment(load(base()), { runsDir });
    const single = base().replace(/\n {2}- \{ name: c.*\n/, '\n');
    const into = await trainExperiment(load(`${single}init: { from: ${multi.id}, load: [shared, a] }\n`), { runsDir });
    expect(into.status).toBe('completed');
    expect(readMeta(into.dir).lineage?.loaded).toEqual(['shared/0/kernel', 'shared/0/bias', ...headOf('a')]);
    const back = await trainExperiment(load(base(`init: { from: ${into.id}, load: [shared, b] }\n`)), { runsDir });
    expect(back.status).toBe('completed');
    expect(readMeta(back.dir).lineage?.sourceId).toBe(into.id);
    expect(readMeta(back.dir).lineage?.loaded).toEqual(['shared/0/kernel', 'shared/0/bias', ...headOf('b')]);
  }, 60_000);
});

function headOf(task: string): string[] {
  return [`tasks/${task}/output/kernel`, `tasks/${task}/output/bias`];
}
