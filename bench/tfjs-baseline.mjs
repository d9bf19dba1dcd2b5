#!/usr/bin/env node
/**
 * Lean TF.js baseline for workload W1 (see bench/torch_reference.py): MLP trunk 784→256→128 (ReLU),
 * two 10-way softmax heads, batch 256, Adam lr 1e-3, loss = sum of the two cross-entropies, random
 * synthetic data with a fixed seed made before timing (4 batches, cycled).
 *
 * It measures what the wasm matMul kernel override (src/backend/wasm/matmul.ts) gives before the
 * project's own trainer exists, in one process, one configuration after the other:
 *   wasm-stock  wasm backend, stock kernels
 *   wasm-fast   wasm backend after installFastWasmKernels()   (skipped when the module is not built)
 *   cpu         the pure-JS cpu backend
 * Each configuration starts from the same initial weights, so their losses after the same number of
 * steps can be compared (wasm-stock vs wasm-fast should agree to float32 rounding).
 *
 * Usage:
 *   npx tsc -p tsconfig.json && node bench/tfjs-baseline.mjs [--steps 20] [--windows 5] [--warmup 5]
 *        [--configs wasm-stock,wasm-fast,cpu] [--json]
 * The override module is loaded from $MTL_WASM_KERNELS when set (a path to the compiled
 * wasm/index.js), else from ../dist/backend/wasm/index.js next to this script.
 *
 * Timing: --windows windows of --steps optimizer steps after --warmup (>= 1) untimed steps; the figure is the
 * median over windows of the window's mean ms/step. wasm runs single-threaded (threads do not start in
 * Node); SIMD is used when available.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tf } from '../dist/tf.js';
import '@tensorflow/tfjs-backend-wasm';

const BATCH = 256;
const N_IN = 784;
const TRUNK = [256, 128];
const N_CLASSES = 10;
const N_TASKS = 2;
const N_BATCHES = 4;
const SEED = 0;

function parseArgs(argv) {
  const opts = { steps: 20, windows: 5, warmup: 5, configs: ['wasm-stock', 'wasm-fast', 'cpu'], json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--steps') opts.steps = Number(next());
    else if (a === '--windows') opts.windows = Number(next());
    else if (a === '--warmup') opts.warmup = Number(next());
    else if (a === '--configs')
      opts.configs = next()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else if (a === '--json') opts.json = true;
    else if (a === '--help' || a === '-h') {
      console.log('node bench/tfjs-baseline.mjs [--steps N] [--windows N] [--warmup N] [--configs a,b] [--json]');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  for (const k of ['steps', 'windows']) {
    if (!Number.isInteger(opts[k]) || opts[k] < 1) throw new Error(`--${k} must be a positive integer`);
  }
  if (!Number.isInteger(opts.warmup) || opts.warmup < 1) throw new Error('--warmup must be an integer >= 1');
  for (const c of opts.configs) {
    if (!['wasm-stock', 'wasm-fast', 'cpu'].includes(c)) throw new Error(`unknown config ${c}`);
  }
  return opts;
}

async function loadOverride() {
  const path = process.env.MTL_WASM_KERNELS
    ? resolve(process.env.MTL_WASM_KERNELS)
    : fileURLToPath(new URL('../dist/backend/wasm/index.js', import.meta.url));
  if (!existsSync(path)) return { path, module: null };
  return { path, module: await import(pathToFileURL(path).href) };
}

/** Deterministic values: a small LCG mapped to N(0,1) by Box–Muller, so every backend gets the same data. */
function normals(n, seed) {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 1) / 4294967297;
  };
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(u()));
    const t = 2 * Math.PI * u();
    out[i] = r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

/** Plain arrays for weights and data; turned into tensors on each backend. */
function makeHostState() {
  const dims = [N_IN, ...TRUNK];
  const layers = [];
  let seed = SEED * 1000 + 1;
  for (let i = 0; i + 1 < dims.length; i++) {
    layers.push({ fanIn: dims[i], fanOut: dims[i + 1], w: normals(dims[i] * dims[i + 1], seed++) });
  }
  const heads = [];
  for (let t = 0; t < N_TASKS; t++) {
    heads.push({ fanIn: TRUNK.at(-1), fanOut: N_CLASSES, w: normals(TRUNK.at(-1) * N_CLASSES, seed++) });
  }
  const batches = [];
  for (let b = 0; b < N_BATCHES; b++) {
    const x = normals(BATCH * N_IN, seed++);
    const labels = [];
    for (let t = 0; t < N_TASKS; t++) {
      const z = normals(BATCH, seed++);
      labels.push(Int32Array.from(z, (v) => Math.min(N_CLASSES - 1, Math.floor(Math.abs(v) * 4))));
    }
    batches.push({ x, labels });
  }
  return { layers, heads, batches };
}

