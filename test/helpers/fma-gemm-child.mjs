// Run by test/fma-kernels.test.ts as `node --experimental-wasm-relaxed-simd test/helpers/fma-gemm-child.mjs`: the
// FMA and the plain GEMM kernels (dist/backend/simd/) on the same operands, nn and tn, odd shapes, packed or not,
// k past one k block (so tiles continue sums from C). Prints one JSON line per case.
import { relaxedSimdSupported, simdKernelsFor } from '../../dist/backend/simd/module.js';
import { packedBytes } from '../../dist/backend/simd/gemm.js';

const cases = [
  { layout: 'nn', m: 13, k: 37, n: 21, packed: false },
  { layout: 'nn', m: 13, k: 37, n: 21, packed: true },
  { layout: 'tn', m: 13, k: 37, n: 21, packed: true },
  { layout: 'nn', m: 5, k: 300, n: 19, packed: true },
  { layout: 'tn', m: 7, k: 513, n: 33, packed: true },
  { layout: 'tn', m: 7, k: 513, n: 33, packed: false },
  { layout: 'nn', m: 130, k: 9, n: 8, packed: true },
  { layout: 'nn', m: 1, k: 1, n: 1, packed: false },
];

const memory = new WebAssembly.Memory({ initial: 64 });
const floats = new Float32Array(memory.buffer);
const results = [];
for (const { layout, m, k, n, packed } of cases) {
  const aAt = 0;
  const bAt = m * k;
  const cAt = bAt + k * n;
  const scratchAt = cAt + m * n;
  // Deterministic values of mixed sign and magnitude (products then cancel in the sums).
  for (let i = 0; i < m * k + k * n; i++) floats[i] = Math.sin(i * 1.7 + m) * (1 + (i % 5));
  const a = (i, kk) => (layout === 'nn' ? floats[aAt + i * k + kk] : floats[aAt + kk * m + i]);
  const b = (kk, j) => floats[bAt + kk * n + j];
  const run = (fma) => {
    simdKernelsFor(memory, fma).gemm({
      layout,
      a: aAt * 4,
      b: bAt * 4,
      c: cAt * 4,
      m,
      k,
      n,
      ...(packed ? { packed: scratchAt * 4 } : {}),
    });
    return floats.slice(cAt, cAt + m * n);
  };
  if (packed && scratchAt * 4 + packedBytes(m, k, n) > memory.buffer.byteLength) throw new Error('memory too small');
  const plain = run(false);
  const fused = run(true);
  let differing = 0;
  let worstRatio = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let absSum = 0;
      for (let kk = 0; kk < k; kk++) absSum += Math.abs(a(i, kk) * b(kk, j));
      const diff = Math.abs(fused[i * n + j] - plain[i * n + j]);
      if (diff > 0) differing++;
      // Each sum is within γ·Σ|a·b| of the exact one (plain: k+1 roundings deep, fma: k); so they differ by at most
      // (2k + 1)·u·Σ|a·b|, u = 2⁻²⁴.
      const bound = (2 * k + 1) * 2 ** -24 * absSum;
      worstRatio = Math.max(worstRatio, bound === 0 ? (diff === 0 ? 0 : Infinity) : diff / bound);
    }
  }
  results.push({ layout, m, k, n, packed, outputs: m * n, differing, worstRatio });
}
console.log(JSON.stringify({ relaxed: relaxedSimdSupported(), results }));
