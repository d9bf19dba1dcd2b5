/**
 * `mtl eval` through the built CLI: a run missing inside a seed group's member (`G/seed-1/pairs/b+a`) is told among
 * that member's own runs, not the group's members; a column missing from a single-source `--data` file is named by
 * the config field as the config writes it (`tasks[1].target`), as multi-input eval names it; and a category that
 * training never saw is encoded as all zeros with one warning per column, as training's own val and test rows are,
 * instead of refusing the file.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeFile } from './helpers.js';
import { mtl, mtlInProcess, root } from './helpers/cli.js';
import { groupConfig } from './helpers/groups.js';

const lines = (count: number, line: (i: number) => string): string =>
  Array.from({ length: count }, (_, i) => line(i)).join('\n');

const pid = (letter: string, i: number): string => `${letter}${String(i).padStart(4, '0')}`;

/** 40 rows: age, income, churn (0/1), pid (P0000…, distinct), colour (red, green, blue). */
const table = (): string =>
  'age,income,churn,pid,colour\n' +
  `${lines(40, (i) => `${20 + i},${100 + 7 * i},${i % 2},${pid('P', i)},${['red', 'green', 'blue'][i % 3]}`)}\n`;

const config = (data: string, tasks: string): string =>
  `name: t
backend: wasm
data:
  csv: d.csv
  features: ${data}
tasks:
${tasks}
model: { trunk: [{ type: dense, units: 4 }] }
training: { epochs: 1 }
`;

/** Trains the config in `dir` (its d.csv the table above) into `dir/runs`; the run's id. */
function train(dir: string, text: string): string {
  writeFile(dir, 'd.csv', table());
  const file = writeFile(dir, 'c.yaml', text);
  const trained = mtl(['train', file, '--runs-dir', path.join(dir, 'runs')]);
  expect(trained.code, trained.stderr).toBe(0);
  return trained.stdout.trim();
}

describe('mtl eval GROUP/seed-1/<a run not inside the member>', () => {
  let runsDir: string;
  let group = '';

  beforeAll(async () => {
    const dir = tempDir('mtl-eval-member-');
    runsDir = path.join(dir, 'runs');
    const file = path.join(dir, 'g.yaml');
    const extra = 'baselines: single-task\nanalysis: { pairs: true }\nstrategy: { name: uncertainty }';
    writeFileSync(file, groupConfig({ seeds: '[1, 2]', epochs: 1, extra }));
    const trained = await mtlInProcess(['train', file, '--runs-dir', runsDir]);
    expect(trained.code, trained.stderr).toBe(0);
    group = readdirSync(runsDir)[0] ?? '';
  }, 120_000);

  it("the pair in the wrong order: exit 2 listing the member's runs (the pair in order), not the members", async () => {
    const member = `${group}/seed-1`;
    const result = await mtlInProcess(['eval', `${member}/pairs/y2+y1`, '--runs-dir', runsDir]);
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe(
      `mtl: Run ${member} has no run "pairs/y2+y1" (no ${path.join(runsDir, group, 'seed-1', 'pairs', 'y2+y1')}` +
        `${path.sep}meta.json).`,
    );
    expect(result.stderr).toContain(
      `  - the runs inside it: ${member}/baselines/y1, ${member}/baselines/y2, ${member}/pairs/y1+y2\n`,
    );
    expect(result.stderr).not.toContain('its members');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).toBe('');
    const right = await mtlInProcess(['eval', `${member}/pairs/y1+y2`, '--runs-dir', runsDir]);
    expect(right.code, right.stderr).toBe(0);
    expect(right.stderr).toContain(`run ${member}/pairs/y1+y2, `);
  });

  it('a member the group lacks still lists the members', async () => {
    const result = await mtlInProcess(['eval', `${group}/seed-9/pairs/y1+y2`, '--runs-dir', runsDir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `mtl: Group ${group} has no run "seed-9/pairs/y1+y2".\n` +
        `  - its members: ${group}/seed-1 (completed), ${group}/seed-2 (completed)\n`,
    );
  });
});

