/**
 * Multi-input runs (issue #17) store each data group's feature encoding (preprocessing.json `groups`) and CSV
 * fingerprint (data-groups.json), so `mtl eval` (each task on its own split of its own data; `--data TASK=FILE`),
 * `mtl features`, `mtl compare` and `mtl runs` work on them. Single-source runs store and read exactly as before.
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/select.js';
import { parseConfigText } from '../src/config/load.js';
import { compareRuns, evaluateRun, extractFeatures, readSummary, trainExperiment, validateData } from '../src/index.js';
import { dataReportLines } from '../src/cli/data-report.js';
import { tempDir } from './helpers.js';
import { mtl, mtlInProcess } from './helpers/cli.js';
import { configText, writeSources } from './helpers/multi-input.js';
import { snapshotRun } from './helpers/run-snapshot.js';

let dir: string;
let runsDir: string;
let run: { id: string; dir: string };
beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
  dir = tempDir('mtl-multi-eval-');
  runsDir = path.join(dir, 'runs');
  writeSources(dir);
  run = await trainExperiment(load(configText()), { runsDir });
}, 60_000);

const load = (text: string) => parseConfigText(text, { file: path.join(dir, 'exp.yaml') });

describe('mtl eval of a multi-input run', () => {
  it("on the val split gives the training run's final val metrics bit for bit, each task on its own rows", async () => {
    const result = await evaluateRun(run.id, { runsDir, split: 'val', checkpoint: 'best' });
    const summary = readSummary(run.dir, run.id);
    expect(result.metrics).toEqual(summary.val);
    // 40 · 0.2 rows of source.csv (y) and 20 · 0.25 of target.csv (z).
    expect(result.rows).toBe(8 + 5);
  }, 30_000);

  it('--data z=target.csv reads the file with z’s own encoding; y gets no metric', async () => {
    const result = await evaluateRun(run.id, { runsDir, dataFiles: [`z=${path.join(dir, 'target.csv')}`] });
    expect(result.rows).toBe(20);
    expect(Object.keys(result.metrics).filter((k) => k.startsWith('y/'))).toEqual([]);
    expect(result.metrics['z/mse']).toBeGreaterThan(0);
    const both = await evaluateRun(run.id, {
      runsDir,
      dataFiles: [`y=${dir}/source.csv`, `z=${dir}/target.csv`],
    });
    expect(both.rows).toBe(60);
    expect(Object.keys(both.metrics)).toEqual(expect.arrayContaining(['y/mse', 'z/mse']));
  }, 30_000);

  it('a plain --data FILE with several sources, or two files for one source: exit 2, run untouched', async () => {
    const before = snapshotRun(run.dir);
    const plain = mtl(['eval', run.id, '--runs-dir', runsDir, '--data', path.join(dir, 'target.csv')]);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain(`run ${run.id} has 2 data sources (tasks with their own data); say which task`);
    expect(plain.stderr).toContain('tasks[1].data (2 features): z');
    expect(plain.stderr).not.toMatch(/\n\s+at /);
    const twice = await mtlInProcess([
      'features',
      run.id,
      '--runs-dir',
      runsDir,
      '--data',
      `z=${path.join(dir, 'target.csv')}`,
      '--data',
      `z=${path.join(dir, 'wide.csv')}`,
    ]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain(
      `tasks[1].data (the data of z) was given ${path.join(dir, 'target.csv')} already (by --data z=…); one file`,
    );
    expect(twice.stderr).not.toMatch(/\n\s+at /);
    expect(snapshotRun(run.dir)).toEqual(before);
  }, 30_000);

  it('a run of the first multi-input version (no per-group encoding): exit 2 naming why, untouched', async () => {
    const oldRuns = tempDir('mtl-multi-eval-old-');
    const copy = path.join(oldRuns, path.basename(run.dir));
    cpSync(run.dir, copy, { recursive: true });
    const file = path.join(copy, 'preprocessing.json');
    const { groups: _groups, ...firstVersion } = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, `${JSON.stringify(firstVersion, null, 2)}\n`);
    const before = snapshotRun(copy);
    const result = await mtlInProcess(['eval', run.id, '--runs-dir', oldRuns]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `Run ${run.id} has tasks with their own data but its preprocessing.json stores no encoding per data group`,
    );
    expect(snapshotRun(copy)).toEqual(before);
  });
});

describe('mtl features of a multi-input run', () => {
  it("writes every group's rows, each with its own encoding, targets of the other group empty", async () => {
    const all = await extractFeatures(run.id, { runsDir, withTargets: true });
    expect(all.rows.length).toBe(60);
    expect(all.header.slice(-2)).toEqual(['y', 'z']);
    // Group order: source.csv's 40 rows (y set, z empty), then target.csv's 20 (y empty).
    expect(all.rows.slice(0, 40).every((row) => row.at(-1) === '' && row.at(-2) !== '')).toBe(true);
    expect(all.rows.slice(40).every((row) => row.at(-2) === '' && row.at(-1) !== '')).toBe(true);
    // The same rows from the file, read with z's group encoding, give the same representation.
    const file = await extractFeatures(run.id, { runsDir, dataFiles: [`z=${path.join(dir, 'target.csv')}`] });
    expect(file.rows).toEqual(all.rows.slice(40).map((row) => row.slice(0, -2)));
  }, 30_000);

  it("leaves another task's target empty also where a source has a column of that name", async () => {
    // source.csv again, with a column named z (another quantity: not task z's label, which is target.csv's).
    const rows = readFileSync(path.join(dir, 'source.csv'), 'utf8').trimEnd().split('\n');
    const withZ = rows.map((line, i) => `${line},${i === 0 ? 'z' : 1000 + i}`).join('\n');
    writeFileSync(path.join(dir, 'source-z.csv'), `${withZ}\n`);
    const text = configText().replace('csv: source.csv,', 'csv: source-z.csv, features: [x0, x1],');
    // The data report names the source of that unused column: "z" is also a target (task z's, in target.csv).
    const lines = dataReportLines(await validateData(load(text)));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}unused \(1\): z \(numeric, in \S*source-z\.csv\)$/));
    const trained = await trainExperiment(load(text), { runsDir });
    const all = await extractFeatures(trained.id, { runsDir, withTargets: true });
    expect(all.header.slice(-2)).toEqual(['y', 'z']);
    expect(all.rows.slice(0, 40).map((row) => row.at(-1))).toEqual(Array(40).fill(''));
    expect(all.rows.slice(40).every((row) => row.at(-2) === '' && row.at(-1) !== '')).toBe(true);
  }, 30_000);
});

describe('stored files', () => {
  it('a multi-input run stores each group: preprocessing.json groups and data-groups.json with sha256', () => {
    const preprocessing = JSON.parse(readFileSync(path.join(run.dir, 'preprocessing.json'), 'utf8'));
    expect(preprocessing.groups.map((g: { field: string; tasks: string[] }) => [g.field, g.tasks])).toEqual([
      ['data', ['y']],
      ['tasks[1].data', ['z']],
    ]);
    // Each group standardised on its own training rows: target.csv's x0 has mean ≈ 5, source.csv's ≈ 0.
    expect(Math.abs(preprocessing.groups[1].features[0].center - 5)).toBeLessThan(2);
    expect(Math.abs(preprocessing.groups[0].features[0].center)).toBeLessThan(1);
    const groups = JSON.parse(readFileSync(path.join(run.dir, 'data-groups.json'), 'utf8')).groups;
    expect(groups[1].tasks).toEqual(['z']);
    expect(groups[1].source.file).toBe(path.join(dir, 'target.csv'));
    expect(groups[1].source.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a single-source run stores exactly what it stored before: no groups, no data-groups.json', async () => {
    const single = await trainExperiment(
      load(
        configText()
          .replace(/, data: \{ csv: target.csv[^}]*\} \}/, '')
          .replace('name: z', 'name: x1'),
      ),
      { runsDir: path.join(dir, 'runs-single') },
    );
    const preprocessing = JSON.parse(readFileSync(path.join(single.dir, 'preprocessing.json'), 'utf8'));
    expect(Object.keys(preprocessing)).toEqual(['features', 'tasks', 'inputSize', 'missing']);
    expect(existsSync(path.join(single.dir, 'data-groups.json'))).toBe(false);
    const result = await evaluateRun(single.id, { runsDir: path.join(dir, 'runs-single'), split: 'val' });
    expect(result.metrics).toEqual(readSummary(single.dir, single.id).val);
    const twice = await mtlInProcess([
      'eval',
      single.id,
      '--runs-dir',
      path.join(dir, 'runs-single'),
      '--data',
      'a.csv',
      '--data',
      'b.csv',
    ]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain(`--data is given 2 times; run ${single.id} reads one data source.`);
  }, 30_000);
});

describe('mtl compare and mtl runs', () => {
  it("compare names the task whose data differs; runs' data column shows every group", async () => {
    writeFileSync(
      path.join(dir, 'target2.csv'),
      readFileSync(path.join(dir, 'target.csv'), 'utf8').replace(/\n$/, '\n1,2,3\n'),
    );
    const other = await trainExperiment(
      load(configText('csv: target2.csv, split: { train: 0.5, val: 0.25, test: 0.25 }')),
      { runsDir },
    );
    const comparison = await compareRuns([run.id, other.id], { runsDir });
    expect(comparison.warnings.join('\n')).toContain(
      `task z: CSV ${path.join(dir, 'target.csv')} → CSV ${path.join(dir, 'target2.csv')}, other contents`,
    );
    expect(comparison.warnings.join('\n')).not.toContain('task y');
    const listing = await mtlInProcess(['runs', '--runs-dir', runsDir]);
    expect(listing.code).toBe(0);
    expect(listing.stdout).toContain(`${path.join(dir, 'source.csv')}+${path.join(dir, 'target.csv')}`);
  }, 60_000);
});

describe("a source's file holding other rows since training", () => {
  it('mtl eval and mtl features of the run: exit 2 naming the file, run untouched', async () => {
    const file = path.join(dir, 'target.csv');
    const trained = readFileSync(file, 'utf8');
    const before = snapshotRun(run.dir);
    try {
      writeFileSync(file, trained.split('\n').slice(0, 16).join('\n'));
      for (const command of ['eval', 'features']) {
        const result = await mtlInProcess([command, run.id, '--runs-dir', runsDir]);
        expect(result.code, result.stderr).toBe(2);
        expect(result.stderr).toContain(`Run ${run.id}: ${file} has changed since training (`);
        expect(result.stderr).toContain('--data TASK=FILE instead');
        expect(result.stderr).not.toMatch(/\n\s+at /);
      }
      expect(snapshotRun(run.dir)).toEqual(before);
    } finally {
      writeFileSync(file, trained);
    }
  }, 30_000);
});

describe("a source's file changed since training", () => {
  it('mtl eval of the run: exit 2 naming the source and both feature lists, run untouched', async () => {
    const file = path.join(dir, 'target.csv');
    const trained = readFileSync(file, 'utf8');
    try {
      writeFileSync(file, trained.replace('x0,x1,z', 'x0,x9,z'));
      const before = snapshotRun(run.dir);
      const result = await mtlInProcess(['eval', run.id, '--runs-dir', runsDir, '--split', 'val']);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`Run ${run.id}: the data of tasks[1].data in `);
      expect(result.stderr).toContain('features at training: x0, x1');
      expect(result.stderr).toContain('features now: x0, x9');
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(snapshotRun(run.dir)).toEqual(before);
    } finally {
      writeFileSync(file, trained);
    }
  }, 30_000);
});
