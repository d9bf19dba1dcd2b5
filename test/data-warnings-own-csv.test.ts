/**
 * A QA tester's own CSVs that trained without a word although the model could not learn what was asked: an identifier
 * column one-hot encoded as a feature, a classification task whose training rows hold one label (or miss a label of
 * the val/test rows). `mtl validate` and `mtl train` warn about them (DataReport.warnings); `mtl eval --data` hints at
 * what can be done for a trained run (fill the file, or retrain), not at config fields that no longer apply.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { dataReportLines } from '../src/cli/data-report.js';
import { evaluateRun, loadConfig, trainExperiment, validateData, type DataReport } from '../src/index.js';
import { mtl } from './helpers/cli.js';
import { rejectedUsageError } from './helpers/expect.js';
import { tempDir, writeFile } from './helpers.js';

const lines = (count: number, line: (i: number) => string): string =>
  Array.from({ length: count }, (_, i) => line(i)).join('\n');

/** README's "Your own CSV" file: an id per patient, read as text. */
const patients = (count: number): string =>
  'patient_id,age,sex,ward,n_prior,readmitted_30d,length_of_stay\n' +
  `${lines(count, (i) => {
    const [id, age, sex, ward] = [`P${String(i).padStart(4, '0')}`, 30 + ((i * 7) % 50), 'MF'[i % 2], 'ABC'[i % 3]];
    return `${id},${age},${sex},${ward},${i % 4},${i % 3 === 0 ? 1 : 0},${1 + (i % 9)}`;
  })}\n`;

const README_TASKS =
  'tasks:\n  - { name: readmitted, type: binary, target: readmitted_30d }\n' +
  '  - { name: stay, type: regression, target: length_of_stay }\n';
const TRAINING = 'backend: wasm\nmodel: { trunk: [{ type: dense, units: 4 }] }\ntraining: { epochs: 1 }\n';

async function warnings(dir: string, csv: string, data: string, tasks: string): Promise<string[]> {
  writeFile(dir, 'd.csv', csv);
  const config = writeFile(dir, 'exp.yaml', `${TRAINING}data: { csv: d.csv${data} }\n${tasks}`);
  return (await validateData(loadConfig(config))).warnings;
}

describe('an identifier column taken as a feature by default', () => {
  const dir = tempDir();
  const identifier =
    'column "patient_id" looks like an identifier (its 210 training values are all distinct): as a feature it adds ' +
    '210 one-hot inputs that no other row shares, and mtl eval --data encodes every value training did not see as ' +
    'all zeros; leave it out with data.features: [age, sex, ward, n_prior]';

  it('is a warning naming the column and the data.features that leave it out (was none)', async () => {
    expect(await warnings(dir, patients(300), ', missing: impute', README_TASKS)).toContain(identifier);
  });

  it('validate prints it as a warning line', () => {
    writeFile(dir, 'd.csv', patients(300));
    writeFile(dir, 'exp.yaml', `${TRAINING}data: { csv: d.csv, missing: impute }\n${README_TASKS}`);
    const result = mtl(['validate', path.join(dir, 'exp.yaml')]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/categorical features \(3\): patient_id \(text, 210 categories\)/);
    expect(result.stderr).toContain(`warning: ${identifier}\n`);
  });

  it('is no warning where data.features lists it, or where values repeat', async () => {
    const listed = ', features: [patient_id, age, sex, ward, n_prior]';
    expect((await warnings(dir, patients(300), listed, README_TASKS)).join('\n')).not.toMatch(/identifier/);
    const repeated = patients(300).replace(/P(\d\d)\d\d,/g, 'P$1,');
    expect((await warnings(dir, repeated, '', README_TASKS)).join('\n')).not.toMatch(/identifier/);
  });

  it('eval --data on the training file: the warning says the column is probably an identifier', async () => {
    const evalDir = tempDir();
    const file = writeFile(evalDir, 'd.csv', patients(300));
    const config = writeFile(evalDir, 'exp.yaml', `${TRAINING}data: { csv: d.csv }\n${README_TASKS}`);
    const runsDir = path.join(evalDir, 'runs');
    const { id } = await trainExperiment(loadConfig(config), { runsDir });
    const result = await evaluateRun(id, { runsDir, dataFile: file });
    expect(result.rows).toBe(300);
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings?.[0]).toMatch(
      /^\S+d\.csv: column "patient_id": 90 rows hold categories no training row has \("P\d{4}", .*\); they are /,
    );
    expect(result.warnings?.[0]).toContain(
      'they are encoded as all zeros; "patient_id" holds a different value on each of the 300 rows here: it is ' +
        'probably an identifier, which tells the model nothing about new rows; retrain without it, with ' +
        'data.features: [age, sex, ward, n_prior]',
    );
  }, 120_000);
});

