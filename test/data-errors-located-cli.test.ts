/**
 * A data error found when the CSV is read that blames a config field (a column the field names is not in the file)
 * names the field as the config writes it and where it is written: `c.yaml:5:14: data.features[0]: …` (as the
 * config's own problems are), or the `--set` flag that wrote it; `mtl validate` and `mtl train` alike (exit 2, no
 * run). `mtl eval --data` blames the new file, not the config: its message has no config position.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeFile } from './helpers.js';
import { mtl, mtlInProcess, root } from './helpers/cli.js';

let dir: string;
/** The paths as the commands are given them (from the repository root, where `mtl` runs): messages name them so. */
let config: string;
let csv: string;

/** 40 rows: age, income, churn (0/1), score, set (split names), dom (domains a/b), one (a single label, x). */
function table(): string {
  const rows = Array.from(
    { length: 40 },
    (_, i) => `${20 + i},${100 + 7 * i},${i % 2},${(i % 5) / 5},${['train', 'val', 'test'][i % 3]},${'ab'[i % 2]},x`,
  );
  return `age,income,churn,score,set,dom,one\n${rows.join('\n')}\n`;
}

/** Line 5 holds `data` (after `csv: d.csv`), tasks start on line 7. */
const configText = (data: string, tasks = '  - { name: churn, type: binary }') =>
  `name: t
backend: wasm
data:
  csv: d.csv
${data}
tasks:
${tasks}
model: { trunk: [{ type: dense, units: 4 }] }
training: { epochs: 1 }
`;

beforeAll(() => {
  dir = tempDir('mtl-located-');
  csv = path.relative(root, writeFile(dir, 'd.csv', table()));
  config = path.relative(root, path.join(dir, 'c.yaml'));
});

/**
 * `mtl validate` of the config (its `data` line and tasks), with `--set` flags: exit 2; the first line of stderr. In
 * this process (helpers/cli.ts mtlInProcess); `mtl train` below runs the built CLI.
 */
async function validateError(data: string, tasks?: string, sets: string[] = []): Promise<string> {
  writeFile(dir, 'c.yaml', configText(data, tasks));
  const result = await mtlInProcess(['validate', config, ...sets.flatMap((set) => ['--set', set])]);
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  return result.stderr.split('\n')[0]!;
}

describe('a column a config field names that the CSV lacks: the field as written, at its config line', () => {
  // data line, tasks, the message's first line (after `mtl: `) with `C` for the config path and `D` for the CSV's.
  const cases: [string, string, string | undefined, string][] = [
    [
      'data.features',
      '  features: [agee, income]',
      undefined,
      'C:5:14: data.features[0]: column "agee" is not in D; did you mean "age"?',
    ],
    [
      'data.categorical',
      '  categorical: [incom]',
      undefined,
      'C:5:17: data.categorical[0]: column "incom" is not in D; did you mean "income"?',
    ],
    [
      'data.required_columns',
      '  required_columns: [age, incom]',
      undefined,
      'C:5:27: data.required_columns[1]: column "incom" is not in D; did you mean "income"?',
    ],
    [
      'data.row_label_columns',
      '  missing_targets: mask\n  row_label_columns: [scor]',
      undefined,
      'C:6:23: data.row_label_columns[0]: column "scor" is not in D; did you mean "score"?',
    ],
    [
      'data.split.column',
      '  split: { column: sett }',
      undefined,
      'C:5:20: data.split.column: column "sett" is not in D; did you mean "set"?',
    ],
    [
      'data.domains.column',
      '  domains: { column: domm, source: a, target: b }',
      undefined,
      'C:5:22: data.domains.column: column "domm" is not in D; did you mean "dom"?',
    ],
    [
      "a task's target: named tasks[0].target, as written (not tasks[churn].targets[0])",
      '  normalize: standard',
      '  - { name: churn, type: binary, target: churnn }',
      'C:7:42: tasks[0].target: column "churnn" is not in D; did you mean "churn"?',
    ],
    [
      "an entry of a task's targets",
      '  normalize: standard',
      '  - { name: both, type: regression, targets: [age, scor] }',
      'C:7:52: tasks[0].targets[1]: column "scor" is not in D; did you mean "score"?',
    ],
    [
      'a task without target whose name is no column: its target, at the task (where to write one)',
      '  normalize: standard',
      '  - { name: churn, type: binary }\n  - { name: spend, type: regression }',
      'C:8:5: tasks[1].target: column "spend" is not in D',
    ],
  ];
  it.each(cases)(
    '%s',
    async (_name, data, tasks, message) => {
      const expected = `mtl: ${message.replace('C:', `${config}:`).replace(' D', ` ${csv}`)}`;
      expect(await validateError(data, tasks)).toBe(expected);
    },
    60_000,
  );
});

