/**
 * `mtl eval --data other.csv` (#14 point 9): new rows are encoded as training encoded its own, and what cannot be
 * is an error naming file, line, column and value, leaving the run untouched: a word in a numeric feature, a missing
 * value under `missing: error`. A category the training rows never had is encoded as all zeros with a warning, as in
 * training's own val and test rows.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateRun, loadConfig, trainExperiment } from '../src/index.js';
import { rejectedUsageError } from './helpers/expect.js';
import { tempDir, writeFile } from './helpers.js';
import { mtl } from './helpers/cli.js';

const COLOURS = ['red', 'green', 'blue'];
const csvRows = (count: number, colour: (i: number) => string, x: (i: number) => string = String): string =>
  `x,colour,y\n${Array.from({ length: count }, (_, i) => `${x(i)},${colour(i)},${(i * 0.3) % 2}`).join('\n')}\n`;

function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile())
      files[path.join(entry.parentPath, entry.name)] = readFileSync(path.join(entry.parentPath, entry.name), 'base64');
  }
  return files;
}

describe('eval --data', () => {
  const dir = tempDir();
  const runsDir = path.join(dir, 'runs');
  let runId = '';
  beforeAll(async () => {
    writeFile(
      dir,
      'd.csv',
      csvRows(40, (i) => COLOURS[i % 3]!),
    );
    const config = writeFile(
      dir,
      'exp.yaml',
      'backend: wasm\ndata: { csv: d.csv, missing: error }\ntasks: [{ name: y, type: regression }]\n' +
        'model: { trunk: [{ type: dense, units: 4 }] }\ntraining: { epochs: 1 }\n',
    );
    runId = (await trainExperiment(loadConfig(config), { runsDir })).id;
  });

  async function refused(csv: string): Promise<string> {
    const file = writeFile(dir, 'new.csv', csv);
    const before = snapshot(runsDir);
    const error = await rejectedUsageError(evaluateRun(runId, { runsDir, dataFile: file }));
    expect(error.exitCode).toBe(2);
    expect(snapshot(runsDir)).toEqual(before);
    return error.format().replace(/^\S*\/(\w+\.csv)/, '$1');
  }

  it('evaluates rows like the training rows', async () => {
    const result = await evaluateRun(runId, {
      runsDir,
      dataFile: writeFile(
        dir,
        'ok.csv',
        csvRows(9, (i) => COLOURS[i % 3]!),
      ),
    });
    expect(result.rows).toBe(9);
  });

  it('a category the training rows never had: all zeros, and a warning naming column, value and rows', async () => {
    const file = writeFile(
      dir,
      'new.csv',
      csvRows(9, (i) => (i === 4 ? 'purple' : COLOURS[i % 3]!)),
    );
    const result = await evaluateRun(runId, { runsDir, dataFile: file });
    expect(result.rows).toBe(9);
    expect(result.warnings).toEqual([
      `${file}: column "colour": 1 row holds categories no training row has ("purple"); they are encoded as all zeros`,
    ]);
  });

  it('a word in a numeric feature: its line and column', async () => {
    const csv = csvRows(
      9,
      (i) => COLOURS[i % 3]!,
      (i) => (i === 2 ? 'heavy' : String(i)),
    );
    expect(await refused(csv)).toBe(
      'new.csv: line 4, column "x": "heavy" is not a finite number, but the feature was numeric in training. Fix the ' +
        'cell, or leave it empty to mark a missing value.',
    );
  });

  it('a numeric feature written in hexadecimal: its line and column (was read as numbers, exit 0)', async () => {
    const csv = csvRows(
      9,
      (i) => COLOURS[i % 3]!,
      (i) => `0x${i}`,
    );
    expect(await refused(csv)).toBe(
      'new.csv: line 2, column "x": "0x0" is not a finite number, but the feature was numeric in training. Fix the ' +
        'cell, or leave it empty to mark a missing value.',
    );
  });

  it("a word in a regression task's target: its line and column (was no metric for the task, exit 0)", async () => {
    const csv = csvRows(9, (i) => COLOURS[i % 3]!).replace('\n3,red,0.8999999999999999\n', '\n3,red,cheap\n');
    expect(csv).toContain('cheap');
    expect(await refused(csv)).toBe(
      'new.csv: line 5, column "y": "cheap" is not a finite number, but it is the target of regression task "y".\n' +
        '  - fix the cell, or leave it empty (or NA) to mark a missing label',
    );
  });

  it('its own CSV holding other rows than at training: exit 2 (eval and features)', async () => {
    const file = path.join(dir, 'd.csv');
    const trained = readFileSync(file, 'utf8');
    const before = snapshot(runsDir);
    try {
      writeFileSync(file, trained.split('\n').slice(0, 31).join('\n'));
      const error = await rejectedUsageError(evaluateRun(runId, { runsDir, split: 'test' }));
      expect(error.format()).toMatch(
        /^Run \S+: \S+d\.csv has changed since training \(\d+ bytes then, \d+ now\), so its splits cannot be rebuilt/,
      );
      expect(error.format()).toContain('  - evaluate on a CSV with --data instead');
      const features = mtl(['features', runId, '--runs-dir', runsDir, '--split', 'test']);
      expect(features.code).toBe(2);
      expect(features.stderr).toMatch(/d\.csv has changed since training/);
      expect(features.stderr).not.toMatch(/\n\s+at /);
      expect(snapshot(runsDir)).toEqual(before);
    } finally {
      writeFileSync(file, trained);
    }
    expect((await evaluateRun(runId, { runsDir, split: 'test' })).rows).toBeGreaterThan(0);
  });

  it("a missing value under the run's missing: error", async () => {
    const csv = csvRows(
      9,
      (i) => COLOURS[i % 3]!,
      (i) => (i === 3 ? '' : String(i)),
    );
    expect(await refused(csv)).toMatch(
      /^new\.csv has 1 missing value \(data\.missing is "error"\):\n {2}- line 5, column "x"/,
    );
  });
});
