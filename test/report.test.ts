/**
 * `mtl report` (issue #19): one self-contained HTML file and its figures as SVG and Vega-Lite specs, for a run with a
 * gradient strategy, a seed group with baselines and a small sweep; checked the way a reader sees them — each
 * section present, each figure inline, and each SVG drawing the number of marks its data calls for.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { countMarks, renderSvg } from '../src/report/vega.js';
import { mtl, mtlInProcess } from './helpers/cli.js';
import { groupConfig } from './helpers/groups.js';
import { tempDir, writeFile } from './helpers.js';

interface ReportJson {
  html: string;
  figureDir: string;
  sections: { id: string; figures: number }[];
  figures: {
    id: string;
    svg: string;
    spec: string;
    marks: { line: number; symbol: number; rect: number; rule: number };
  }[];
}

const EPOCHS = 3;
let store: string;
let dir: string;

function report(args: string[]): ReportJson {
  const result = mtl(['report', ...args, '--runs-dir', store, '--json']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as ReportJson;
}

function figure(json: ReportJson, id: string): ReportJson['figures'][number] {
  const found = json.figures.find((f) => f.id === id);
  if (!found) throw new Error(`no figure ${id} in ${json.figures.map((f) => f.id).join(', ')}`);
  return found;
}

/** Nothing in the page reaches outside it: no script, no external URL in src/href/url(), no @import. */
function expectSelfContained(html: string): void {
  expect(html).not.toMatch(/<script/i);
  expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
  expect(html).not.toMatch(/url\(\s*["']?(https?:)?\/\//i);
  expect(html).not.toMatch(/@import/i);
}

beforeAll(() => {
  store = tempDir('mtl-report-store-');
  dir = tempDir('mtl-report-');
}, 60_000);

describe('mtl report RUN: one run with a gradient strategy', () => {
  let json: ReportJson;
  let runId = '';
  beforeAll(async () => {
    const config = writeFile(dir, 'pcgrad.yaml', groupConfig({ epochs: EPOCHS, extra: 'strategy: { name: pcgrad }' }));
    const trained = await mtlInProcess(['train', config, '--runs-dir', store, '--json']);
    expect(trained.code).toBe(0);
    const id = (JSON.parse(trained.stdout) as { id: string }).id;
    runId = id;
    json = report([id, '-o', path.join(dir, 'run.html')]);
  }, 120_000);

  it('--group with the run: exit 2 saying it is a run, and how to report it (it said there was no group)', async () => {
    const asGroup = await mtlInProcess(['report', '--group', runId, '--runs-dir', store]);
    expect(asGroup.code).toBe(2);
    expect(asGroup.stderr).toBe(
      `mtl: "${runId}" names the run ${runId}, not a seed group: --group reports a seed group.\n` +
        `  - report the run without --group: mtl report ${runId}\n`,
    );
  });

  it('-o a folder, or under a file: exit 2 naming the path, nothing written; a missing folder is made', async () => {
    const folder = path.join(dir, 'folder.html');
    mkdirSync(folder);
    const onFolder = await mtlInProcess(['report', runId, '-o', folder, '--runs-dir', store]);
    expect(onFolder.code).toBe(2);
    // The words and the remedy `mtl features -o DIR` gives (runs/fs-errors.ts).
    expect(onFolder.stderr).toContain(`mtl: Cannot write ${folder}: it is a folder, not a file (EISDIR).\n`);
    expect(onFolder.stderr).toContain('  - choose another file with -o, e.g. -o report.html\n');
    expect(existsSync(path.join(dir, 'folder-figures'))).toBe(false);
    const file = writeFile(dir, 'plain', 'x');
    const underFile = await mtlInProcess(['report', runId, '-o', path.join(file, 'r.html'), '--runs-dir', store]);
    expect(underFile.code).toBe(2);
    expect(underFile.stderr).toMatch(
      /^mtl: Cannot write .*plain\/r-figures \(the report's figures\): a file is in the way/,
    );
    expect(underFile.stderr).toContain('choose another file with -o');
    for (const result of [onFolder, underFile]) expect(result.stderr).not.toMatch(/\n\s+at /);
    const nested = await mtlInProcess([
      'report',
      runId,
      '-o',
      path.join(dir, 'new', 'deeper', 'r.html'),
      '--runs-dir',
      store,
    ]);
    expect(nested.code).toBe(0);
    expect(existsSync(path.join(dir, 'new', 'deeper', 'r.html'))).toBe(true);
  });

  it('writes the HTML where -o says, with every section and every figure inline, self-contained', () => {
    expect(json.html).toBe(path.join(dir, 'run.html'));
    const html = readFileSync(json.html, 'utf8');
    for (const id of ['curves', 'weights', 'record']) expect(html).toContain(`<section id="${id}">`);
    expect(json.figures.map((f) => f.id)).toEqual([
      'curves-y1',
      'curves-y2',
      'task-weights',
      'gradient-cosines',
      'gradient-conflicts',
    ]);
    expect((html.match(/<svg /g) ?? []).length).toBe(json.figures.length);
    expect(html).toContain('pcgrad');
    expect(html).toContain('backend');
    expectSelfContained(html);
  });

  it('draws per task two loss lines and one per val metric, and the best epoch as a rule on both panels', () => {
    // regression's default metrics: mse, mae, r2 (three val lines) beside train and val loss.
    for (const task of ['y1', 'y2']) {
      const marks = figure(json, `curves-${task}`).marks;
      expect(marks.line).toBe(2 + 3);
      expect(marks.rule).toBeGreaterThanOrEqual(2);
    }
  });

  it('draws a weight line per task, a cosine cell per epoch and pair, a conflict line per pair', () => {
    expect(figure(json, 'task-weights').marks.line).toBe(2);
    expect(figure(json, 'gradient-cosines').marks.rect).toBe(EPOCHS * 1);
    expect(figure(json, 'gradient-conflicts').marks.line).toBe(1);
  });

  it('saves each figure as SVG and as its Vega-Lite spec, which draws the same SVG again', async () => {
    expect(readdirSync(json.figureDir).sort()).toEqual(
      json.figures.flatMap((f) => [`${f.id}.svg`, `${f.id}.vl.json`]).sort(),
    );
    const weights = figure(json, 'task-weights');
    const again = await renderSvg(JSON.parse(readFileSync(weights.spec, 'utf8')));
    expect(again).toBe(readFileSync(weights.svg, 'utf8'));
    expect(countMarks(again, 'line')).toBe(2);
  });
});

describe('mtl report RUN after mtl analyze: the relatedness matrices', () => {
  it('draws each measured matrix with a cell per ordered pair of tasks (both orders of a symmetric pair)', async () => {
    const config = writeFile(dir, 'analyze.yaml', groupConfig({ epochs: EPOCHS, extra: 'strategy: { name: pcgrad }' }));
    const trained = await mtlInProcess(['train', config, '--runs-dir', store, '--json']);
    const id = (JSON.parse(trained.stdout) as { id: string }).id;
    expect((await mtlInProcess(['analyze', id, '--runs-dir', store])).code).toBe(0);
    const json = report([id, '-o', path.join(dir, 'analyzed.html')]);
    const html = readFileSync(json.html, 'utf8');
    expect(html).toContain('<section id="relatedness">');
    // Two tasks: a symmetric measure fills (y1, y2) and (y2, y1); affinity is directed, every (from, to).
    expect(figure(json, 'relatedness-association').marks.rect).toBe(2);
    expect(figure(json, 'relatedness-gradient-cosine').marks.rect).toBe(2);
  }, 120_000);
});

describe('mtl report RUN of a domain-adversarial run', () => {
  it('draws the domain discriminator’s accuracy against its chance level, one line each', async () => {
    const config = writeFile(
      dir,
      'dann.yaml',
      [
        'name: dann',
        'backend: wasm',
        'data:',
        '  dataset: synthetic-correlated',
        '  options: { samples: 300, target_domain_shift: 3 }',
        '  domains: { column: domain, source: source, target: target }',
        'tasks:',
        '  - { name: y1, type: regression, metrics: [r2] }',
        '  - { name: y2, type: regression, metrics: [r2] }',
        'model:',
        '  trunk: [{ type: dense, units: 8, activation: relu }]',
        'training:',
        `  epochs: ${EPOCHS}`,
        '',
      ].join('\n'),
    );
    const trained = await mtlInProcess(['train', config, '--runs-dir', store, '--json']);
    expect(trained.code).toBe(0);
    const id = (JSON.parse(trained.stdout) as { id: string }).id;
    const json = report([id, '-o', path.join(dir, 'dann.html')]);
    expect(readFileSync(json.html, 'utf8')).toContain('<section id="adversaries">');
    expect(figure(json, 'adversary-domain').marks.line).toBe(2);
  }, 120_000);
});

describe('mtl report --group: seeds and single-task baselines', () => {
  let json: ReportJson;
  beforeAll(async () => {
    const config = writeFile(
      dir,
      'group.yaml',
      groupConfig({ seeds: '[0, 1]', epochs: EPOCHS, extra: 'baselines: single-task' }),
    );
    const trained = await mtlInProcess(['train', config, '--runs-dir', store, '--json']);
    expect(trained.code).toBe(0);
    const group = (JSON.parse(trained.stdout) as { group: { id: string } }).group.id;
    json = report(['--group', group]);
  }, 180_000);

  it('goes to <runs>/reports/<group>.html by default', () => {
    expect(path.dirname(json.html)).toBe(path.join(store, 'reports'));
    expect(existsSync(json.html)).toBe(true);
    expectSelfContained(readFileSync(json.html, 'utf8'));
  });

  it('bars MTL against the baselines per task with an error bar each, and a curve per seed', () => {
    const transfer = figure(json, 'group-transfer');
    expect(transfer.marks.rect).toBe(2 * 2);
    expect(transfer.marks.rule).toBe(2 * 2);
    expect(figure(json, 'group-seed-curves-y1').marks.line).toBe(2);
  });
});

describe('mtl report --sweep', () => {
  let json: ReportJson;
  let sweepId = '';
  beforeAll(async () => {
    writeFile(dir, 'base.yaml', groupConfig({ epochs: 2 }));
    const sweep = writeFile(dir, 'sweep.yaml', 'name: s\nbase: base.yaml\nspace:\n  training.lr: [0.001, 0.01, 0.1]\n');
    const ran = await mtlInProcess(['sweep', sweep, '--jobs', '1', '--runs-dir', store, '--json']);
    expect(ran.code).toBe(0);
    sweepId = (JSON.parse(ran.stdout) as { id: string }).id;
    json = report(['--sweep', sweepId]);
  }, 180_000);

  it('bars each configuration per task and plots the configurations on two metrics with the front joined', () => {
    expect(figure(json, 'sweep-metric-bars').marks.rect).toBe(3 * 2);
    const tradeOff = figure(json, 'sweep-trade-off');
    expect(tradeOff.marks.symbol).toBe(3);
    expect(tradeOff.marks.line).toBe(1);
    expect(readFileSync(json.html, 'utf8')).toContain('training.lr=0.01');
  });

  it('--axes picks the trade-off’s two metrics (with --metric, any the trials report); a bad one exits 2', async () => {
    const chosen = report([
      '--sweep',
      sweepId,
      '--metric',
      'mae',
      '--axes',
      'y2/mae,y1/mae',
      '-o',
      path.join(dir, 'ax.html'),
    ]);
    const html = readFileSync(chosen.html, 'utf8');
    expect(html).toContain('Trade-off: y2/mae against y1/mae');
    expect(figure(chosen, 'sweep-trade-off').marks.symbol).toBe(3);
    const unknown = await mtlInProcess(['report', '--sweep', sweepId, '--axes', 'y1/r2,y2/mse', '--runs-dir', store]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--axes: "y1/r2" is not a metric of the compared rows.');
    expect(unknown.stderr).toContain('choose two of: y1/mse, y2/mse');
    const malformed = await mtlInProcess(['report', '--sweep', sweepId, '--axes', 'y1/mse', '--runs-dir', store]);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('--axes "y1/mse": expected two metrics, TASK/METRIC,TASK/METRIC.');
  });

  it('says what it wrote on stderr, in the singular for one section', async () => {
    const written = await mtlInProcess([
      'report',
      '--sweep',
      sweepId,
      '-o',
      path.join(dir, 'one.html'),
      '--runs-dir',
      store,
    ]);
    expect(written.code).toBe(0);
    expect(written.stdout.trim()).toBe(path.join(dir, 'one.html'));
    expect(written.stderr).toContain(`sweep ${sweepId}: 1 section, 2 figures (SVG and Vega-Lite specs in `);
  });
});

describe('mtl report of a crashed run and of a run that diverged before a good epoch', () => {
  it('names the crash as mtl runs does, and no best epoch where there was none', async () => {
    const config = writeFile(dir, 'crashed.yaml', groupConfig({ epochs: 2 }));
    const trained = await mtlInProcess(['train', config, '--runs-dir', store, '--json']);
    expect(trained.code, trained.stderr).toBe(0);
    const { id, dir: runDir } = JSON.parse(trained.stdout) as { id: string; dir: string };
    const metaFile = path.join(runDir, 'meta.json');
    const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(
      metaFile,
      JSON.stringify({ ...meta, status: 'running', process: { pid: 2 ** 22 + 12345, host: hostname() } }),
    );
    const crashed = readFileSync(report([id, '-o', path.join(dir, 'crashed.html')]).html, 'utf8');
    expect(crashed).toMatch(/class="subtitle">[^<]* · crashed · 2 epochs · /);
    expect(crashed).toContain('resume it with: mtl train --resume');
    expect(crashed).not.toMatch(/ · running · /);

    const diverging = await mtlInProcess([
      'train',
      'configs/quickstart.yaml',
      '--set',
      'training.lr=1e6',
      '--set',
      'data.options.samples=600',
      '--runs-dir',
      store,
    ]);
    expect(diverging.code, diverging.stderr).toBe(1);
    const html = readFileSync(report([diverging.stdout.trim(), '-o', path.join(dir, 'diverged.html')]).html, 'utf8');
    expect(html).toMatch(/class="subtitle">[^<]* · diverged · 1 epoch · [^<]* · no best epoch</);
    expect(html).toContain('<td>epochs</td><td>1, no best epoch</td>');
    expect(html).not.toMatch(/best( epoch)? -1/);
  }, 120_000);
});

describe('mtl report: what it refuses', () => {
  it.each([
    [[], /needs something to report on/],
    [['some-run', '--sweep', 'x'], /one kind of target at a time/],
  ])('mtl report %j: exit 2 with the reason', async (args, message) => {
    const result = await mtlInProcess(['report', ...args, '--runs-dir', store]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it.each([
    [['some-run', '--metric', 'acc'], /^mtl: --metric acc: only a sweep's report \(--sweep ID\) compares a metric/],
    [
      ['some-run', '--axes', 'a/x,b/y'],
      /^mtl: --axes picks the two metrics of the trade-off figure, which a report of/,
    ],
    [['--group', 'g', '--axes', 'a/x,b/y'], /^mtl: --axes picks the two metrics/],
  ])('mtl report %j: a flag for a figure the report does not draw, exit 2 (was ignored)', async (args, message) => {
    const result = await mtlInProcess(['report', ...args, '--runs-dir', store]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('-o without .html: exit 2, nothing written', async () => {
    const result = await mtlInProcess(['report', '--sweep', 's', '-o', path.join(dir, 'r.txt'), '--runs-dir', store]);
    expect(result.code).toBe(2);
    expect(existsSync(path.join(dir, 'r.txt'))).toBe(false);
  });
});
