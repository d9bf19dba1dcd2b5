/**
 * `mtl eval --data` and `mtl features --data` on files that are not the run's own: a multi-input run's file for one
 * task names that task's own config fields when a column is missing (`tasks[1].data.features`, `tasks[1].target`, as
 * training's data errors do), a `TASK=` naming no task is said to be one, `--with-targets` writes the targets of the
 * tasks whose file is given; a DANN run (data.domains) is evaluated on a file without the domain column, its domain
 * discriminator left out with a note.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/select.js';
import { parseConfigText } from '../src/config/load.js';
import { trainExperiment } from '../src/index.js';
import { tempDir } from './helpers.js';
import { mtl, root } from './helpers/cli.js';
import { writeSyntheticCsv } from './helpers/csv.js';
import { configText, writeSources } from './helpers/multi-input.js';

let dir: string;
let runsDir: string;
let multi: string;
let dann: string;

const load = (text: string) => parseConfigText(text, { file: path.join(dir, 'exp.yaml') });

const DANN = `name: dann
seed: 0
backend: wasm
data:
  csv: sites.csv
  domains: { column: site, source: [a, b], target: c }
tasks:
  - { name: y, type: binary }
model: { trunk: [{ type: dense, units: 8, activation: relu }] }
training: { epochs: 2, batch_size: 16 }
`;

beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
  dir = tempDir('mtl-eval-fields-');
  runsDir = path.join(dir, 'runs');
  writeSources(dir);
  // target.csv without x1 (a feature of z's source).
  const target = readFileSync(path.join(dir, 'target.csv'), 'utf8').trim().split('\n');
  writeFileSync(
    path.join(dir, 'target-no-x1.csv'),
    `${target
      .map((line) =>
        line
          .split(',')
          .filter((_, i) => i !== 1)
          .join(','),
      )
      .join('\n')}\n`,
  );
  multi = (await trainExperiment(load(configText()), { runsDir })).id;
  writeSyntheticCsv(dir, 'sites.csv', {
    seed: 7,
    rows: 120,
    header: ['site', 'x1', 'x2', 'y'],
    digits: 4,
    row: (rng, i) => {
      const [a, b] = [rng.normal(), rng.normal()];
      return [['a', 'b', 'c'][i % 3]!, a, b, a + b > 0 ? 'pos' : 'neg'];
    },
  });
  const sites = readFileSync(path.join(dir, 'sites.csv'), 'utf8').trim().split('\n');
  writeFileSync(
    path.join(dir, 'no-site.csv'),
    `${sites.map((line) => line.slice(line.indexOf(',') + 1)).join('\n')}\n`,
  );
  dann = (await trainExperiment(load(DANN), { runsDir })).id;
}, 120_000);

const evalData = (run: string, ...data: string[]) =>
  mtl(['eval', run, '--runs-dir', runsDir, ...data.flatMap((d) => ['--data', d])]);

describe('mtl eval --data TASK=FILE of a multi-input run', () => {
  it("a feature missing from z's file names z's own field, tasks[1].data.features", () => {
    const result = evalData(multi, `z=${path.join(dir, 'target-no-x1.csv')}`);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^mtl: tasks\[1\]\.data\.features: column "x1" is not in .*target-no-x1\.csv/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("another source's file for z names z's target as the config writes it, tasks[1].target", () => {
    const result = evalData(multi, `z=${path.join(dir, 'source.csv')}`);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^mtl: tasks\[1\]\.target: column "z" is not in .*source\.csv/);
    expect(result.stderr).not.toContain('tasks[z]');
  });

  it('w=FILE, where w is no task of the run (and no file is called so): there is no task w', () => {
    const result = evalData(multi, `w=${path.join(dir, 'source.csv')}`);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`--data "w=${path.join(dir, 'source.csv')}": run ${multi} has no task "w"; did`);
    expect(result.stderr).toContain('  - --data TASK=FILE: TASK is one of y, z');
  });
});

describe('mtl features --data z=FILE --with-targets of a multi-input run', () => {
  it("writes z's target only: the file holds no other task's", () => {
    const out = path.join(dir, 'z-features.csv');
    const result = mtl([
      'features',
      multi,
      '--runs-dir',
      runsDir,
      '--data',
      `z=${path.join(dir, 'target.csv')}`,
      '--with-targets',
      '-o',
      out,
    ]);
    expect(result.stderr).not.toContain('is not in');
    expect(result.code).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    const header = lines[0]!.split(',');
    expect(header.at(-1)).toBe('z');
    expect(header).not.toContain('y');
    const zs = readFileSync(path.join(dir, 'target.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => Number(line.split(',').at(-1)));
    expect(lines.slice(1).map((line) => Number(line.split(',').at(-1)))).toEqual(zs);
  });
});

describe('mtl eval --data of a DANN run (data.domains) on a file without the domain column', () => {
  it('evaluates the tasks and leaves the domain discriminator out, with a note', () => {
    const result = evalData(dann, path.join(dir, 'no-site.csv'));
    expect(result.stderr).not.toContain('tasks[domain]');
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(
      `note: ${path.join(dir, 'no-site.csv')} has no column "site" (data.domains.column): the domain discriminator ` +
        '(adversary domain) is left out; the tasks are evaluated on every row',
    );
    expect(result.stdout).toMatch(/y\/accuracy/);
    expect(result.stdout).not.toContain('(adversary)');
    const saved = /saved (.*\.json)/.exec(result.stderr)?.[1];
    const stored = JSON.parse(readFileSync(path.resolve(root, saved!), 'utf8')) as {
      rows: number;
      notes?: string[];
      adversaries?: unknown;
    };
    expect(stored.rows).toBe(120);
    expect(stored.notes).toHaveLength(1);
    expect(stored.adversaries).toBeUndefined();
  });

  it('with the column, the domain discriminator is measured as before', () => {
    const result = evalData(dann, path.join(dir, 'sites.csv'));
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('domain/accuracy (adversary)');
    expect(result.stderr).not.toContain('note:');
  });
});
