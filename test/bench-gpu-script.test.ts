/**
 * `node bench/gpu.mjs` (issue #20, item 4) runs only where a session has a GPU machine, and such a run is minutes of
 * lent time: the script must not be found broken there. Here it runs on wasm alone (the reference every GPU figure is
 * a ratio to), also with every synchronous read failing as on TF.js's webgpu backend in Node.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'mtl-bench-gpu-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Measured = { workload: string; firstLoss?: number; msPerStep?: number; error?: string };
interface GpuResults {
  results: { backend: string; attempt: { ok: boolean }; workloads: Measured[] }[];
}

/** bench/gpu.mjs on wasm, a step or two per workload; `nodeFlags` go before the script. */
function gpuBench(workloads: string, nodeFlags: string[] = []) {
  const out = path.join(dir, `gpu-${workloads}-${nodeFlags.length}.json`);
  const args = ['bench/gpu.mjs', '--backends', 'wasm', '--workloads', workloads];
  const timing = ['--steps', '2', '--windows', '1', '--warmup', '1', '--out', out];
  const r = spawnSync(process.execPath, [...nodeFlags, ...args, ...timing], { cwd: root, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toContain(`written ${out}`);
  const { results } = JSON.parse(readFileSync(out, 'utf8')) as GpuResults;
  expect(results.map((x) => [x.backend, x.attempt.ok])).toEqual([['wasm', true]]);
  return { workloads: results[0]!.workloads, stdout: r.stdout };
}

// The mean loss of each workload's first step (seed 0): the figure the script compares across backends.
const FIRST_LOSS = { W1: 5.389437, W3: 1.520466 };

describe('bench/gpu.mjs on wasm', () => {
  it('times W1 and W3 and writes their first-step losses', () => {
    const [w1, w3] = gpuBench('W1,W3').workloads;
    expect(w1).toMatchObject({ workload: 'W1', msPerStep: expect.any(Number) });
    expect(w1!.firstLoss).toBeCloseTo(FIRST_LOSS.W1, 5);
    expect(w3).toMatchObject({ workload: 'W3', msPerStep: expect.any(Number) });
    expect(w3!.firstLoss).toBeCloseTo(FIRST_LOSS.W3, 5);
  });

  it('without synchronous reads (webgpu in Node), still times W1 and W3, and says where W2 reads synchronously', () => {
    const failReads = pathToFileURL(path.join(root, 'test', 'helpers', 'sync-reads-fail.mjs')).href;
    const { workloads, stdout } = gpuBench('W1,W2,W3', ['--import', failReads]);
    const [w1, w2, w3] = workloads;
    expect(w1!.firstLoss).toBeCloseTo(FIRST_LOSS.W1, 5);
    expect(w3!.firstLoss).toBeCloseTo(FIRST_LOSS.W3, 5);
    // The gradient methods read each task's loss (and, off wasm, its gradient) on the host within the step.
    const reason =
      "OffscreenCanvas is not defined: a synchronous read in dist/train/step.js; TF.js's webgpu backend reads only " +
      'asynchronously in Node (its readSync draws through an OffscreenCanvas)';
    expect(w2).toEqual({ workload: 'W2', error: reason });
    expect(stdout).toContain(`  W2        failed: ${reason}`);
  });
});