describe('other data errors that blame a config field', () => {
  it('data.categorical naming a target, at the entry', async () => {
    expect(await validateError('  categorical: [churn]')).toBe(
      `mtl: ${config}:5:17: data.categorical[0]: "churn" is the target of task "churn"; data.categorical makes ` +
        'features categorical, so it would change nothing. Remove it from data.categorical.',
    );
  }, 60_000);

  it("a binary task's positive label that is not a label of its column, at tasks[0].positive", async () => {
    expect(await validateError('  normalize: standard', '  - { name: churn, type: binary, positive: yes }')).toBe(
      `mtl: ${config}:7:44: tasks[0].positive: "yes" is not a label of "churn" (labels: 0, 1)`,
    );
  }, 60_000);

  it('split fractions that leave no training row, at data.split', async () => {
    expect(await validateError('  split: { train: 0.02, val: 0.49, test: 0.49 }')).toBe(
      `mtl: ${config}:5:10: data.split: 40 usable rows split 0.02/0.49/0.49 leave none for training (val 20, test ` +
        '20 rows); raise data.split.train or add rows.',
    );
  }, 60_000);
});

describe("a task's target data its kind cannot take: the task's field to change, at its config line", () => {
  // tasks, the message's first line as above; the features are age only, so no target column is read as a feature.
  const cases: [string, string, string][] = [
    [
      'a binary task on three labels: its type (use multiclass)',
      '  - { name: part, type: binary, target: set }',
      'C:7:25: tasks[0].type: binary task "part" needs exactly 2 distinct labels in column "set", found 3 (test, ' +
        'train, val). Use type multiclass for more.',
    ],
    [
      'a binary task on a single label: its target column (at the task, which writes none)',
      '  - { name: churn, type: binary }\n  - { name: one, type: binary }',
      'C:8:5: tasks[1].target: binary task "one" needs exactly 2 distinct labels in column "one", found 1 (x). Both ' +
        'labels must occur in the rows used (rows with a missing target are left out).',
    ],
    [
      'a multiclass task on a single label: its target',
      '  - { name: m, type: multiclass, target: one }',
      'C:7:42: tasks[0].target: column "one" has a single label; classification task "m" needs at least 2.',
    ],
    [
      'a multilabel column that is not 0/1: its entry in targets',
      '  - { name: tags, type: multilabel, targets: [churn, score] }',
      'C:7:54: tasks[0].targets[1]: multilabel target column "score" of task "tags" must hold 0 or 1; line 3 has ' +
        '"0.2".',
    ],
    [
      'a regression task on a text column: its type (use multiclass)',
      '  - { name: part, type: regression, target: set }',
      'C:7:25: tasks[0].type: regression target column "set" of task "part" must hold finite numbers; line 2 has ' +
        '"train" (and 39 more cells that are not numbers). Fix them, or use type multiclass if the column holds ' +
        'classes.',
    ],
    [
      'a text column among the targets of a regression task: its entry in targets',
      '  - { name: both, type: regression, targets: [income, set] }',
      'C:7:55: tasks[0].targets[1]: regression target column "set" of task "both" must hold finite numbers; line 2 ' +
        'has "train" (and 39 more cells that are not numbers). Fix them, or use type multiclass if the column ' +
        'holds classes.',
    ],
  ];
  it.each(cases)(
    '%s',
    async (_name, tasks, message) => {
      expect(await validateError('  features: [age]', tasks)).toBe(`mtl: ${message.replace('C:', `${config}:`)}`);
    },
    60_000,
  );
});

describe('a data.domains source or target the domain column does not have, at the value', () => {
  it.each([
    ['the target', 'source: a, target: B', 'C:6:46: data.domains.target: "B" is not a value of column "dom" in D'],
    [
      'a source of a list, by its index',
      'source: [a, c], target: b',
      'C:6:39: data.domains.source[1]: "c" is not a value of column "dom" in D',
    ],
  ])(
    '%s',
    async (_name, fields, message) => {
      const data = `  missing_targets: mask\n  domains: { column: dom, ${fields} }`;
      expect(await validateError(data)).toBe(`mtl: ${message.replace('C:', `${config}:`).replace(' D', ` ${csv}`)}`);
    },
    60_000,
  );
});