describe('classification labels of the training rows', () => {
  const dir = tempDir();
  const part = (i: number): string => (i < 30 ? 'train' : i < 40 ? 'val' : 'test');

  it('a binary task whose training rows hold one label: warned, naming task, split and label (was none)', async () => {
    const csv = `x,part,churned\n${lines(50, (i) => `${i % 7},${part(i)},${i >= 45 ? 1 : 0}`)}\n`;
    const task = 'tasks: [{ name: churn, type: binary, target: churned }]\n';
    expect(await warnings(dir, csv, ', split: { column: part }', task)).toEqual([
      'task "churn": every training row (30) has label "0" of "churned", so the model cannot learn to tell the ' +
        'labels apart; put rows of each label in the train split',
      'task "churn": 5 test rows hold label "1" of "churned" that no training row has: the model is never trained ' +
        'to predict it',
    ]);
  });

  it('a multiclass label only in the val rows: warned (was none)', async () => {
    const label = (i: number): string => (i >= 30 && i < 33 ? 'c' : 'ab'[i % 2]!);
    const csv = `x,part,kind\n${lines(50, (i) => `${i % 7},${part(i)},${label(i)}`)}\n`;
    const task = 'tasks: [{ name: kind, type: multiclass, target: kind }]\n';
    expect(await warnings(dir, csv, ', split: { column: part }', task)).toEqual([
      'task "kind": 3 val rows hold label "c" of "kind" that no training row has: the model is never trained to ' +
        'predict it',
    ]);
  });
});

describe('a feature or a regression target that holds one value on the training rows', () => {
  const dir = tempDir();
  const part = (i: number): string => (i < 30 ? 'train' : i < 40 ? 'val' : 'test');
  const split = ', split: { column: part }';
  const task = 'tasks: [{ name: y, type: regression }]\n';

  it('a constant feature: warned with its value and the data.features without it (was none)', async () => {
    // "k" is 7 on every training row and differs on the test rows only.
    const csv = `x,k,part,y\n${lines(50, (i) => `${i % 7},${i < 40 ? 7 : i},${part(i)},${(i * 0.37) % 2}`)}\n`;
    expect(await warnings(dir, csv, split, task)).toEqual([
      'column "k" holds "7" on every training row (30): as a feature it gives every row the same input, which tells ' +
        'the model nothing; leave it out with data.features: [x]',
    ]);
    const text = `x,c,d,part,y\n${lines(50, (i) => `${i % 7},red,${i < 30 ? 0 : i},${part(i)},${i % 3}`)}\n`;
    expect(await warnings(dir, text, `${split}, features: [x, c, d]`, task)).toEqual([
      'columns "c" ("red"), "d" ("0") hold one value each on every training row (30): as features they give every ' +
        'row the same input, which tells the model nothing; leave them out with data.features: [x]',
    ]);
  });

  it('is no warning for a feature that varies, or for the pixels of an image trunk', async () => {
    const csv = `a,b,part,y\n${lines(50, (i) => `${i % 7},${i < 40 ? 0 : 1},${part(i)},${(i * 0.37) % 2}`)}\n`;
    expect(await warnings(dir, `a,part,y\n${lines(50, (i) => `${i % 7},${part(i)},${i % 3}`)}\n`, split, task)).toEqual(
      [],
    );
    writeFile(dir, 'd.csv', csv);
    const image =
      'backend: wasm\nmodel: { trunk: [{ type: reshape, shape: [1, 2, 1] }, { type: flatten }, { type: dense, ' +
      `units: 2 }] }\ntraining: { epochs: 1 }\ndata: { csv: d.csv${split} }\n${task}`;
    expect((await validateData(loadConfig(writeFile(dir, 'exp.yaml', image)))).warnings).toEqual([]);
  });

  it('a regression target of one value: warned, naming the task, the column and the value (was none)', async () => {
    const csv = `x,part,y\n${lines(50, (i) => `${i % 7},${part(i)},${i < 30 ? 2.5 : i}`)}\n`;
    expect(await warnings(dir, csv, split, task)).toEqual([
      'task "y": every training row (30) has value 2.5 of "y", so the model can only learn to predict 2.5 whatever ' +
        'the input; put rows with other values in the train split, or remove the task',
    ]);
  });
});

