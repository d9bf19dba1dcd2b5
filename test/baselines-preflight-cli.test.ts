/**
 * A baseline that cannot train is refused before anything trains (exit 2, no run folder), by `mtl train` and
 * `mtl validate` alike, with a message located at the config line that names what it cannot have: under
 * `missing_targets: mask`, a task with too few labelled rows for its single-task baseline (per seed of a seed group);
 * with `init:`, a selector of a task's parameters that a baseline lacks, or of the shared parameters in the towers
 * baseline. Before, the multi-task run (and the baselines before it) trained first, and the baseline then failed
 * (exit 1), its message counting the run's usable rows as if they were the task's.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeFile } from './helpers.js';
import { mtl, mtlInProcess } from './helpers/cli.js';

/** Rows of x0, x1, x2, y1 (every row) and `rare`, labelled where `labelled(i)`; then `extra` columns per row. */
function table(rows: number, labelled: (i: number) => boolean, extra?: (i: number) => string): string {
  const lines = Array.from({ length: rows }, (_, i) => {
    const x = [((i * 37) % 101) / 101, ((i * 53) % 97) / 97, ((i * 71) % 89) / 89];
    const rare = labelled(i) ? (x[0]! + x[1]!).toFixed(3) : '';
    const values = [...x.map((v) => v.toFixed(3)), (x[0]! - x[2]!).toFixed(3), rare];
    return [...values, ...(extra ? [extra(i)] : [])].join(',');
  });
  return `x0,x1,x2,y1,rare${extra ? ',split' : ''}\n${lines.join('\n')}\n`;
}

/** A two-task config (y1, rare) on `csv`; the tasks are on lines 9 and 10. */
function configText(csv: string, head: string, split: string, tail = 'baselines: single-task'): string {
  return [
    'name: preflight',
    head,
    'backend: wasm',
    'data:',
    `  csv: ${csv}`,
    '  features: [x0, x1, x2]',
    `  split: ${split}`,
    'tasks:',
    '  - { name: y1, type: regression }',
    '  - { name: rare, type: regression }',
    'model: { trunk: [{ type: dense, units: 8, activation: relu }] }',
    'training: { epochs: 2, lr: 0.01, batch_size: 32 }',
    tail,
    '',
  ].join('\n');
}

const REMEDY =
  '  - label more rows of "rare", change data.split so that more of its labelled rows are in each split, or leave ' +
  'it out of the baselines (remove the task, or train without baselines: baselines: none)';

/** The message's first line, its detail lines, and that it is no stack trace. */
function refusal(result: { code: number; stderr: string }): string[] {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  const lines = result.stderr.trimEnd().split('\n');
  return lines.slice(lines.findIndex((line) => line.startsWith('mtl: ')));
}

describe('a single-task baseline with too few labelled rows (missing_targets: mask)', () => {
  let dir: string;
  let file: string;
  beforeAll(() => {
    dir = tempDir('mtl-preflight-rows-');
    // 80 · 20 · 20 rows by a split column; "rare" is labelled on one row of each split.
    writeFile(
      dir,
      'sparse.csv',
      table(
        120,
        (i) => i === 3 || i === 85 || i === 105,
        (i) => (i < 80 ? 'train' : i < 100 ? 'val' : 'test'),
      ),
    );
    file = writeFile(dir, 'sparse.yaml', configText('sparse.csv', 'seed: 0', '{ column: split }'));
  });

  const expected = (at: string): string[] => [
    `mtl: ${at}: tasks[1]: the single-task baseline of task "rare" would have too few labelled rows to train (a ` +
      "baseline trains and is measured only on the rows its task labels, in the multi-task run's split); rows " +
      'labelled per split:',
    '  - "rare": train 1, val 1, test 1: the training split has 1 row labelled for task "rare"; at least 5 are needed',
    REMEDY,
  ];

  it('mtl train refuses it before the run trains: exit 2 at the task, its labelled rows, no run', async () => {
    const runsDir = path.join(dir, 'runs');
    expect(refusal(mtl(['train', file, '--runs-dir', runsDir]))).toEqual(expected(`${file}:10:5`));
    expect(existsSync(runsDir)).toBe(false);
    // Asked for by the flag, on a config without `baselines:`, the same.
    const flagged = writeFile(dir, 'flagged.yaml', configText('sparse.csv', 'seed: 0', '{ column: split }', ''));
    const result = await mtlInProcess(['train', flagged, '--runs-dir', runsDir, '--baselines', 'single-task']);
    expect(refusal(result)).toEqual(expected(`${flagged}:10:5`));
    expect(existsSync(runsDir)).toBe(false);
  });

  it('mtl validate refuses it with the same message', async () => {
    expect(refusal(await mtlInProcess(['validate', file]))).toEqual(expected(`${file}:10:5`));
  });
});

