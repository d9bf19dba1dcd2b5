#!/usr/bin/env node
/**
 * Micro-benchmark of the project's WebAssembly GEMM kernels (src/backend/simd/gemm.ts, built into dist/): the plain
 * kernels (f32x4 multiply then add) against the FMA ones (f32x4.relaxed_madd), in one process, one thread, on the
 * shapes that matter: W1's forward product 256×784·784×256, its weight gradient (tn: xᵀ·dy, 784×256 from 256 rows),
 * and squares 512–2048. Issue #20 point 2. Not part of `npm test`; needs `npx tsc -p tsconfig.json` first.
 *
 *   node --experimental-wasm-relaxed-simd bench/fma.mjs     # Node 20 (relaxed SIMD behind the flag)
 *   /path/to/node-22-or-later bench/fma.mjs                 # relaxed SIMD on by default
 *   node bench/fma.mjs --min-ms 500 --json                  # longer timing; JSON on stdout
 *
 * Timing: 3 untimed products, then products until --min-ms of wall clock (at least 5); the figure is the median ms
 * per product, GFLOP/s = 2·m·k·n / time. Where relaxed SIMD is unavailable only the plain kernels are timed.
 *
 * The ceiling beside them (relaxed SIMD only): a loop of f32x4.relaxed_madd on 4, 8 or 12 independent accumulators,
 * no loads, 8 FLOPs per multiply-add: what one core reaches through V8 with as many multiply-add chains in flight as
 * a register tile keeps (the GEMM's 4×8 tile keeps 8).
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { packedBytes } from '../dist/backend/simd/gemm.js';
import { ModuleBuilder } from '../dist/backend/simd/module-builder.js';
import { relaxedSimdSupported, simdKernelsFor } from '../dist/backend/simd/module.js';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 && args[at + 1] !== undefined ? Number(args[at + 1]) : fallback;
};
const minMs = option('--min-ms', 300);
const asJson = args.includes('--json');

const SHAPES = [
  { label: 'W1 forward 256×784·784×256 (nn)', layout: 'nn', m: 256, k: 784, n: 256 },
  { label: 'W1 weight gradient xᵀ·dy 784×256 (tn)', layout: 'tn', m: 784, k: 256, n: 256 },
  ...[512, 1024, 2048].map((s) => ({ label: `square ${s} (nn)`, layout: 'nn', m: s, k: s, n: s })),
];

const largest = Math.max(...SHAPES.map(({ m, k, n }) => 4 * (m * k + k * n + m * n) + packedBytes(m, k, n)));
const memory = new WebAssembly.Memory({ initial: Math.ceil(largest / 65536) + 1 });
const floats = new Float32Array(memory.buffer);
for (let i = 0; i < floats.length; i++) floats[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;

const relaxed = relaxedSimdSupported();
const variants = relaxed ? [false, true] : [false];

function time(kernels, { layout, m, k, n }) {
  const aBytes = 4 * m * k;
  const bBytes = 4 * k * n;
  const product = () =>
    kernels.gemm({ layout, a: 0, b: aBytes, c: aBytes + bBytes, m, k, n, packed: aBytes + bBytes + 4 * m * n });
  for (let i = 0; i < 3; i++) product();
  const times = [];
  const start = performance.now();
  while (times.length < 5 || performance.now() - start < minMs) {
    const t0 = performance.now();
    product();
    times.push(performance.now() - t0);
  }
  times.sort((x, y) => x - y);
  const ms = times[Math.floor(times.length / 2)];
  return { ms, gflops: (2 * m * k * n) / (ms * 1e6), repeats: times.length };
}

/** GFLOP/s of `chains` independent f32x4 multiply-add chains (best of 3 runs of ~8·10⁷ FLOPs each). */
function multiplyAddCeiling(chains) {
  const module = new ModuleBuilder(false);
  const f = module.function('chains', ['i32', 'i32']);
  const [iterations, out] = f.paramLocals(2);
  const accumulators = Array.from({ length: chains }, () => f.local('v128'));
  const a = f.local('v128');
  const b = f.local('v128');
  f.f32Const(1.0000001).f32x4Splat().set(a);
  f.f32Const(0.9999999).f32x4Splat().set(b);
  for (const acc of accumulators) f.v128Const0().set(acc);
  f.block(() =>
    f.loop(() => {
      f.get(iterations).i32Eqz().brIf(1);
      for (const acc of accumulators) f.get(a).get(b).get(acc).f32x4RelaxedMadd().set(acc);
      f.get(iterations).i32Const(1).i32Sub().set(iterations);
      f.br(0);
    }),
  );
  for (const acc of accumulators) f.get(out).get(acc).v128Store(0);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(module.encode()), { env: { memory } });
  const run = instance.exports.chains;
  const iterationsPerRun = Math.round(1e7 / chains);
  run(iterationsPerRun, 0); // tier-up
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    run(iterationsPerRun, 0);
    best = Math.min(best, performance.now() - t0);
  }
  return (iterationsPerRun * chains * 8) / (best * 1e6);
}
const ceiling = relaxed ? Object.fromEntries([4, 8, 12].map((c) => [c, multiplyAddCeiling(c)])) : null;

const results = SHAPES.map((shape) => {
  const row = { ...shape };
  for (const fma of variants) row[fma ? 'fma' : 'plain'] = time(simdKernelsFor(memory, fma), shape);
  if (row.fma) row.speedup = row.plain.ms / row.fma.ms;
  return row;
});

const environment = {
  node: process.version,
  v8: process.versions.v8,
  relaxedSimd: relaxed,
  execArgv: process.execArgv,
  cpu: os.cpus()[0]?.model ?? 'unknown',
  loadavg: os.loadavg().map((x) => Number(x.toFixed(2))),
};
if (asJson) {
  console.log(JSON.stringify({ environment, minMs, results, multiplyAddCeiling: ceiling }, null, 2));
} else {
  console.log(
    `Node ${environment.node} (V8 ${environment.v8}) ${environment.execArgv.join(' ')} · relaxed SIMD ` +
      `${relaxed ? 'yes' : 'no (plain kernels only)'} · ${environment.cpu} · load ${environment.loadavg.join(' ')}`,
  );
  const cell = (r) => (r ? `${r.ms.toFixed(2).padStart(8)} ms ${r.gflops.toFixed(1).padStart(6)} GFLOP/s` : '');
  console.log(`${'product'.padEnd(42)}${'plain'.padEnd(32)}${'fma'.padEnd(32)}speedup`);
  for (const row of results) {
    const speedup = row.speedup ? `${row.speedup.toFixed(2)}×` : '—';
    console.log(`${row.label.padEnd(42)}${cell(row.plain).padEnd(32)}${cell(row.fma).padEnd(32)}${speedup}`);
  }
  if (ceiling) {
    const chains = Object.entries(ceiling).map(([c, g]) => `${c} chains ${g.toFixed(1)}`);
    console.log(`multiply-add ceiling, no loads (GFLOP/s): ${chains.join(', ')}`);
  }
}
