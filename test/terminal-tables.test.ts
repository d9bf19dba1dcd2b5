/**
 * Terminal output (issue #19): tables mark each metric's best value on a terminal — bold green where colour is
 * allowed, a trailing ◂ under NO_COLOR, nothing when not a terminal (scripts read that) — and `mtl runs` shows a
 * sparkline of each run's monitored value on a terminal.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bestCells, sparkline, table } from '../src/cli/output.js';
import { bin, mtl, root } from './helpers/cli.js';
import { groupConfig } from './helpers/groups.js';
import { tempDir, writeFile } from './helpers.js';

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

describe('bestCells', () => {
  it('marks the best finite value by direction, every tie, and nothing with fewer than two values', () => {
    expect(bestCells([0.5, 0.9, 0.9, Number.NaN], true)).toEqual([false, true, true, false]);
    expect(bestCells([0.5, 0.9, undefined], false)).toEqual([true, false, false]);
    expect(bestCells([0.5, undefined], true)).toEqual([false, false]);
  });
});

describe('table alignment', () => {
  it("right-aligns a paired t-test's column (t=… p=…) as a number column, the empty and — cells included", () => {
    const lines = table(
      ['task', 'paired t-test', 'verdict'],
      [
        ['a gain', 't=0.54 p=0.646', 'no-difference'],
        ['b/mae', '', ''],
        ['b gain', 't=-1.59 p=0.252', 'negative-transfer'],
        ['c gain', '—', '—'],
      ],
    ).split('\n');
    expect(lines).toEqual([
      'task      paired t-test  verdict',
      '------  ---------------  -----------------',
      'a gain   t=0.54 p=0.646  no-difference',
      'b/mae',
      'b gain  t=-1.59 p=0.252  negative-transfer',
      'c gain                —  —',
    ]);
  });
});

describe('table with best cells', () => {
  const header = ['metric', 'a', 'b'];
  const rows = [
    ['acc ↑', '0.9000', '0.9500'],
    ['mse ↓', '1.2000', '0.8000'],
  ];
  const best = [
    [false, false, true],
    [false, false, true],
  ];

  it('not on a terminal: exactly the plain table', () => {
    expect(table(header, rows, { best, mark: 'none' })).toBe(table(header, rows));
  });

  it('with colour: the best cells bold green, the columns still aligned', () => {
    const text = table(header, rows, { best, mark: 'colour' });
    expect(text).toContain('\u001b[1;32m0.9500\u001b[0m');
    expect(text).not.toContain('\u001b[1;32m0.9000');
    expect(text.replace(ANSI, '')).toBe(table(header, rows));
  });

  it('under NO_COLOR: a trailing ◂ on the best cells, aligned', () => {
    const lines = table(header, rows, { best, mark: 'sign' }).split('\n');
    expect(lines[2]).toMatch(/0\.9000 {2}0\.9500 ◂$/);
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
  });
});

describe('sparkline', () => {
  it('scales a series between its min and max over eight levels', () => {
    expect(sparkline([0, 0.5, 1])).toBe('▁▅█');
    expect(sparkline([3, 3])).toBe('▄▄');
    expect(sparkline([1, Number.NaN, 2])).toBe('▁ █');
    expect(sparkline([])).toBe('');
  });
});

const SCRIPT = ['/usr/bin/script', '/bin/script'].find(existsSync);

/** `mtl …args` on a pseudo-terminal (util-linux `script`), as a person at a terminal sees it. */
function onTerminal(args: string[], env: Record<string, string> = {}): string {
  const command = ['node', bin, ...args].map((a) => `'${a}'`).join(' ');
  const result = spawnSync(SCRIPT as string, ['-qc', command, '/dev/null'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, CI: '', ...env },
    timeout: 60_000,
  });
  return result.stdout;
}

describe.skipIf(SCRIPT === undefined)('on a terminal (util-linux script)', () => {
  it('mtl runs has a sparkline column; mtl compare marks the better run, by colour or by ◂ under NO_COLOR', () => {
    const dir = tempDir('mtl-terminal-');
    const store = `${dir}/runs`;
    const ids = ['0.001', '0.05'].map((lr) => {
      const config = writeFile(dir, `lr${lr}.yaml`, groupConfig({ epochs: 3, extra: `  lr: ${lr}` }));
      return (JSON.parse(mtl(['train', config, '--runs-dir', store, '--json']).stdout) as { id: string }).id;
    });
    const runs = onTerminal(['runs', '--runs-dir', store]);
    expect(runs).toContain('val (monitor)');
    expect(runs).toMatch(/[▁▂▃▄▅▆▇█]{3}/);
    expect(mtl(['runs', '--runs-dir', store]).stdout).not.toContain('val (monitor)');

    const coloured = onTerminal(['compare', ...ids, '--runs-dir', store]);
    expect(coloured).toContain('\u001b[1;32m');
    const signed = onTerminal(['compare', ...ids, '--runs-dir', store], { NO_COLOR: '1' });
    expect(signed).not.toMatch(ANSI);
    expect(signed).toMatch(/^y1\/mse ↓ .* ◂/m);
  }, 120_000);
});