describe('a seed group whose later seed leaves a baseline too few labelled rows', () => {
  // 200 rows split 0.6/0.2/0.2 by the seed, "rare" labelled on every 25th: seeds 6 and 7 leave its baseline enough
  // rows in every split; seed 2 puts 3 of them in training.
  let dir: string;
  beforeAll(() => {
    dir = tempDir('mtl-preflight-seeds-');
    writeFile(
      dir,
      'seeds.csv',
      table(200, (i) => i % 25 === 0),
    );
  });
  const split = '{ train: 0.6, val: 0.2, test: 0.2 }';
  const expected = (at: string): string[] => [
    `mtl: ${at}: tasks[1]: the single-task baseline of task "rare" would have too few labelled rows to train (a ` +
      "baseline trains and is measured only on the rows its task labels, in the multi-task run's split of seed 2); " +
      'rows labelled per split:',
    '  - "rare": train 3, val 2, test 3: the training split has 3 rows labelled for task "rare"; at least 5 are ' +
      'needed',
    REMEDY,
  ];

  it('mtl train --seeds refuses it before the first seed trains: exit 2, no group folder', async () => {
    const file = writeFile(dir, 'one.yaml', configText('seeds.csv', 'seed: 0', split));
    const runsDir = path.join(dir, 'runs');
    expect(refusal(await mtlInProcess(['train', file, '--seeds', '6,2', '--runs-dir', runsDir]))).toEqual(
      expected(`${file}:10:5`),
    );
    expect(existsSync(runsDir)).toBe(false);
  });

  it('mtl validate checks each seed of seeds: (and not the seed a group does not train)', async () => {
    const file = writeFile(dir, 'group.yaml', configText('seeds.csv', 'seeds: [6, 2]', split));
    expect(refusal(await mtlInProcess(['validate', file]))).toEqual(expected(`${file}:10:5`));
    const fine = writeFile(dir, 'fine.yaml', configText('seeds.csv', 'seeds: [6, 7]', split));
    const result = await mtlInProcess(['validate', fine]);
    expect(result.code, result.stderr).toBe(0);
  });
});

