/**
 * `mtl validate` reads the data (#14 point 4): every data error `mtl train` raises, validate raises with the same
 * message and exit code 2, through the same `prepareData`; neither touches an existing run. A valid config shows how
 * each column was read and the split sizes (text and --json), and `mtl train` shows them on stderr.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, trainExperiment, type DataReport } from '../src/index.js';
import { mtl, mtlInProcess } from './helpers/cli.js';
import { rejectedUsageError } from './helpers/expect.js';
import { tempDir, writeFile } from './helpers.js';

const rows = (count: number, row: (i: number) => string): string =>
  Array.from({ length: count }, (_, i) => row(i)).join('\n');
const numbers = `x,y\n${rows(30, (i) => `${i},${(i * 0.3) % 2}`)}\n`;

/** name, CSV text, data fields after `csv`, task, the first line of the message (after the CSV's path). */
const CASES: [string, string, string, string, RegExp][] = [
  ['an empty CSV', '', '', '{ name: y, type: regression }', /d\.csv: the file is empty; expected a header row/],
  ['a header without rows', 'x,y\n', '', '{ name: y, type: regression }', /d\.csv: has a header but no data rows/],
  [
    'a ragged row',
    numbers.replace('\n3,', '\n3,4,'),
    '',
    '{ name: y, type: regression }',
    /d\.csv:5: row has 3 fields but the header has 2 columns \(x, y\)/,
  ],
  [
    'a split column that is not in the file: a close match and the columns there, as for other columns',
    `x,set,y\n${rows(30, (i) => `${i},${['train', 'val', 'test'][i % 3]},${i % 7}`)}\n`,
    ', split: { column: sett }',
    '{ name: y, type: regression }',
    new RegExp(
      String.raw`^mtl: \S*exp\.yaml:1:38: data\.split\.column: column "sett" is not in .*d\.csv; did you mean ` +
        String.raw`"set"\?\n {2}- columns there: x, set, y`,
    ),
  ],
  [
    'a missing target column',
    numbers,
    '',
    '{ name: y, type: regression, target: yy }',
    /^mtl: \S*exp\.yaml:2:46: tasks\[0\]\.target: column "yy" is not in .*d\.csv; did you mean "y"\?/,
  ],
  [
    'a binary target with three values',
    `x,y\n${rows(30, (i) => `${i},${'abc'[i % 3]}`)}\n`,
    '',
    '{ name: y, type: binary }',
    // At the task's type, which is to change; the task named by index, as the config writes it, and by name.
    new RegExp(
      String.raw`^mtl: \S*exp\.yaml:2:26: tasks\[0\]\.type: binary task "y" needs exactly 2 distinct labels in ` +
        String.raw`column "y", found 3 \(a, b, c\)`,
    ),
  ],
  [
    'NaN with missing: error',
    numbers.replace('\n4,', '\nNaN,'),
    ', missing: error',
    '{ name: y, type: regression }',
    /d\.csv has 1 missing value \(data\.missing is "error"\):\n {2}- line 6, column "x"/,
  ],
  [
    'twenty missing cells in two columns with missing: error: the first five, then the count of the rest by column',
    `x,c,y\n${rows(60, (i) => `${i < 10 ? '' : i},${i >= 10 && i < 20 ? 'NA' : 'red'},${i % 7}`)}\n`,
    ', missing: error, categorical: [c]',
    '{ name: y, type: regression }',
    new RegExp(
      'd\\.csv has 20 missing values \\(data\\.missing is "error"\\):\n {2}- line 2, column "x"\n(.*\n){4}' +
        ' {2}- … and 15 more \\(by column: "x" 10, "c" 10\\)\n',
    ),
  ],
  [
    'a word in a numeric feature',
    numbers.replace('\n4,', '\nheavy,'),
    '',
    '{ name: y, type: regression }',
    /d\.csv: line 6, column "x": "heavy" is not a finite number/,
  ],
  [
    'two rows',
    'x,y\n1,2\n3,4\n',
    '',
    '{ name: y, type: regression }',
    /d\.csv: too few rows for this split: 2 usable rows give train 2, val 0, test 0\./,
  ],
];