describe('a field a --set flag wrote is blamed on the flag', () => {
  it.each([
    ['data.features=[agee]', 'data.features[0]: column "agee" is not in D; did you mean "age"?'],
    ['tasks.0.target=churnn', 'tasks[0].target: column "churnn" is not in D; did you mean "churn"?'],
    // The flag wrote `targets`: the field is named so.
    ['tasks.0.targets=[churnn]', 'tasks[0].targets[0]: column "churnn" is not in D; did you mean "churn"?'],
  ])(
    '--set %s',
    async (set, message) => {
      expect(await validateError('  normalize: standard', undefined, [set])).toBe(
        `mtl: --set ${set}: ${message.replace(' D;', ` ${csv};`)}`,
      );
    },
    60_000,
  );

  it("a task's type", async () => {
    const tasks = '  - { name: part, type: multiclass, target: set }';
    expect(await validateError('  features: [age]', tasks, ['tasks.0.type=binary'])).toBe(
      'mtl: --set tasks.0.type=binary: tasks[0].type: binary task "part" needs exactly 2 distinct labels in column ' +
        '"set", found 3 (test, train, val). Use type multiclass for more.',
    );
  }, 60_000);

  it('data.domains.target', async () => {
    const data = '  missing_targets: mask\n  domains: { column: dom, source: a, target: b }';
    expect(await validateError(data, undefined, ['data.domains.target=B'])).toBe(
      `mtl: --set data.domains.target=B: data.domains.target: "B" is not a value of column "dom" in ${csv}`,
    );
  }, 60_000);
});

describe('mtl train', () => {
  it('fails with the message validate gives (exit 2) and leaves no run', async () => {
    writeFile(dir, 'c.yaml', configText('  features: [agee, income]'));
    const runsDir = path.join(dir, 'runs');
    const trained = mtl(['train', config, '--runs-dir', runsDir]);
    expect(trained.code, trained.stderr).toBe(2);
    expect(trained.stderr.split('\n')[0]).toBe(
      `mtl: ${config}:5:14: data.features[0]: column "agee" is not in ${csv}; did you mean "age"?`,
    );
    writeFile(dir, 'c.yaml', configText('  normalize: standard'));
    const set = await mtlInProcess(['train', config, '--runs-dir', runsDir, '--set', 'tasks.0.target=churnn']);
    expect(set.code, set.stderr).toBe(2);
    expect(set.stderr).toMatch(/^mtl: --set tasks\.0\.target=churnn: tasks\[0\]\.target: column "churnn" is not in /);
    expect(existsSync(runsDir)).toBe(false);
  }, 120_000);

  it("a task's target data its kind cannot take: the message validate gives, no run", async () => {
    writeFile(dir, 'c.yaml', configText('  features: [age]', '  - { name: part, type: binary, target: set }'));
    const runsDir = path.join(dir, 'runs');
    const trained = await mtlInProcess(['train', config, '--runs-dir', runsDir]);
    expect(trained.code, trained.stderr).toBe(2);
    expect(trained.stderr.split('\n')[0]).toBe(
      `mtl: ${config}:7:25: tasks[0].type: binary task "part" needs exactly 2 distinct labels in column "set", ` +
        'found 3 (test, train, val). Use type multiclass for more.',
    );
    expect(existsSync(runsDir)).toBe(false);
  }, 120_000);
});

describe('mtl eval --data', () => {
  it("a new file without the run's target column blames the file, with no config position", async () => {
    writeFile(dir, 'c.yaml', configText('  features: [age, income]'));
    const runsDir = path.join(dir, 'eval-runs');
    const trained = await mtlInProcess(['train', config, '--runs-dir', runsDir]);
    expect(trained.code, trained.stderr).toBe(0);
    const newData = writeFile(dir, 'new.csv', 'age,income\n30,100\n40,200\n');
    const evaluated = await mtlInProcess(['eval', trained.stdout.trim(), '--runs-dir', runsDir, '--data', newData]);
    expect(evaluated.code, evaluated.stderr).toBe(2);
    // The field as the config writes it, as multi-input eval names it (it was tasks[churn].targets[0]).
    expect(evaluated.stderr).toMatch(/^mtl: tasks\[0\]\.target: column "churn" is not in \S*new\.csv\n/);
    expect(evaluated.stderr).not.toContain('tasks[churn]');
  }, 120_000);
});
