#!/usr/bin/env node
/**
 * `node bench/gpu.mjs` — issue #20 item 4: what runs on a GPU machine, and how fast. Not part of `npm test`, and
 * nothing in `mtl` depends on it: the project's backends stay tfjs-node(-gpu) → wasm → cpu.
 *
 * It tries, in one process, one after the other:
 *   1. the native backends (`@tensorflow/tfjs-node-gpu`, `@tensorflow/tfjs-node`), as backend/select.ts would;
 *   2. TF.js's `webgpu` backend on Dawn for Node (the `webgpu` npm package sets `navigator.gpu`), when both
 *      packages resolve (they are not dependencies of the project; install them beside it for the bench only);
 *   3. the wasm backend, as the reference of the same invocation.
 * For each backend that initialises: the bench workloads W1–W3 (bench/workloads.mjs, built with the project's own
 * code) and wide MLPs (trunk width 1024 and 2048, batch 1024), timed the way bench/run.mjs times them (warm-up,
 * then windows of steps, one sync per window; the figure is the median window's ms/step); and each workload's mean
 * loss over its first steps, so a backend that computes something else shows up as a different loss.
 *
 *   node bench/gpu.mjs [--steps 20] [--windows 3] [--warmup 5] [--workloads W1,W2,W3,WIDE1024,WIDE2048]
 *                      [--backends native,webgpu,wasm] [--out FILE]
 *
 * Output: a table on stdout and all of it as JSON (--out, default bench/results/gpu-<time>.json).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf } from '../dist/tf.js';
import { WORKLOADS, buildWorkload } from './workloads.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const opts = {
    steps: 20,
    windows: 3,
    warmup: 5,
    workloads: ['W1', 'W2', 'W3', 'WIDE1024', 'WIDE2048'],
    backends: ['native', 'webgpu', 'wasm'],
    out: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--steps') opts.steps = Number(next());
    else if (a === '--windows') opts.windows = Number(next());
    else if (a === '--warmup') opts.warmup = Number(next());
    else if (a === '--workloads') opts.workloads = next().split(',');
    else if (a === '--backends') opts.backends = next().split(',');
    else if (a === '--out') opts.out = next();
    else {
      console.error(`gpu.mjs: unknown option ${a}`);
      process.exit(2);
    }
  }
  return opts;
}

// Wide MLPs: where a GPU should pay off (W1's shape with a wider trunk and a larger batch).
for (const width of [1024, 2048]) {
  WORKLOADS[`WIDE${width}`] = {
    ...WORKLOADS.W1,
    description: `MLP 784→${width}→${width}, 2×10-way softmax heads, batch 1024, Adam, equal`,
    batch: 1024,
    model: `  architecture: hard-sharing
  trunk:
    - { type: dense, units: ${width}, activation: relu }
    - { type: dense, units: ${width}, activation: relu }
  head: []`,
  };
}

function firstLine(error) {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0];
}

/**
 * A workload's failure, in one line. TF.js's webgpu backend reads a tensor synchronously (`dataSync`) by drawing it
 * through an OffscreenCanvas, which Node lacks: that failure names the project's code that read synchronously (the
 * gradient methods read every task's gradient on the host), since no step that does so can run there.
 */
function workloadFailure(error) {
  const line = firstLine(error);
  if (!/OffscreenCanvas is not defined/.test(line)) return line;
  const ours = `${path.join(HERE, '..', 'dist')}${path.sep}`;
  const frame = (error instanceof Error ? (error.stack ?? '') : '')
    .split('\n')
    .map((l) => l.match(/\(?(?:file:\/\/)?(\/\S+?\.js):\d+/)?.[1])
    .find((file) => file?.startsWith(ours))
    ?.slice(ours.length);
  return (
    `${line}: a synchronous read${frame ? ` in dist/${frame}` : ''}; TF.js's webgpu backend reads only ` +
    'asynchronously in Node (its readSync draws through an OffscreenCanvas)'
  );
}

async function tryNative() {
  const attempts = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(pkg);
      const ok = await tf.setBackend('tensorflow');
      attempts.push({ package: pkg, ok, reason: ok ? undefined : 'loaded, backend did not initialise' });
      if (ok) return { ok: true, name: 'tensorflow', attempts };
    } catch (error) {
      attempts.push({ package: pkg, ok: false, reason: firstLine(error) });
    }
  }
  return { ok: false, name: 'tensorflow', attempts };
}

