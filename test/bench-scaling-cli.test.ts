/**
 * Mistakes on `node bench/run.mjs`'s scaling flags (issue #20): one line on stderr naming the flag, what was expected
 * and how to fix it, exit code 2, and no results file written.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'mtl-bench-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function bench(...args: string[]) {
  const out = path.join(dir, 'results.json');
  const r = spawnSync(process.execPath, ['bench/run.mjs', ...args, '--out', out], { cwd: root, encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr.trim(), stdout: r.stdout, wrote: existsSync(out) };
}

describe('bench scaling flags', () => {
  it.each([
    [['--fma', 'maybe'], 'bench: --fma must be auto, on or off'],
    [['--task-counts', '4'], 'bench: --task-counts needs at least two different numbers of tasks (the fit is a line)'],
    [['--task-counts', '2,x'], 'bench: --task-counts must be a comma-separated list of integers >= 1'],
    [['--widths', '0,256'], 'bench: --widths must be a comma-separated list of integers >= 1'],
    [['--batch-sizes', '0,256'], 'bench: --batch-sizes must be a comma-separated list of integers >= 1'],
    [['--batch-sizes', '64,64'], 'bench: --batch-sizes needs at least two different batch sizes (the fit is a line)'],
    [
      ['--strategies', 'equal,famo'],
      'bench: unknown strategy famo for --strategies (known: equal, pcgrad, mgda, nash-mtl, cagrad)',
    ],
    [
      ['--workloads', 'TASKS,W9'],
      'bench: unknown workload W9 (known: W1, W2, W3, W4, MEM, TASKS, WIDTH, BATCH, CONV, PATHS)',
    ],
    [['--node', '/no/such/node'], 'bench: --node /no/such/node: no such file (give the path of a node binary)'],
    [['--rounds', '0'], 'bench: --rounds must be an integer >= 1'],
    [['--conv-warmup', '-1'], 'bench: --conv-warmup must be an integer >= 1'],
  ])('%j exits 2 with one line', (args, message) => {
    const r = bench(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(message);
    expect(r.stdout).toBe('');
    expect(r.wrote).toBe(false);
  });

  it('a --node that is not a node binary exits 2 naming it', () => {
    const r = bench('--node', '/bin/false', '--workloads', 'W1', '--no-torch');
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^bench: --node \/bin\/false: cannot run it \(/);
    expect(r.wrote).toBe(false);
  });
});