/** Builds variables, data and a W1 step on the current backend. */
function buildW1(host) {
  const variable = (init, name) => {
    const v = tf.variable(init, true, name);
    init.dispose(); // the variable keeps its own reference to the data
    return v;
  };
  const dense = (l, name) => ({
    // He-normal scale; the same for the heads (only the scale matters here).
    w: variable(
      tf.tidy(() => tf.tensor2d(l.w, [l.fanIn, l.fanOut]).mul(Math.sqrt(2 / l.fanIn))),
      `${name}/w`,
    ),
    b: variable(tf.zeros([l.fanOut]), `${name}/b`),
  });
  const trunk = host.layers.map((l, i) => dense(l, `trunk${i}`));
  const heads = host.heads.map((l, i) => dense(l, `head${i}`));
  const vars = [...trunk, ...heads].flatMap((d) => [d.w, d.b]);
  const data = host.batches.map((b) => ({
    x: tf.tensor2d(b.x, [BATCH, N_IN]),
    ys: b.labels.map((y) => tf.tidy(() => tf.oneHot(tf.tensor1d(y, 'int32'), N_CLASSES).toFloat())),
  }));
  const optimizer = tf.train.adam(1e-3);
  let i = 0;
  const step = () =>
    tf.tidy(() => {
      const { x, ys } = data[i++ % data.length];
      return optimizer.minimize(
        () => {
          let h = x;
          for (const d of trunk) h = tf.fused.matMul({ a: h, b: d.w, bias: d.b, activation: 'relu' });
          let loss = tf.scalar(0);
          heads.forEach((d, t) => {
            const logits = tf.fused.matMul({ a: h, b: d.w, bias: d.b });
            loss = loss.add(tf.losses.softmaxCrossEntropy(ys[t], logits));
          });
          return loss;
        },
        true,
        vars,
      );
    });
  const dispose = () => {
    optimizer.dispose();
    tf.dispose(vars);
    for (const d of data) tf.dispose([d.x, ...d.ys]);
  };
  return { step, dispose };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function runConfig(name, host, opts, override) {
  const backend = name === 'cpu' ? 'cpu' : 'wasm';
  await tf.setBackend(backend);
  await tf.ready();
  if (name === 'wasm-fast') override.installFastWasmKernels();
  else if (override?.uninstallFastWasmKernels) override.uninstallFastWasmKernels();
  const tensorsBefore = tf.memory().numTensors;
  const w1 = buildW1(host);
  let cost;
  for (let s = 0; s < opts.warmup; s++) {
    cost?.dispose();
    cost = w1.step();
  }
  cost.dataSync();
  // Adam makes its moment variables on the first step: count tensors from here on.
  const tensorsWarm = tf.memory().numTensors;
  const windows = [];
  for (let w = 0; w < opts.windows; w++) {
    const t0 = performance.now();
    for (let s = 0; s < opts.steps; s++) {
      cost?.dispose();
      cost = w1.step();
    }
    cost.dataSync(); // the wasm and cpu backends run eagerly; this is just a final sync point
    windows.push((performance.now() - t0) / opts.steps);
  }
  const finalLoss = cost.dataSync()[0];
  const leakedPerStep = (tf.memory().numTensors - tensorsWarm) / (opts.windows * opts.steps);
  cost.dispose();
  w1.dispose();
  return {
    name,
    backend,
    override: name === 'wasm-fast',
    ms_per_step_median: Number(median(windows).toFixed(3)),
    windows: windows.map((w) => Number(w.toFixed(3))),
    final_loss: finalLoss,
    leaked_tensors_per_step: leakedPerStep,
    leaked_tensors_after_dispose: tf.memory().numTensors - tensorsBefore,
  };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const { path: overridePath, module: override } = await loadOverride();
  await tf.setBackend('wasm');
  await tf.ready();
  const info = {
    workload: 'W1',
    tfjs_version: tf.version.tfjs,
    wasm_simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
    wasm_threads: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT'),
    steps: opts.steps,
    windows: opts.windows,
    warmup: opts.warmup,
    override_module: override ? overridePath : null,
    skipped: [],
    configs: [],
  };
  const host = makeHostState();
  for (const name of opts.configs) {
    if (name === 'wasm-fast' && !override) {
      info.skipped.push({ name, reason: `override module not found at ${overridePath}` });
      continue;
    }
    const r = await runConfig(name, host, opts, override);
    info.configs.push(r);
    if (!opts.json) {
      console.log(
        `${r.name.padEnd(10)} ${r.ms_per_step_median.toFixed(2).padStart(9)} ms/step  ` +
          `windows [${r.windows.map((w) => w.toFixed(1)).join(', ')}]  final loss ${r.final_loss.toFixed(6)}` +
          (r.leaked_tensors_per_step ? `  LEAK ${r.leaked_tensors_per_step} tensors/step` : ''),
      );
    }
  }
  if (override?.uninstallFastWasmKernels) override.uninstallFastWasmKernels();
  if (opts.json) console.log(JSON.stringify(info));
  else {
    for (const s of info.skipped) console.log(`${s.name.padEnd(10)} skipped: ${s.reason}`);
    console.log(
      `(tfjs ${info.tfjs_version}, W1 batch ${BATCH}, wasm SIMD ${info.wasm_simd}, threads ${info.wasm_threads}; ` +
        `median of ${opts.windows} windows x ${opts.steps} steps after ${opts.warmup} warm-up)`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
