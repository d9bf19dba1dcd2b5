/**
 * CLI output polish, through the built CLI: tables align text columns left and numbers right (as the README shows
 * `mtl runs`); a multi-input data report names each source's unused columns, not the first source's alone; `-o` a
 * path whose file system makes nothing there says so, the same way for `mtl features` and `mtl report`.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeFile } from './helpers.js';
import { mtl } from './helpers/cli.js';
import { mtlAsync } from './helpers/cli-async.js';
import { writeSyntheticCsv } from './helpers/csv.js';

const dir = tempDir('mtl-output-polish-');
const runsDir = path.join(dir, 'runs');
let config = '';
let runId = '';

beforeAll(() => {
  // Two sources, each with columns no task uses: u1 and note in a.csv, w in b.csv.
  writeSyntheticCsv(dir, 'a.csv', {
    seed: 1,
    rows: 40,
    header: ['x0', 'x1', 'y', 'u1', 'note'],
    row: (rng, i) => {
      const [a, b] = [rng.normal(), rng.normal()];
      return [a, b, a + b, rng.normal(), `n${i}`];
    },
  });
  writeSyntheticCsv(dir, 'b.csv', {
    seed: 2,
    rows: 20,
    header: ['x0', 'x1', 'z', 'w'],
    row: (rng) => {
      const [a, b] = [rng.normal(), rng.normal()];
      return [a, b, a - b, rng.normal()];
    },
  });
  config = writeFile(
    dir,
    'exp.yaml',
    `name: ab
seed: 0
backend: wasm
data: { csv: a.csv, features: [x0, x1], split: { train: 0.6, val: 0.2, test: 0.2 } }
tasks:
  - { name: y, type: regression }
  - name: z
    type: regression
    data: { csv: b.csv, features: [x0, x1], split: { train: 0.5, val: 0.25, test: 0.25 } }
model: { trunk: [{ type: dense, units: 4, activation: tanh }] }
training: { epochs: 1, batch_size: 8 }
`,
  );
  const trained = mtl(['train', config, '--runs-dir', runsDir, '--quiet']);
  expect(trained.code, trained.stderr).toBe(0);
  runId = trained.stdout.trim();
}, 120_000);

/**
 * A table's lines as printed, each a map from column name to its cell with the padding kept: the columns lie where
 * the rule under the header has dashes.
 */
function paddedCells(text: string): Record<string, string>[] {
  const [header = '', rule = '', ...rows] = text.trimEnd().split('\n');
  const spans = [...rule.matchAll(/-+/g)].map((m) => [m.index, m.index + m[0].length] as const);
  const cell = (line: string, [start, end]: readonly [number, number]): string =>
    line.slice(start, end).padEnd(end - start);
  const names = spans.map((span) => cell(header, span).trim());
  return [header, ...rows].map((line) => Object.fromEntries(spans.map((span, i) => [names[i], cell(line, span)])));
}

describe('tables', () => {
  it('mtl runs: text columns left-aligned (header and cells), numbers right-aligned', () => {
    const listed = mtl(['runs', '--runs-dir', runsDir]);
    expect(listed.code, listed.stderr).toBe(0);
    const [header, row] = paddedCells(listed.stdout);
    // Each cell is narrower than its column, so the side it sits on shows (a header as wide as its column fills it).
    for (const [column, value] of [
      ['name', 'ab'],
      ['backend', 'wasm'],
      ['strategy', 'equal'],
    ]) {
      expect(header?.[column ?? '']).toMatch(new RegExp(`^${column} *$`));
      expect(row?.[column ?? '']).toMatch(new RegExp(`^${value} +$`));
    }
    for (const [column, value] of [
      ['seed', '0'],
      ['epochs', '1'],
    ]) {
      expect(header?.[column ?? '']).toMatch(new RegExp(`^ *${column}$`));
      expect(row?.[column ?? '']).toMatch(new RegExp(`^ +${value}$`));
    }
  });
});

describe('the data report of a multi-input config', () => {
  it("names each source's unused columns after the source", () => {
    const validated = mtl(['validate', config]);
    expect(validated.code, validated.stderr).toBe(0);
    expect(validated.stdout).toMatch(
      /^ {2}unused \(3\): \S*a\.csv: u1 \(numeric\), note \(text\); \S*b\.csv: w \(numeric\)$/m,
    );
  });
});

describe.skipIf(!existsSync('/proc/version'))('-o where the file system makes nothing (procfs)', () => {
  const why = 'its file system makes no new files or folders in /proc (ENOENT).';

  it('mtl features -o /proc/version: exit 2, cannot write there and why, not "it does not exist"', () => {
    const result = mtl(['features', runId, '--runs-dir', runsDir, '-o', '/proc/version']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`mtl: Cannot write /proc/version: ${why}\n  - choose another file with -o\n`);
  });

  it('mtl report -o /proc/version.html: the same (it used to hang in a recursive mkdir)', async () => {
    const result = await mtlAsync(
      ['report', runId, '--runs-dir', runsDir, '-o', '/proc/version.html'],
      {},
      {
        timeout: 60_000,
      },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `mtl: Cannot write /proc/version-figures (the report's figures): ${why}\n  - choose another file with -o\n`,
    );
  }, 90_000);
});
