/**
 * `npm run bench` times W1–W3 paired (bench/paired.mjs): every child of a round warms up, then runs one window at a
 * time in turn, so a ratio is taken between windows timed back to back, once per cycle, and the figure is the median
 * of those ratios. The pure parts (the order of a cycle, the paired ratio) and the gated children's protocol, ours and
 * PyTorch's (skipped where Debian's python3 has no torch).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { medianOf, pairedRatio, quantileOf, windowOrder } from '../bench/paired.mjs';
import { mergeScalingRounds, pairedOverRounds, windowsOf } from '../bench/rounds.mjs';

const ROOT = path.resolve(import.meta.dirname, '..');
const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

describe('windowOrder', () => {
  const members = [
    { id: 'W1/wasm', workload: 'W1' },
    { id: 'W1/fma', workload: 'W1' },
    { id: 'W1/torch', workload: 'W1' },
    { id: 'W3/wasm', workload: 'W3' },
    { id: 'W3/torch', workload: 'W3' },
  ];

  it('runs a workload’s members back to back, as listed on even cycles and reversed on odd ones', () => {
    expect(windowOrder(members, 0)).toEqual(['W1/wasm', 'W1/fma', 'W1/torch', 'W3/wasm', 'W3/torch']);
    expect(windowOrder(members, 1)).toEqual(['W1/torch', 'W1/fma', 'W1/wasm', 'W3/torch', 'W3/wasm']);
    expect(windowOrder(members, 2)).toEqual(windowOrder(members, 0));
  });

  it('keeps each workload together even when its members are listed apart', () => {
    const mixed = [members[0]!, members[3]!, members[2]!];
    expect(windowOrder(mixed, 0)).toEqual(['W1/wasm', 'W1/torch', 'W3/wasm']);
  });
});

describe('pairedRatio', () => {
  it('is the median of the per-cycle ratios, not the ratio of the medians', () => {
    // A machine that slows down 2× in cycles 3–4 slows both sides there: each cycle's ratio stays 2.
    const ours = [10, 10, 20, 20, 10];
    const theirs = [5, 5, 10, 10, 5];
    expect(pairedRatio(ours, theirs)).toEqual({ ratio: 2, quartiles: [2, 2], cycles: 5, ratios: [2, 2, 2, 2, 2] });
    // Medians of the two sides from different moments can say anything: here 10 / 10 = 1.
    expect(medianOf([10, 10, 20, 20, 10])! / medianOf([5, 10, 10, 10, 5])!).toBe(1);
  });

  it('skips cycles where a side did not run, and gives null without any pair', () => {
    const p = pairedRatio([12, null, 9, 8], [6, 4, null, 4]);
    expect(p.ratios).toEqual([2, 2]);
    expect(p.cycles).toBe(2);
    expect(pairedRatio([null, null], [1, 2])).toEqual({ ratio: null, quartiles: null, cycles: 0, ratios: [] });
  });

  it('gives quartiles by linear interpolation (numpy’s default)', () => {
    // Ratios 1, 2, 3, 4: quartile positions 0.75 and 2.25 → 1.75 and 3.25; median 2.5.
    const p = pairedRatio([1, 2, 3, 4], [1, 1, 1, 1]);
    expect(p.ratio).toBe(2.5);
    expect(p.quartiles).toEqual([1.75, 3.25]);
    expect(quantileOf([], 0.5)).toBeNull();
    expect(medianOf([])).toBeNull();
  });
});

describe('scaling cells paired over rounds', () => {
  // Ours keep their windows in window_ms_per_step, PyTorch's in windows; `gated` says they took turns.
  const ours = (windows: number[], gated = true) => ({
    ms_per_step_median: medianOf(windows)!,
    window_ms_per_step: windows,
    gated,
  });
  const torch = (windows: number[], gated = true) => ({ ms_per_step_median: medianOf(windows)!, windows, gated });

  it('reads either kind of result’s windows, and none from a failed one', () => {
    expect(windowsOf(ours([1, 2]))).toEqual([1, 2]);
    expect(windowsOf(torch([3, 4]))).toEqual([3, 4]);
    expect(windowsOf({ error: 'crashed' })).toEqual([]);
  });

  it('pools the per-cycle ratios of every round, and pairs nothing timed one after the other', () => {
    const p = pairedOverRounds([
      [ours([20, 22, 40]), torch([10, 11, 20])],
      [ours([30, 36]), torch([10, 12])],
    ]);
    expect(p).toEqual({ ratio: 2, quartiles: [2, 3], cycles: 5 }); // ratios 2, 2, 2, 3, 3
    expect(pairedOverRounds([[ours([20], false), torch([10], false)]])).toBeNull();
    // A round whose PyTorch child failed adds nothing; the other still counts.
    expect(
      pairedOverRounds([
        [ours([20]), { error: 'x' }],
        [ours([15]), torch([10])],
      ])?.ratio,
    ).toBe(1.5);
  });

  it('gives each merged cell its paired ratio, and PATHS the ratio of its two paths', () => {
    const round = (k: number) => ({
      tasks: [{ strategy: 'equal', tasks: 2, ours: ours([12 * k, 12]), torch: torch([6 * k, 6]) }],
      conv: { ours: ours([4, 4 * k]), torch: torch([2, 2 * k]) },
      paths: [
        { workload: 'W2', retained: 'on', ours: ours([8 * k, 8]) },
        { workload: 'W2', retained: 'off', ours: ours([10 * k, 10]) },
      ],
    });
    // The second round runs twice as slow throughout: the medians of its cells change, the paired ratios do not.
    const merged = mergeScalingRounds([round(1), round(2)]);
    expect(merged.tasks[0].paired.ratio).toBe(2);
    expect(merged.conv.paired.ratio).toBe(2);
    expect(merged.paths_paired.W2.ratio).toBeCloseTo(0.8, 12);
  });
});

/** Drives a gated child: waits for `ready`, asks for `windows` windows, ends it; returns every line it printed. */
function driveGated(command: string, args: string[], windows: number): Promise<{ lines: string[]; code: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let partial = '';
    let asked = 0;
    child.stdout.on('data', (d: Buffer) => {
      partial += d.toString();
      for (let at = partial.indexOf('\n'); at >= 0; at = partial.indexOf('\n')) {
        const line = partial.slice(0, at);
        partial = partial.slice(at + 1);
        lines.push(line);
        if (line === 'ready' || line.startsWith('window ')) {
          if (asked < windows) {
            asked++;
            child.stdin.write('go\n');
          } else child.stdin.end('end\n');
        }
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ lines: partial ? [...lines, partial] : lines, code: code ?? -1 }));
  });
}

