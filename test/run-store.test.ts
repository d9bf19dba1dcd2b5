/**
 * The run directory and its one owner, src/runs/: finding a run by id, prefix or path; reading every file back with
 * checks (a damaged or newer-format run is a clear exit-2 error, never a stack trace); checkpoints in the TF.js
 * weights format, byte for byte; `mtl eval` rebuilding training's split.
 */
import { readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../src/api/build.js';
import { compareRuns } from '../src/api/compare.js';
import { evaluateRun } from '../src/api/evaluate.js';
import { trainExperiment } from '../src/api/train.js';
import { initBackend } from '../src/backend/select.js';
import { loadConfig } from '../src/config/load.js';
import { UsageError } from '../src/errors.js';
import { checkpointVariables } from '../src/model/checkpoint.js';
import { loadCheckpointInto, saveCheckpoint } from '../src/runs/checkpoint.js';
import { readEvaluations } from '../src/runs/evals.js';
import { readResolvedConfig } from '../src/runs/inputs.js';
import { readPreprocessing } from '../src/runs/preprocessing-file.js';
import { checkpointDir } from '../src/runs/layout.js';
import { readEpochLog, readMetricRows } from '../src/runs/logs.js';
import { readMeta, RUN_FORMAT } from '../src/runs/meta.js';
import { resolveRun } from '../src/runs/store.js';
import { readSummary } from '../src/runs/summary.js';
import type { RunSummary } from '../src/runs/summary.js';
import { tempDir, writeFile } from './helpers.js';
import { mtl, mtlInProcess } from './helpers/cli.js';
import { fakeRun } from './helpers/runs.js';

const A1 = '20260101-000000-alpha-aaaaaa';
const A2 = '20260101-000000-alpha-bbbbbb';
const B = '20260102-000000-beta-cccccc';
const metrics = { 'a/accuracy': 0.8, 'b/mse': 0.5, 'mean/loss': 0.4 };

function threeRuns(): string {
  const store = tempDir();
  for (const id of [A1, A2, B]) fakeRun(store, id, { test: metrics });
  return store;
}

const noStack = /\n\s+at /;

describe('finding a run', () => {
  it('by full id, unique prefix or path', () => {
    const store = threeRuns();
    expect(resolveRun(A2, store)).toEqual({ id: A2, dir: path.join(store, A2) });
    expect(resolveRun('20260102', store)).toEqual({ id: B, dir: path.join(store, B) });
    expect(resolveRun('20260101-000000-alpha-b', store).id).toBe(A2);
    // A path to the run's folder works from anywhere, whatever the store.
    expect(resolveRun(path.join(store, A1), tempDir())).toEqual({ id: A1, dir: path.join(store, A1) });
    expect(resolveRun(path.relative(process.cwd(), path.join(store, B)), tempDir()).id).toBe(B);
  });

  it('refuses an ambiguous prefix with the candidates, and an unknown run (exit 2)', async () => {
    const store = threeRuns();
    let error: unknown;
    try {
      resolveRun('20260101', store);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect(error).toMatchObject({ details: [A1, A2, 'give more characters of the id'] });

    const ambiguous = mtl(['compare', '20260101', '--runs-dir', store]);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toBe(
      `mtl: Run "20260101" is ambiguous in ${store}; it matches:\n  - ${A1}\n  - ${A2}\n  - give more characters of ` +
        `the id\n`,
    );
    const unknown = await mtlInProcess(['eval', '2027', '--runs-dir', store]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^mtl: No run "2027" in .*; `mtl runs` lists them\.\n$/);
  });
});

describe('reading a run with checks', () => {
  it('reads a run written before meta.json had a format as format 1', () => {
    const store = tempDir();
    fakeRun(store, A1, { meta: { format: undefined } });
    expect(readFileSync(path.join(store, A1, 'meta.json'), 'utf8')).not.toContain('format');
    expect(readMeta(path.join(store, A1))).toMatchObject({ format: 1, id: A1, status: 'completed' });
  });

  it('refuses a run written by a newer format (exit 2), naming both versions', async () => {
    const store = threeRuns();
    fakeRun(store, B, {
      test: metrics,
      meta: { format: RUN_FORMAT + 1, versions: { mtl: '9.0.0', node: 'v22', tfjs: '4' } },
    });
    expect(() => readMeta(path.join(store, B))).toThrow(
      new RegExp(
        `^Run ${B} was written by mtl format ${RUN_FORMAT + 1} \\(mtl 9\\.0\\.0\\), newer than this mtl \\(format ` +
          `${RUN_FORMAT}, mtl [^)]+\\); upgrade mtl to read it\\.$`,
      ),
    );
    const cli = await mtlInProcess(['compare', A1, B, '--runs-dir', store]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/written by mtl format 2 .*upgrade mtl/);
    expect(cli.stderr).not.toMatch(noStack);
  });

  it('says which file and field is damaged (exit 2, no stack trace)', async () => {
    const store = threeRuns();
    writeFileSync(path.join(store, A2, 'meta.json'), '{"id": "x", "format": 1');
    const broken = await mtlInProcess(['compare', A1, A2, '--runs-dir', store]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain(`mtl: ${path.join(store, A2, 'meta.json')} is not valid JSON (`);
    expect(broken.stderr).not.toMatch(noStack);

    fakeRun(store, A2, { test: metrics, meta: { status: 42 } });
    // The listing goes on past it (test/runs-listing-damaged.test.ts); the note names the file and the field.
    const wrongType = await mtlInProcess(['runs', '--runs-dir', store]);
    expect(wrongType.code).toBe(0);
    expect(wrongType.stderr).toContain(
      `note: ${A2} is damaged, listed without its details: ${path.join(store, A2, 'meta.json')}: status should be ` +
        'one of running, completed, failed, interrupted, diverged, but it is number 42.',
    );
    expect(wrongType.stderr).not.toMatch(noStack);

    fakeRun(store, A2, { test: { 'a/accuracy': '0.9' } });
    await expect(compareRuns([A1, A2], { runsDir: store })).rejects.toThrow(
      `${path.join(store, A2, 'summary.json')}: test.a/accuracy should be a number or null, but it is the text "0.9".`,
    );
  });
});

describe('mtl compare refuses what it cannot compare (exit 2)', () => {
  it('a baseline without a summary or a best checkpoint, naming it; as another run, a blank column', async () => {
    const store = threeRuns();
    const running = '20260103-000000-gamma-dddddd';
    // No summary.json, no checkpoint; its old heartbeat makes it crashed.
    fakeRun(store, running, { meta: { status: 'running' } });
    const result = await mtlInProcess(['compare', running, A1, '--runs-dir', store]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `mtl: Run ${running} has no summary and no best checkpoint (status: crashed; ` +
        `${path.join(store, running, 'summary.json')} is missing): it stopped before its first epoch ended`,
    );
    expect(result.stderr).not.toMatch(noStack);
    const other = await mtlInProcess(['compare', A1, running, '--runs-dir', store]);
    expect(other.code, other.stderr).toBe(0);
    expect(other.stderr).toContain(`warning: ${running} has neither a summary nor a best checkpoint`);
    expect(other.stdout).toContain(`${running} (no summary, no checkpoint; run crashed)`);
  });

  it('an unknown metric, with a suggestion and the metrics the runs report', async () => {
    const result = await mtlInProcess(['compare', A1, B, '--runs-dir', threeRuns(), '--metric', 'acuracy']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'mtl: No metric "acuracy" in these runs; did you mean "accuracy"?\n  - they report: accuracy, loss, mse\n',
    );
  });
});

describe('a trained run through the readers, and mtl eval on the same rows', () => {
  let dir: string;
  let configFile: string;
  let summary: RunSummary;

  beforeAll(async () => {
    await initBackend('wasm', { fma: 'off' });
    dir = tempDir();
    // Blank cells in x2 are dropped (data.missing: drop), so the split is over the usable rows only: eval must
    // rebuild that, not a split over all rows.
    const rows = Array.from({ length: 160 }, (_, i) => {
      const x1 = ((i * 37) % 23) / 7;
      const x2 = i % 9 === 0 ? '' : String(((i * 11) % 17) / 5);
      return `${x1},${x2},${(x1 * 2 + Number(x2 || 0)).toFixed(3)},${i % 3 === 0 ? 'yes' : 'no'}`;
    });
    writeFile(dir, 'd.csv', `x1,x2,y,flag\n${rows.join('\n')}\n`);
    configFile = writeFile(
      dir,
      'exp.yaml',
      `name: csv-run
seed: 3
backend: wasm
data: { csv: d.csv, missing: drop, split: { train: 0.6, val: 0.2, test: 0.2 } }
tasks:
  - { name: y, type: regression, target: y }
  - { name: flag, type: binary, target: flag }
model: { trunk: [{ type: dense, units: 8, activation: relu }] }
training: { epochs: 3, batch_size: 16 }
`,
    );
    summary = await trainExperiment(loadConfig(configFile), { runsDir: path.join(dir, 'runs') });
  });

  it('reads back every file as written', () => {
    const meta = readMeta(summary.dir);
    expect(meta).toMatchObject({
      format: RUN_FORMAT,
      id: summary.id,
      status: 'completed',
      epochsCompleted: 3,
      configFile,
    });
    expect(readSummary(summary.dir, summary.id)).toEqual(summary);
    expect(readResolvedConfig(summary.dir)).toEqual(loadConfig(configFile).config);
    const preprocessing = readPreprocessing(summary.dir);
    expect(preprocessing.features.map((f) => f.column)).toEqual(['x1', 'x2']);
    expect(preprocessing.tasks.map((t) => t.type)).toEqual(['regression', 'binary']);
    const rows = readMetricRows(summary.dir);
    expect(rows.map((r) => `${r.epoch}:${r.split}`)).toEqual([
      '1:train',
      '1:val',
      '2:train',
      '2:val',
      '3:train',
      '3:val',
      `${summary.bestEpoch}:test`,
    ]);
    expect(rows.at(-1)?.metrics).toEqual(summary.test);
    expect(readEpochLog(summary.dir).map((e) => e.epoch)).toEqual([1, 2, 3]);
  });

  it("mtl eval rebuilds training's val and test rows: the same metrics, bit for bit, stored under evals/", async () => {
    const val = await evaluateRun(summary.id, { runsDir: path.join(dir, 'runs'), split: 'val' });
    expect(val.metrics).toEqual(summary.val);
    const test = await evaluateRun(summary.dir, { split: 'test' });
    expect(test.metrics).toEqual(summary.test);
    expect(readEvaluations(summary.dir).map((e) => [e.data, e.checkpoint, e.metrics])).toEqual([
      ['val', 'best', summary.val],
      ['test', 'best', summary.test],
    ]);
  });

  it('a checkpoint saved again is byte-identical (TF.js weights format); damage is reported, not decoded', async () => {
    const config = readResolvedConfig(summary.dir);
    const model = buildModel(config, readPreprocessing(summary.dir));
    const best = checkpointDir(summary.dir, 'best');
    const metadata = loadCheckpointInto(best, model);
    expect(metadata.epoch).toBe(summary.bestEpoch);
    const copy = path.join(tempDir(), 'best');
    const stored = JSON.parse(readFileSync(path.join(best, 'model.json'), 'utf8'));
    await saveCheckpoint(copy, model, stored.modelTopology, stored.userDefinedMetadata, stored.generatedBy);
    expect(readFileSync(path.join(copy, 'weights.bin'))).toEqual(readFileSync(path.join(best, 'weights.bin')));
    expect(readFileSync(path.join(copy, 'model.json'), 'utf8')).toBe(
      readFileSync(path.join(best, 'model.json'), 'utf8'),
    );
    expect(Object.keys(stored)).toEqual([
      'format',
      'generatedBy',
      'convertedBy',
      'modelTopology',
      'weightsManifest',
      'userDefinedMetadata',
    ]);
    // weights.bin is the variables' float32 values, one after another, in checkpoint order.
    const values = checkpointVariables(model).flatMap((v) => Array.from(v.dataSync()));
    expect(new Float32Array(new Uint8Array(readFileSync(path.join(copy, 'weights.bin'))).buffer)).toEqual(
      Float32Array.from(values),
    );

    truncateSync(path.join(copy, 'weights.bin'), 8);
    expect(() => loadCheckpointInto(copy, model)).toThrow(
      /weights\.bin does not match its checksum in checksums\.json \(8 bytes\); the file was cut short or changed/,
    );
    // A checkpoint written before checksums existed: the sizes and fields are still checked.
    rmSync(path.join(copy, 'checksums.json'));
    expect(() => loadCheckpointInto(copy, model)).toThrow(
      /weights\.bin holds 8 bytes but model\.json describes \d+; the checkpoint is damaged\./,
    );
    delete stored.weightsManifest[0].weights[0].shape;
    writeFileSync(path.join(copy, 'model.json'), JSON.stringify(stored));
    expect(() => loadCheckpointInto(copy, model)).toThrow(
      `${path.join(copy, 'model.json')}: weightsManifest[0].weights[0].shape should be a list, but it is nothing.`,
    );
    model.dispose();
  });

  it("mtl eval refuses to rebuild a split when the data's columns changed since training", async () => {
    const csv = readFileSync(path.join(dir, 'd.csv'), 'utf8').split('\n');
    const widened = csv.map((line, i) => (line === '' ? line : `${line},${i === 0 ? 'x3' : i % 5}`)).join('\n');
    const other = tempDir();
    writeFileSync(path.join(other, 'd.csv'), widened);
    writeFileSync(path.join(dir, 'd.csv'), widened);
    await expect(evaluateRun(summary.dir, { split: 'test' })).rejects.toThrow(
      /the data in .*d\.csv has changed since training \(its feature columns differ\)/,
    );
    // A file given with --data is encoded with the run's preprocessing and its missing-value policy: `drop` leaves
    // out the 18 rows without x2, as training did; the extra column is no input.
    const result = await evaluateRun(summary.dir, { dataFile: path.join(other, 'd.csv') });
    expect(result.rows).toBe(142);
    expect(Object.keys(result.metrics).sort()).toEqual(Object.keys(summary.test).sort());
  });
});