describe('mtl eval RUN --data FILE: a column the file lacks', () => {
  it('is named by the config field as written, tasks[1].target (was tasks[big].targets[0])', async () => {
    const dir = tempDir('mtl-eval-field-');
    const tasks = '  - { name: churn, type: binary }\n  - { name: big, type: regression, target: income }';
    const run = train(dir, config('[age, colour]', tasks));
    const file = writeFile(dir, 'new.csv', 'age,colour,churn\n30,red,0\n40,blue,1\n');
    const result = await mtlInProcess(['eval', run, '--runs-dir', path.join(dir, 'runs'), '--data', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `mtl: tasks[1].target: column "income" is not in ${file}\n  - columns there: age, colour, churn\n`,
    );
  }, 120_000);
});

describe('mtl eval RUN --data FILE with categories training never saw', () => {
  let dir: string;
  let run: string;

  beforeAll(() => {
    dir = tempDir('mtl-eval-unseen-');
    run = train(dir, config('[age, pid, colour]', '  - { name: churn, type: binary }'));
  }, 120_000);

  /** 12 rows: new pids Q0000…Q0011, colour purple on rows 1 and 7, teal on row 4, else known. */
  const colour = (i: number): string => (i === 1 || i === 7 ? 'purple' : i === 4 ? 'teal' : 'red');
  const newRows = (): string =>
    `age,income,churn,pid,colour\n${lines(12, (i) => `${25 + i},150,${i % 2},${pid('Q', i)},${colour(i)}`)}\n`;

  it('evaluates every row (exit 0), with one warning per column naming values and rows (was exit 2)', async () => {
    const file = writeFile(dir, 'new.csv', newRows());
    const result = await mtlInProcess(['eval', run, '--runs-dir', path.join(dir, 'runs'), '--data', file]);
    expect(result.code, result.stderr).toBe(0);
    const warnings = result.stderr.split('\n').filter((line) => line.startsWith('warning: '));
    expect(warnings).toEqual([
      `warning: ${file}: column "pid": 12 rows hold categories no training row has ("Q0000", "Q0001", "Q0002", ` +
        '"Q0003", "Q0004", …); they are encoded as all zeros; "pid" holds a different value on each of the 12 rows ' +
        'here: it is probably an identifier, which tells the model nothing about new rows; retrain without it, with ' +
        'data.features: [age, colour]',
      `warning: ${file}: column "colour": 3 rows hold categories no training row has ("purple", "teal"); they are ` +
        'encoded as all zeros',
    ]);
    expect(result.stderr).toContain(`, ${file}: 12 rows\n`);
    expect(result.stdout).toMatch(/^churn\/accuracy +\S+ +higher$/m);
    const saved = /saved (\S+)/.exec(result.stderr)?.[1];
    expect(saved).toBeDefined();
    const stored = JSON.parse(readFileSync(path.resolve(root, saved!), 'utf8')) as { rows: number; warnings: string[] };
    expect(stored.rows).toBe(12);
    expect(stored.warnings).toEqual(warnings.map((line) => line.slice('warning: '.length)));
  }, 120_000);

  it('one unseen value on one row: singular, no identifier hint', async () => {
    const stored = readFileSync(path.join(dir, 'runs', run, 'preprocessing.json'), 'utf8');
    const { features } = JSON.parse(stored) as { features: { column: string; categories?: string[] }[] };
    const [a, b] = features.find((f) => f.column === 'pid')!.categories!;
    const file = writeFile(dir, 'one.csv', `age,income,churn,pid,colour\n30,100,0,${a},red\n31,100,1,${b},mauve\n`);
    const result = await mtlInProcess(['eval', run, '--runs-dir', path.join(dir, 'runs'), '--data', file, '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe(
      `warning: ${file}: column "colour": 1 row holds categories no training row has ("mauve"); they are encoded as ` +
        'all zeros\n',
    );
    expect((JSON.parse(result.stdout) as { rows: number }).rows).toBe(2);
  }, 120_000);
});