/** The protocol lines and the final JSON of a gated child that ran `windows` windows. */
function expectProtocol(lines: string[], windows: number): Record<string, unknown> {
  expect(lines[0]).toBe('ready');
  const timed = lines.slice(1, 1 + windows);
  for (const line of timed) expect(line).toMatch(/^window \d+(\.\d+)?(e-?\d+)? \d+(\.\d+)?(e-?\d+)?$/);
  expect(lines).toHaveLength(windows + 2);
  const result = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
  // The figures it reports are the windows it answered with (ours: window_ms_per_step; PyTorch's: windows).
  const answered = timed.map((line) => Number(line.split(' ')[1]));
  const reported = (Array.isArray(result.windows) ? result.windows : result.window_ms_per_step) as number[];
  expect(reported).toHaveLength(windows);
  reported.forEach((ms, i) => expect(ms).toBeCloseTo(answered[i]!, 2));
  return result;
}

describe('gated children', () => {
  it('ours: ready after the warm-up, one window per go, the JSON result after end', async () => {
    const args = ['bench/run.mjs', '--child', 'step', '--workload', 'W1', '--backend', 'wasm', '--gated'];
    args.push('--steps', '2', '--warmup', '1', '--windows', '9');
    const { lines, code } = await driveGated(process.execPath, args, 3);
    expect(code).toBe(0);
    const result = expectProtocol(lines, 3);
    expect(result.workload).toBe('W1');
    expect(result.windows).toBe(3);
  });

  it('ours: a command it does not know ends it with the error as its result, though stdin stays open', async () => {
    const args = ['bench/run.mjs', '--child', 'step', '--workload', 'W1', '--backend', 'wasm', '--gated'];
    const child = spawn(process.execPath, [...args, '--steps', '1', '--warmup', '1'], { cwd: ROOT });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out === 'ready\n') child.stdin.write('faster\n'); // and never closes stdin
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(out.split('\n').filter(Boolean)).toEqual([
      'ready',
      JSON.stringify({ error: 'gated child: unknown command "faster" (expected go or end)' }),
    ]);
  }, 30_000); // a child that hangs on its open stdin fails here, not at the suite's 180 s

  // Its result was every figure null (the median of no windows).
  it('ours: ended before its first window, its result is the error', () => {
    const args = ['bench/run.mjs', '--child', 'step', '--workload', 'W1', '--backend', 'wasm', '--gated'];
    const r = spawnSync(process.execPath, [...args, '--steps', '1', '--warmup', '1'], {
      cwd: ROOT,
      encoding: 'utf8',
      input: 'end\n',
    });
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean)).toEqual([
      'ready',
      JSON.stringify({ error: 'gated child: ended before its first window (no go): nothing was timed' }),
    ]);
  });

  it.skipIf(!hasTorch)('PyTorch’s: the same protocol', async () => {
    const args = ['bench/torch_reference.py', '--workload', 'W1', '--steps', '2', '--warmup', '1', '--gated'];
    const { lines, code } = await driveGated(PYTHON, [...args, '--json'], 2);
    expect(code).toBe(0);
    const result = expectProtocol(lines, 2);
    expect(result.workload).toBe('W1');
  });

  // It ended in a Python traceback (statistics.median of no windows).
  it.skipIf(!hasTorch)('PyTorch’s: ended before its first window, it says so, exit 1, no traceback', () => {
    const args = ['bench/torch_reference.py', '--workload', 'W1', '--steps', '1', '--warmup', '1', '--gated'];
    const r = spawnSync(PYTHON, [...args, '--json'], { cwd: ROOT, encoding: 'utf8', input: 'end\n' });
    expect(r.stdout).toBe('ready\n');
    expect(r.stderr).toBe('gated child: ended before its first window (no go): nothing was timed\n');
    expect(r.status).toBe(1);
  });
});