async function tryWebgpu() {
  let webgpu;
  try {
    webgpu = await import('webgpu');
  } catch (error) {
    return { ok: false, name: 'webgpu', reason: `the webgpu package: ${firstLine(error)}` };
  }
  Object.assign(globalThis, webgpu.globals);
  const gpu = webgpu.create([]);
  // TF.js's webgpu backend asks navigator.gpu for an adapter, as in a browser.
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return { ok: false, name: 'webgpu', reason: 'Dawn found no WebGPU adapter (no Vulkan driver?)' };
  const info = adapter.info ?? {};
  const adapterInfo = {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
  };
  try {
    await import('@tensorflow/tfjs-backend-webgpu');
  } catch (error) {
    return {
      ok: false,
      name: 'webgpu',
      adapter: adapterInfo,
      reason: `@tensorflow/tfjs-backend-webgpu: ${firstLine(error)}`,
    };
  }
  try {
    const ok = await tf.setBackend('webgpu');
    return ok
      ? { ok: true, name: 'webgpu', adapter: adapterInfo }
      : { ok: false, name: 'webgpu', adapter: adapterInfo, reason: 'setBackend("webgpu") returned false' };
  } catch (error) {
    return { ok: false, name: 'webgpu', adapter: adapterInfo, reason: firstLine(error) };
  }
}

async function tryWasm() {
  const { initBackend } = await import('../dist/backend/select.js');
  const report = await initBackend('wasm');
  return { ok: report.name === 'wasm', name: 'wasm', simdKernels: report.simdKernels };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

async function timeWorkload(name, opts) {
  const w = await buildWorkload(name);
  try {
    w.step();
    const firstLoss = await w.readLossAsync();
    for (let i = 1; i < opts.warmup; i++) w.step();
    await w.readLossAsync();
    const windows = [];
    for (let k = 0; k < opts.windows; k++) {
      const t0 = performance.now();
      for (let i = 0; i < opts.steps; i++) w.step();
      await w.readLossAsync();
      windows.push((performance.now() - t0) / opts.steps);
    }
    return { workload: name, msPerStep: median(windows), windows, firstLoss, numTensors: tf.memory().numTensors };
  } finally {
    w.dispose();
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    node: process.version,
    tfjs: tf.version.tfjs,
  };
  try {
    machine.gpu = execFileSync('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'])
      .toString()
      .trim();
  } catch {
    machine.gpu = 'nvidia-smi not found';
  }
  console.log(JSON.stringify(machine));
  const tries = { native: tryNative, webgpu: tryWebgpu, wasm: tryWasm };
  const results = [];
  for (const backend of opts.backends) {
    const attempt = await tries[backend]();
    console.log(
      `${backend}: ` +
        (attempt.ok ? 'initialised' : `not available — ${attempt.reason ?? JSON.stringify(attempt.attempts)}`),
    );
    const entry = { backend, attempt, workloads: [] };
    results.push(entry);
    if (!attempt.ok) continue;
    for (const name of opts.workloads) {
      try {
        const r = await timeWorkload(name, opts);
        entry.workloads.push(r);
        console.log(
          `  ${name.padEnd(9)} ${r.msPerStep.toFixed(2).padStart(9)} ms/step   ` +
            `first-step loss ${r.firstLoss.toFixed(6)}`,
        );
      } catch (error) {
        const failure = workloadFailure(error);
        entry.workloads.push({ workload: name, error: failure });
        console.log(`  ${name.padEnd(9)} failed: ${failure}`);
      }
    }
  }
  // Ratios against wasm, from this one invocation.
  const wasm = results.find((r) => r.backend === 'wasm');
  for (const r of results) {
    if (r === wasm || !wasm) continue;
    for (const w of r.workloads) {
      const ref = wasm.workloads.find((x) => x.workload === w.workload);
      if (ref?.msPerStep && w.msPerStep) {
        w.speedupOverWasm = ref.msPerStep / w.msPerStep;
        w.lossDifference = Math.abs(w.firstLoss - ref.firstLoss);
        console.log(
          `${r.backend} ${w.workload}: ×${w.speedupOverWasm.toFixed(2)} vs wasm, ` +
            `|Δ first loss| ${w.lossDifference.toExponential(2)}`,
        );
      }
    }
  }
  const out = opts.out ?? path.join(HERE, 'results', `gpu-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ machine, opts, results }, null, 2)}\n`);
  console.log(`written ${out}`);
}

await main();