/** Every file under `dir` with its bytes, to show nothing there changed. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const file = path.join(entry.parentPath, entry.name);
      files[path.relative(dir, file)] = readFileSync(file, 'base64');
    }
  }
  return files;
}

describe.each(CASES)('%s', (_name, csv, data, task, message) => {
  it('validate and train fail alike, exit 2, no run touched', async () => {
    const dir = tempDir();
    writeFile(dir, 'd.csv', csv);
    const config = writeFile(dir, 'exp.yaml', `data: { csv: d.csv${data} }\ntasks: [${task}]\n`);
    // A run made before the bad command: a store holding one run directory.
    const runsDir = path.join(dir, 'runs');
    mkdirSync(path.join(runsDir, '20240101-000000-old'), { recursive: true });
    writeFile(path.join(runsDir, '20240101-000000-old'), 'meta.json', '{"id":"20240101-000000-old"}\n');
    const before = snapshot(dir);

    // The CLI's `main` in this process (the same message; `a valid config` below runs the built CLI).
    const validated = await mtlInProcess(['validate', config]);
    expect(validated.code).toBe(2);
    expect(validated.stdout).toBe('');
    expect(validated.stderr).toMatch(message);
    expect(validated.stderr).not.toMatch(/\n\s+at /);

    const error = await rejectedUsageError(trainExperiment(loadConfig(config), { runsDir }));
    expect(`mtl: ${error.format()}\n`).toBe(validated.stderr);
    expect(snapshot(dir)).toEqual(before);
  });
});

describe('a valid config', () => {
  const dir = tempDir();
  const csv = `x,size,colour,y\n${rows(40, (i) => `${i},${i % 4},${['red', 'blue'][i % 2]},${(i * 0.3) % 2}`)}\n`;
  writeFile(dir, 'd.csv', csv);
  const config = writeFile(
    dir,
    'exp.yaml',
    'backend: wasm\ndata: { csv: d.csv, categorical: [size] }\ntasks: [{ name: y, type: regression }]\n' +
      'model: { trunk: [{ type: dense, units: 4 }] }\ntraining: { epochs: 1 }\n',
  );
  const dataLines = [
    /data \S*d\.csv: 40 rows; train 28 · val 6 · test 6; model input width 7/,
    / {2}numeric features \(1\): x\n/,
    new RegExp(
      String.raw` {2}categorical features \(2\): size \(numbers, listed in data\.categorical, 4 categories\), ` +
        String.raw`colour \(text, 2 categories\)\n`,
    ),
    / {2}targets \(1\): y \(numeric, task y\)\n/,
  ];

  it('validate shows how each column was read and the split sizes, and warns about small splits', () => {
    const result = mtl(['validate', config]);
    expect(result.code).toBe(0);
    for (const line of dataLines) expect(result.stdout).toMatch(line);
    expect(result.stderr).toMatch(/^warning: the val split has only 6 rows \(fewer than 10\)/m);
    const json = mtl(['validate', config, '--json']);
    const report = (JSON.parse(json.stdout) as { data: DataReport }).data;
    expect(report.splits).toEqual({ train: 28, val: 6, test: 6 });
    expect(report.columns.map((c) => `${c.name}:${c.type}:${c.use}`)).toEqual([
      'x:numeric:numeric feature',
      'size:numeric:categorical feature',
      'colour:text:categorical feature',
      'y:numeric:target',
    ]);
  });

  it('train states the same on stderr before the first epoch', () => {
    const result = mtl(['train', config, '--runs-dir', path.join(dir, 'runs')]);
    expect(result.code).toBe(0);
    for (const line of dataLines) expect(result.stderr).toMatch(line);
    expect(result.stderr.indexOf('data ')).toBeLessThan(result.stderr.indexOf('epoch'));
  });
});