describe('init: a selector a baseline cannot load', () => {
  let dir: string;
  let runsDir: string;
  let source: string;
  beforeAll(async () => {
    dir = tempDir('mtl-preflight-init-');
    runsDir = path.join(dir, 'runs');
    writeFile(
      dir,
      'full.csv',
      table(120, () => true),
    );
    const text = configText('full.csv', 'seed: 0', '{ train: 0.7, val: 0.15, test: 0.15 }', '')
      .replace('name: preflight', 'name: source')
      .replace('  - { name: rare, type: regression }\n', '');
    const trained = await mtlInProcess(['train', writeFile(dir, 'source.yaml', text), '--runs-dir', runsDir]);
    expect(trained.code, trained.stderr).toBe(0);
    source = trained.stdout.trim();
  }, 60_000);

  /** The config with this `init:` (lines 14 on) and baselines setting. */
  function initConfig(name: string, init: string[], baselines: string): string {
    const text = configText('full.csv', 'seed: 0', '{ train: 0.7, val: 0.15, test: 0.15 }', baselines);
    return writeFile(dir, name, `${text}init:\n  from: ${source}\n${init.map((line) => `  ${line}\n`).join('')}`);
  }

  it('a task a single-task baseline lacks: exit 2 at the selector, every such selector listed, no run', async () => {
    const file = initConfig(
      'heads.yaml',
      ['load: [shared, heads.y1]', 'freeze: [shared, tasks/y1/output]'],
      'baselines: single-task',
    );
    const expected = [
      `mtl: ${file}:16:18: init.load[1]: "heads.y1" picks parameters of task "y1", which the single-task baseline ` +
        'of task "rare" does not have. A baseline or pair run starts from init.from with the run\'s init.load and ' +
        'init.freeze, so it would fail after the multi-task run has trained.',
      '  - init.freeze[1]: "tasks/y1/output" picks parameters of task "y1", which the single-task baseline of task ' +
        '"rare" does not have',
      '  - take these selectors out of init.load and init.freeze, or train without baselines (baselines: none)',
    ];
    expect(refusal(await mtlInProcess(['train', file, '--runs-dir', runsDir]))).toEqual(expected);
    expect(readdirSync(runsDir)).toEqual([source]);
    expect(refusal(await mtlInProcess(['validate', file]))).toEqual(expected);
  });

  /** The refusal of "heads" at `at` (init.load[1]) in the baseline of "rare"; `details` go before the fix. */
  const headsRefusal = (at: string, details: string[]): string[] => [
    `mtl: ${at}: init.load[1]: "heads" picks nothing in the single-task baseline of task "rare": the source run ` +
      `${source} has none of its tasks (the source's tasks: y1). A baseline or pair run starts from init.from with ` +
      "the run's init.load and init.freeze, so it would fail after the multi-task run has trained.",
    ...details,
    '  - take "heads" out of init.load and init.freeze (load the shared parameters alone: load: [shared]), or train ' +
      'without baselines (baselines: none)',
  ];

  it('"heads" where a single-task baseline has no task of the source: exit 2 at the selector, no run', async () => {
    // The source has y1 only: "heads" loads y1's head into the run, and nothing into the baseline of "rare".
    const file = initConfig('all-heads.yaml', ['load: [shared, heads]', 'freeze: [heads]'], 'baselines: single-task');
    const expected = headsRefusal(`${file}:16:18`, ['  - init.freeze[0]: "heads" too']);
    expect(refusal(await mtlInProcess(['train', file, '--runs-dir', runsDir]))).toEqual(expected);
    expect(readdirSync(runsDir)).toEqual([source]);
    // A seed group: refused before the group exists.
    expect(refusal(await mtlInProcess(['train', file, '--runs-dir', runsDir, '--seeds', '1,2']))).toEqual(expected);
    expect(readdirSync(runsDir)).toEqual([source]);
    expect(refusal(await mtlInProcess(['validate', file, '--runs-dir', runsDir]))).toEqual(expected);
    // Without the baseline that lacks them, "heads" is fine: the run loads y1's head.
    const fine = initConfig('heads-fine.yaml', ['load: [shared, heads]'], 'baselines: none');
    const result = await mtlInProcess(['validate', fine, '--runs-dir', runsDir]);
    expect(result.code, result.stderr).toBe(0);
  });

  it('"heads" where several baselines have none of the source\'s tasks: each named', async () => {
    // A third task, rare2 (a copy of rare's column): its baseline lacks y1 too.
    const rows = readFileSync(path.join(dir, 'full.csv'), 'utf8').trimEnd().split('\n');
    writeFile(
      dir,
      'three.csv',
      `${rows.map((row, i) => `${row},${i === 0 ? 'rare2' : row.split(',')[4]}`).join('\n')}\n`,
    );
    const file = initConfig('three.yaml', ['load: [shared, heads]'], 'baselines: single-task');
    writeFileSync(
      file,
      readFileSync(file, 'utf8')
        .replace('csv: full.csv', 'csv: three.csv')
        .replace(
          '  - { name: rare, type: regression }\n',
          '  - { name: rare, type: regression }\n  - { name: rare2, type: regression }\n',
        ),
    );
    expect(refusal(await mtlInProcess(['train', file, '--runs-dir', runsDir]))).toEqual(
      headsRefusal(`${file}:17:18`, ['  - and in the single-task baseline of task "rare2"']),
    );
    expect(readdirSync(runsDir)).toEqual([source]);
  });

  it('shared parameters (init.load by default) in the towers baseline, which shares none: exit 2, no run', async () => {
    const file = initConfig('towers.yaml', [], 'baselines: towers');
    expect(refusal(await mtlInProcess(['train', file, '--runs-dir', runsDir]))).toEqual([
      `mtl: ${file}:15:3: init.load[0]: "shared" picks parameters shared by every task, and the towers baseline ` +
        "shares none. A baseline or pair run starts from init.from with the run's init.load and init.freeze, so it " +
        'would fail after the multi-task run has trained.',
      '  - take the selector out of init.load and init.freeze (init.load is [shared] when not given), train ' +
        'single-task baselines (baselines: single-task), or train without baselines (baselines: none)',
    ]);
    expect(readdirSync(runsDir)).toEqual([source]);
  });
});
