import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { tf } from '../src/tf.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel, initBackend, parseConfigText, readCsv, readRun, trainExperiment } from '../src/index.js';
import { encodeRows } from '../src/data/preprocess.js';
import { loadCheckpointInto } from '../src/runs/checkpoint.js';
import { tempDir, writeFile } from './helpers.js';
import { mtl, mtlInProcess } from './helpers/cli.js';
import { bits } from './helpers/expect.js';
import { transferConfig } from './helpers/transfer-init.js';

/** `mtl features` (issue #17, feature-based transfer): each row's representation as CSV. */
describe('mtl features', () => {
  const dir = tempDir('mtl-features-');
  const runsDir = path.join(dir, 'runs');
  let runId = '';
  let runDir = '';
  // Seven rows with an id column and no targets; row 3 has a text id with a comma (quoted on the way out).
  const inputRows = Array.from({ length: 7 }, (_, i) => [
    i === 3 ? '"r,3"' : `r${i}`,
    ...Array.from({ length: 6 }, (_, k) => (Math.sin(i * 7 + k) * 2).toFixed(4)),
  ]);
  const inputCsv = `id,x0,x1,x2,x3,x4,x5\n${inputRows.map((r) => r.join(',')).join('\n')}\n`;

  beforeAll(async () => {
    await initBackend('wasm', { fma: 'off' });
    const run = await trainExperiment(transferConfig(dir, 'rep', { tasks: ['y1', 'y2'] }), { runsDir });
    runId = run.id;
    runDir = run.dir;
  });

  /** The model's own forward pass on the input file's rows: the trunk output and the y1 head's output. */
  async function forwardPass(): Promise<{ shared: number[][]; y1: number[][] }> {
    const run = readRun(runDir);
    const table = await readCsv(writeFile(dir, 'forward.csv', inputCsv));
    const encoded = encodeRows(table, { ...run.preprocessing, tasks: [] }, Int32Array.from(inputRows.keys()));
    const model = buildModel(run.config, run.preprocessing);
    try {
      loadCheckpointInto(path.join(runDir, 'checkpoints', 'best'), model);
      return tf.tidy(() => {
        const x = tf.tensor2d(encoded.x, [inputRows.length, run.preprocessing.inputSize]);
        const { representation, outputs } = model.forward(x, false);
        return {
          shared: (representation?.arraySync() ?? []) as number[][],
          y1: outputs.y1?.arraySync() ?? [],
        };
      });
    } finally {
      model.dispose();
    }
  }

  function parse(csv: string): string[][] {
    return csv
      .trimEnd()
      .split('\n')
      .map((line) => line.split(','));
  }

  it('writes one row per input row, in order, with the id column, equal to the trunk output bit for bit', async () => {
    const file = writeFile(dir, 'new.csv', inputCsv);
    const result = mtl(['features', runId, '--runs-dir', runsDir, '--data', file, '--id-columns', 'id']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/layer shared: 7 rows × 8 features from /);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('id,f0,f1,f2,f3,f4,f5,f6,f7');
    expect(lines).toHaveLength(8);
    expect(lines[4]?.startsWith('"r,3",')).toBe(true);
    const rows = parse(result.stdout.replace('"r,3"', 'r3')).slice(1);
    expect(rows.map((r) => r[0])).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6']);
    const expected = (await forwardPass()).shared;
    rows.forEach((row, i) => {
      expect(bits(row.slice(1).map(Number)), `row ${i}`).toEqual(bits(expected[i] ?? []));
    });
  });

  it('writes a head output by its layer name, and lists the layers for an unknown one', async () => {
    const file = writeFile(dir, 'new.csv', inputCsv);
    const result = await mtlInProcess([
      'features',
      runId,
      '--runs-dir',
      runsDir,
      '--data',
      file,
      '--layer',
      'tasks/y1/output',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const rows = parse(result.stdout);
    expect(rows[0]).toEqual(['f0']);
    const expected = (await forwardPass()).y1;
    expect(bits(rows.slice(1).map((r) => Number(r[0])))).toEqual(bits(expected.map((r) => r[0] ?? NaN)));

    const unknown = await mtlInProcess(['features', runId, '--runs-dir', runsDir, '--data', file, '--layer', 'trunk']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--layer "trunk": run .* \(hard-sharing\) has no such layer/);
    expect(unknown.stderr).toContain('layers: shared, tasks/y1/output, tasks/y2/output');
    expect(unknown.stdout).toBe('');
  });

  it("writes the run's own split with its targets, and a config trains on that file", async () => {
    const out = path.join(dir, 'features.csv');
    const args = ['features', runId, '--runs-dir', runsDir, '--split', 'all', '--with-targets', '-o', out];
    const result = mtl(args);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('');
    const rows = parse(readFileSync(out, 'utf8'));
    expect(rows[0]).toEqual(['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'y1', 'y2']);
    expect(rows).toHaveLength(1 + 120); // every usable row of the 120-row table, in table order
    const test = await mtlInProcess(['features', runId, '--runs-dir', runsDir, '--split', 'test']);
    expect(parse(test.stdout)).toHaveLength(1 + 18); // 15% of 120

    const config = parseConfigText(
      [
        'name: on-features',
        'backend: wasm',
        'data: { csv: features.csv }',
        'tasks: [{ name: y1, type: regression }, { name: y2, type: regression }]',
        'model: { trunk: [{ type: dense, units: 4 }] }',
        'training: { epochs: 2, batch_size: 32 }',
        '',
      ].join('\n'),
      { file: path.join(dir, 'on-features.yaml') },
    );
    const trained = await trainExperiment(config, { runsDir });
    expect(trained.status).toBe('completed');
    const preprocessing = JSON.parse(readFileSync(path.join(trained.dir, 'preprocessing.json'), 'utf8'));
    expect(preprocessing.inputSize).toBe(8);
    // A target also named as an id column is written once (a repeated header is a CSV mtl then refuses).
    const both = await mtlInProcess(['features', runId, '--runs-dir', runsDir, '--with-targets', '--id-columns', 'y1']);
    expect(both.code, both.stderr).toBe(0);
    expect(parse(both.stdout)[0]).toEqual(['y1', 'f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'y2']);
  });

  it('refuses a row missing a feature value (naming its line), a missing column, --split with --data', async () => {
    const holes = writeFile(dir, 'holes.csv', 'id,x0,x1,x2,x3,x4,x5\na,1,2,3,4,5,6\nb,1,,3,4,5,6\n');
    const missing = await mtlInProcess(['features', runId, '--runs-dir', runsDir, '--data', holes]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/holes\.csv: a row misses a feature value, and every row in gives a row out/);
    expect(missing.stderr).toContain('line 3, column "x1"');
    const file = writeFile(dir, 'new.csv', inputCsv);
    const noId = await mtlInProcess(['features', runId, '--runs-dir', runsDir, '--data', file, '--id-columns', 'key']);
    expect(noId.code).toBe(2);
    expect(noId.stderr).toMatch(/--id-columns.*"key"/);
    const noFeature = await mtlInProcess([
      'features',
      runId,
      '--runs-dir',
      runsDir,
      '--data',
      writeFile(dir, 'ab.csv', 'a,b\n1,2\n'),
    ]);
    expect(noFeature.code).toBe(2);
    expect(noFeature.stderr).toMatch(/a feature of run .*: column "x0" is not in .*ab\.csv/);
    const both = await mtlInProcess(['features', runId, '--runs-dir', runsDir, '--data', file, '--split', 'test']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--split picks rows of the run's own data/);
    for (const result of [missing, noId, noFeature, both]) expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('-o a folder, or under a file: exit 2 naming the path, no temp file left; a missing folder is made', async () => {
    const out = path.join(dir, 'out');
    mkdirSync(out);
    const onFolder = await mtlInProcess(['features', runId, '--runs-dir', runsDir, '-o', out]);
    expect(onFolder.code).toBe(2);
    expect(onFolder.stderr).toContain(`mtl: Cannot write ${out}: it is a folder, not a file (EISDIR).`);
    expect(onFolder.stderr).toContain('choose another file with -o');
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    const file = writeFile(dir, 'plain', 'x');
    const underFile = await mtlInProcess(['features', runId, '--runs-dir', runsDir, '-o', path.join(file, 'f.csv')]);
    expect(underFile.code).toBe(2);
    expect(underFile.stderr).toMatch(
      /^mtl: Cannot write .*plain\/f\.csv: a file is in the way where a folder should be/,
    );
    for (const result of [onFolder, underFile]) expect(result.stderr).not.toMatch(/\n\s+at /);
    const nested = await mtlInProcess(['features', runId, '--runs-dir', runsDir, '-o', path.join(out, 'new', 'f.csv')]);
    expect(nested.code).toBe(0);
    expect(readFileSync(path.join(out, 'new', 'f.csv'), 'utf8')).toMatch(/^f0,/);
  });
});

/** `mtl features --data` reads a category training never saw as `mtl eval --data` does: all zeros, with a warning. */
describe('mtl features --data with a category training never saw', () => {
  const dir = tempDir('mtl-features-unseen-');
  const runsDir = path.join(dir, 'runs');
  const colours = ['red', 'green', 'blue'];
  const csv = (rows: number, colour: (i: number) => string): string =>
    `x,colour,y\n${Array.from({ length: rows }, (_, i) => `${i % 7},${colour(i)},${(i * 0.3) % 2}`).join('\n')}\n`;
  let runDir = '';

  beforeAll(async () => {
    await initBackend('wasm', { fma: 'off' });
    writeFile(
      dir,
      'd.csv',
      csv(40, (i) => colours[i % 3]!),
    );
    const config = writeFile(
      dir,
      'exp.yaml',
      'backend: wasm\ndata: { csv: d.csv }\ntasks: [{ name: y, type: regression }]\n' +
        'model: { trunk: [{ type: dense, units: 4, activation: relu }] }\ntraining: { epochs: 1 }\n',
    );
    runDir = (await trainExperiment(parseConfigText(readFileSync(config, 'utf8'), { file: config }), { runsDir })).dir;
  });

  it('exit 0, every row out, the unseen row as all zeros in its one-hot block, one warning per column', async () => {
    const file = writeFile(
      dir,
      'new.csv',
      csv(6, (i) => (i === 2 ? 'purple' : i === 4 ? 'teal' : colours[i % 3]!)),
    );
    const result = await mtlInProcess(['features', runDir, '--data', file]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(
      `warning: ${file}: column "colour": 2 rows hold categories no training row has ("purple", "teal"); they are ` +
        'encoded as all zeros\n',
    );
    const rows = result.stdout.trimEnd().split('\n').slice(1);
    expect(rows).toHaveLength(6);

    const run = readRun(runDir);
    const encoded = encodeRows(await readCsv(file), { ...run.preprocessing, tasks: [] }, Int32Array.from(rows.keys()));
    const width = run.preprocessing.inputSize;
    const block = run.preprocessing.features.findIndex((f) => f.column === 'colour');
    expect(block).toBe(1); // after x, one column wide
    for (const i of [2, 4]) expect(Array.from(encoded.x.subarray(i * width + 1, (i + 1) * width))).toEqual([0, 0, 0]);
    const model = buildModel(run.config, run.preprocessing);
    try {
      loadCheckpointInto(path.join(runDir, 'checkpoints', 'best'), model);
      const shared = tf.tidy(() =>
        model.forward(tf.tensor2d(encoded.x, [6, width]), false).representation?.arraySync(),
      );
      rows.forEach((row, i) => {
        expect(bits(row.split(',').map(Number)), `row ${i}`).toEqual(bits((shared as number[][])[i] ?? []));
      });
    } finally {
      model.dispose();
    }
  });
});
