#!/usr/bin/env node
/**
 * What the GEMM's packing buys (src/backend/simd/gemm.ts, built into dist/), measured as ratios in one process:
 *
 *  - a transposed A's rows packed four at a time for the 'pk' tile (`packA: true`, the default from 4 panels on)
 *    against A read where it lies (`packA: false`, the path before), on the plain and the FMA kernels, on W1's weight
 *    gradients, a head's (one panel: packing is off there by default, the row shows why) and a square;
 *  - a transposed B packed into panels straight from where it lies (`tf.matMul(dy, w, false, true)`, W1's input
 *    gradient dy·W₂ᵀ) against a transpose first (`tf.transpose`, then the product: the same two kernels the path
 *    before ran, plus one op's bookkeeping).
 *
 * The two ways alternate, round after round, so both see the same machine load; each row gives each way's median ms
 * (without and with the packing) and the median of the per-round ratios without / with (above 1: packing is faster).
 * Not part of `npm test`; needs `npx tsc -p tsconfig.json` first.
 *
 *   node --experimental-wasm-relaxed-simd bench/gemm-packing.mjs      # Node 20: the FMA kernels too
 *   node bench/gemm-packing.mjs --rounds 80 --json
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { packedBytes } from '../dist/backend/simd/gemm.js';
import { relaxedSimdSupported, simdKernelsFor } from '../dist/backend/simd/module.js';
import { initBackend } from '../dist/backend/select.js';
import { tf } from '../dist/tf.js';

const USAGE = 'usage: node [--experimental-wasm-relaxed-simd] bench/gemm-packing.mjs [--rounds N] [--json]';
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
const unknown = args.find((arg, i) => arg !== '--json' && arg !== '--rounds' && args[i - 1] !== '--rounds');
if (unknown !== undefined) {
  console.error(`gemm-packing: unknown argument ${unknown}\n${USAGE}`);
  process.exit(2);
}
const at = args.indexOf('--rounds');
const rounds = at >= 0 ? Number(args[at + 1]) : 60;
if (!Number.isInteger(rounds) || rounds < 3) {
  console.error('gemm-packing: --rounds must be an integer of at least 3');
  process.exit(2);
}
const asJson = args.includes('--json');

const SHAPES = [
  { label: 'W1 weight gradient xᵀ·dy 784×256·256×256', m: 784, k: 256, n: 256 },
  { label: 'W1 layer 2 weight gradient 256×256·256×128', m: 256, k: 256, n: 128 },
  { label: 'a 10-way head weight gradient 128×256·256×10 (off by default)', m: 128, k: 256, n: 10 },
  { label: 'square 512, A transposed', m: 512, k: 512, n: 512 },
];

const median = (xs) => {
  const sorted = [...xs].sort((x, y) => x - y);
  return sorted[Math.floor((sorted.length - 1) / 2)];
};

/** Alternates `without` and `withIt` for `rounds` rounds of ~2 ms each; ms per call and the paired ratios. */
function compare(without, withIt, flops) {
  const calls = Math.max(1, Math.round(4e7 / flops));
  const times = { without: [], with: [] };
  for (let i = 0; i < 3; i++) {
    without();
    withIt();
  }
  for (let r = 0; r < rounds; r++) {
    for (const [name, run] of [
      ['without', without],
      ['with', withIt],
    ]) {
      const t0 = performance.now();
      for (let i = 0; i < calls; i++) run();
      times[name].push((performance.now() - t0) / calls);
    }
  }
  return {
    withoutMs: median(times.without),
    withMs: median(times.with),
    ratio: median(times.without.map((t, i) => t / times.with[i])),
  };
}

const largest = Math.max(...SHAPES.map(({ m, k, n }) => 4 * (m * k + k * n + m * n) + packedBytes(m, k, n)));
const memory = new WebAssembly.Memory({ initial: Math.ceil(largest / 65536) + 1 });
const floats = new Float32Array(memory.buffer);
for (let i = 0; i < floats.length; i++) floats[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;

const rows = [];
for (const fma of relaxedSimdSupported() ? [false, true] : [false]) {
  const kernels = simdKernelsFor(memory, fma);
  for (const { label, m, k, n } of SHAPES) {
    const aBytes = 4 * m * k;
    const bBytes = 4 * k * n;
    const product = { layout: 'tn', a: 0, b: aBytes, c: aBytes + bBytes, m, k, n, packed: aBytes + bBytes + 4 * m * n };
    const result = compare(
      () => kernels.gemm({ ...product, packA: false }),
      () => kernels.gemm({ ...product, packA: true }),
      2 * m * k * n,
    );
    rows.push({ what: `${label}: A's rows packed`, kernels: fma ? 'fma' : 'plain', ...result });
  }
}

// The transposed B, through TF.js's wasm backend (the project's kernels on its heap; the FMA ones where they validate).
await initBackend('wasm', { fma: relaxedSimdSupported() ? 'on' : 'off' });
const dy = tf.randomNormal([256, 128], 0, 1, 'float32', 1);
const w = tf.randomNormal([256, 128], 0, 1, 'float32', 2);
const transposed = compare(
  () => tf.tidy(() => tf.matMul(dy, tf.transpose(w))).dispose(),
  () => tf.matMul(dy, w, false, true).dispose(),
  2 * 256 * 128 * 256,
);
rows.push({
  what: "W1's input gradient dy·W₂ᵀ 256×128·128×256: B packed from Bᵀ",
  kernels: relaxedSimdSupported() ? 'fma' : 'plain',
  ...transposed,
});
tf.dispose([dy, w]);

const environment = {
  node: process.version,
  execArgv: process.execArgv,
  cpu: os.cpus()[0]?.model ?? 'unknown',
  loadavg: os.loadavg().map((x) => Number(x.toFixed(2))),
  rounds,
};
if (asJson) {
  console.log(JSON.stringify({ environment, rows }, null, 2));
} else {
  console.log(
    `Node ${environment.node} ${environment.execArgv.join(' ')} · ${environment.cpu} · load ` +
      `${environment.loadavg.join(' ')} · ${rounds} alternating rounds`,
  );
  console.log(
    `${'what'.padEnd(86)}${'kernels'.padEnd(8)}${'without'.padStart(11)}${'with'.padStart(11)}  without/with`,
  );
  for (const row of rows) {
    console.log(
      `${row.what.padEnd(86)}${row.kernels.padEnd(8)}${`${row.withoutMs.toFixed(3)} ms`.padStart(11)}` +
        `${`${row.withMs.toFixed(3)} ms`.padStart(11)}  ${row.ratio.toFixed(2)}×`,
    );
  }
}