describe('a row budget (max_train_rows) that is not below the labelled training rows', () => {
  const dir = tempDir();
  const part = (i: number): string => (i < 30 ? 'train' : i < 45 ? 'val' : 'test');
  // Every fifth row has no label: 24 of the 30 training rows are labelled (12 of the 15 val and test rows each).
  const csv = `x,part,y\n${lines(60, (i) => `${i % 7},${part(i)},${i % 5 === 0 ? '' : (i * 0.37) % 2}`)}\n`;
  const budget = (rows: number): string => `tasks: [{ name: y, type: regression, max_train_rows: ${rows} }]\n`;
  const kept = (rows: number): string =>
    `task "y": max_train_rows is ${rows}, but the task has only 24 labelled training rows, so every label is kept ` +
    'and the budget changes nothing; set it below 24, or remove max_train_rows';

  it('is a warning naming the task and its labelled training rows (was none)', async () => {
    expect(await warnings(dir, csv, ', split: { column: part }', budget(100))).toEqual([kept(100)]);
    expect(await warnings(dir, csv, ', split: { column: part }', budget(24))).toEqual([kept(24)]);
    expect(await warnings(dir, csv, ', split: { column: part }', budget(23))).toEqual([]);
  });

  it('validate prints it as a warning line', () => {
    const validate = (rows: number) => {
      writeFile(dir, 'd.csv', csv);
      writeFile(dir, 'exp.yaml', `${TRAINING}data: { csv: d.csv, split: { column: part } }\n${budget(rows)}`);
      return mtl(['validate', path.join(dir, 'exp.yaml')]);
    };
    const warned = validate(100);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toBe(`warning: ${kept(100)}\n`);
    expect(validate(23).stderr).toBe('');
  });
});

describe("eval --data with an empty cell under the run's missing: error", () => {
  const dir = tempDir();
  const runsDir = path.join(dir, 'runs');
  let runId = '';
  const csv = (empty: number): string =>
    `x,colour,y\n${lines(40, (i) => `${i === empty ? '' : i},${'rgb'[i % 3]},${(i * 0.3) % 2}`)}\n`;
  beforeAll(async () => {
    writeFile(dir, 'd.csv', csv(-1));
    const config = writeFile(
      dir,
      'exp.yaml',
      `${TRAINING}data: { csv: d.csv }\ntasks: [{ name: y, type: regression }]\n`,
    );
    runId = (await trainExperiment(loadConfig(config), { runsDir })).id;
  }, 120_000);

  it('hints at the file (or a new run), not at data.missing of the trained run', async () => {
    const file = writeFile(dir, 'new.csv', csv(3));
    const error = await rejectedUsageError(evaluateRun(runId, { runsDir, dataFile: file }));
    expect(error.message).toMatch(/new\.csv has 1 missing value \(data\.missing is "error"\):$/);
    expect(error.details).toEqual([
      'line 5, column "x"',
      'fill the cells or remove their rows in the file; data.missing of a trained run cannot change (to drop or ' +
        'impute such rows, retrain with data.missing set to "drop" or "impute")',
    ]);
  });
});

describe('the data report', () => {
  it('a categorical feature of one category says "1 category"', () => {
    const report: DataReport = {
      source: 'd.csv',
      rows: 10,
      usable: 10,
      splits: { train: 6, val: 2, test: 2 },
      inputSize: 3,
      columns: [
        { name: 'kt', type: 'text', use: 'categorical feature', categories: 1 },
        { name: 'colour', type: 'text', use: 'categorical feature', categories: 2 },
      ],
      warnings: [],
    };
    expect(dataReportLines(report)).toContain(
      '  categorical features (2): kt (text, 1 category), colour (text, 2 categories)',
    );
  });
});

describe('a column of split names that is not the split column', () => {
  const dir = tempDir();
  const csv = `x,split,y\n${lines(40, (i) => `${i},${['train', 'train', 'val', 'test'][i % 4]},${(i * 0.37) % 1}`)}\n`;
  const tasks = 'tasks: [{ name: y, type: regression }]\n';

  it('is a warning saying to split by it (it was a feature, and the rows were split at random)', async () => {
    expect(await warnings(dir, csv, '', tasks)).toContain(
      'column "split" holds only split names (test, train, val), but the rows are split at random and it is used as ' +
        'a feature; to split by it, set data.split: { column: split } (it then stops being a feature)',
    );
    expect((await warnings(dir, csv, ', split: { column: split }', tasks)).join('\n')).not.toMatch(/split names/);
  });
});

describe('data.categorical naming a column that is no feature', () => {
  const dir = tempDir();
  writeFile(dir, 'd.csv', `x,c,y\n${lines(30, (i) => `${i},${i % 3},${i % 2}`)}\n`);
  const refused = async (data: string): Promise<string> => {
    const config = writeFile(
      dir,
      'exp.yaml',
      `${TRAINING}data: { csv: d.csv${data} }\ntasks: [{ name: y, type: binary }]\n`,
    );
    return (await rejectedUsageError(validateData(loadConfig(config)))).message;
  };

  it('is refused at its config line, naming the entry and why it would change nothing (it was accepted)', async () => {
    expect(await refused(', categorical: [y]')).toBe(
      `${path.join(dir, 'exp.yaml')}:4:35: data.categorical[0]: "y" is the target of task "y"; data.categorical ` +
        'makes features categorical, so it would change nothing. Remove it from data.categorical.',
    );
    expect(await refused(', features: [x], categorical: [c]')).toContain(
      '"c" is not a feature (data.features leaves it out)',
    );
  });
});