describe('a paired bench run', () => {
  it('times every member in every cycle, pools the rounds, and judges ratios on them', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mtl-bench-paired-'));
    try {
      const out = path.join(dir, 'results.json');
      const args = ['bench/run.mjs', '--workloads', 'W1,W3', '--steps', '1', '--warmup', '1', '--windows', '3'];
      args.push('--rounds', '2', '--fma', 'off', '--out', out, ...(hasTorch ? [] : ['--no-torch']));
      const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const info = JSON.parse(readFileSync(out, 'utf8')) as {
        paired: { cycles_per_round: number; windows_ms: Record<string, (number | null)[]> };
        results: { workload: string; rounds_ms: number[] }[];
        targets: { target: string; value: number; detail: string }[];
      };
      const members = hasTorch ? ['W1/wasm', 'W1/torch', 'W3/wasm', 'W3/torch'] : ['W1/wasm', 'W3/wasm'];
      expect(Object.keys(info.paired.windows_ms).sort()).toEqual(members.sort());
      // Two rounds of three cycles each, every window timed.
      for (const id of members) {
        expect(info.paired.windows_ms[id]).toHaveLength(6);
        for (const ms of info.paired.windows_ms[id]!) expect(ms).toBeGreaterThan(0);
      }
      expect(info.results.map((x) => [x.workload, x.rounds_ms.length])).toEqual([
        ['W1', 2],
        ['W3', 2],
      ]);
      if (hasTorch) {
        const w1 = info.targets.find((t) => t.target === 'W1 wasm / PyTorch ≤ 3')!;
        const ratios = info.paired.windows_ms['W1/wasm']!.map((ms, c) => ms! / info.paired.windows_ms['W1/torch']![c]!);
        expect(w1.value).toBeCloseTo(medianOf(ratios)!, 3);
        expect(w1.detail).toMatch(/paired: median of 6 per-cycle ratios/);
        expect(r.stdout).toMatch(/W1\/wasm \/ W1\/torch: \d+\.\d+× \[/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
