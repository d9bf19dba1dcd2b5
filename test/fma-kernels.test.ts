import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { relaxedSimdSupported } from '../src/backend/simd/module.js';
import { tempDir, writeFile } from './helpers.js';
import { bin, root } from './helpers/cli.js';
import { smallDigitsConfig } from './helpers/configs.js';
import { snapshotRun } from './helpers/run-snapshot.js';

/**
 * The fused multiply-add kernels (issue #20 point 2). vitest runs Node without relaxed SIMD (Node 20, no flag), so
 * what needs them runs in a child `node --experimental-wasm-relaxed-simd` (on Node ≥ 22, where relaxed SIMD is on and
 * the flag is refused, a child without it). The children use the built dist/ (as the CLI tests do).
 */
const RELAXED_FLAG = '--experimental-wasm-relaxed-simd';

interface Child {
  code: number;
  stdout: string;
  stderr: string;
}

function node(args: string[], withRelaxedSimd: boolean): Child {
  // Node ≥ 22 has relaxed SIMD on and rejects the flag (Node 26: "bad option"): only Node 20 gets it.
  const flags = withRelaxedSimd && !relaxedSimdSupported() ? [RELAXED_FLAG] : [];
  const result = spawnSync(process.execPath, [...flags, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, CI: 'true' },
    timeout: 170_000,
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

interface GemmCase {
  layout: string;
  m: number;
  k: number;
  n: number;
  packed: boolean;
  outputs: number;
  differing: number;
  worstRatio: number;
}

function readJson(file: string): Record<string, unknown> & { backend: { fma: { path: string; requested: string } } } {
  return JSON.parse(readFileSync(file, 'utf8'));
}

describe('FMA GEMM kernels against the plain ones (child with relaxed SIMD)', () => {
  it('nn and tn, odd shapes, packed, k over one block: within (2k+1)·u·Σ|a·b| of the plain kernel', () => {
    const child = node(['test/helpers/fma-gemm-child.mjs'], true);
    expect(child.code, child.stderr).toBe(0);
    const report = JSON.parse(child.stdout) as { relaxed: boolean; results: GemmCase[] };
    expect(report.relaxed).toBe(true);
    expect(report.results).toHaveLength(8);
    for (const result of report.results) {
      const label = `${result.layout} ${result.m}×${result.k}×${result.n}${result.packed ? ' packed' : ''}`;
      // Why a tolerance: one rounding per multiply-add instead of two. Both sums lie within k·u·Σ|a·b| (+u for the
      // plain one's products) of the exact value, so they differ by at most (2k+1)·u·Σ|a·b| (u = 2⁻²⁴).
      expect(result.worstRatio, label).toBeLessThanOrEqual(1);
      // … and they do differ: the FMA kernel ran (x86 FMA3 / Arm NEON fuse relaxed_madd). 1×1×1 is the scalar
      // column, which multiplies then adds on both paths (and a single product rounds the same either way).
      if (result.k > 1) expect(result.differing, label).toBeGreaterThan(0);
      else expect(result.differing, label).toBe(0);
    }
  });
});

describe('training with backend.fma (child processes)', () => {
  const configText = smallDigitsConfig(2);

  it('fma: on records the FMA path, is bit-for-bit reproducible, and differs from fma: off', () => {
    const runsDir = tempDir();
    const file = writeFile(tempDir(), 'fma.yaml', configText);
    const train = (
      fma: string,
      relaxed: boolean,
    ): { id: string; metrics: string; meta: ReturnType<typeof readJson> } => {
      const result = node([bin, 'train', file, '--runs-dir', runsDir, '--set', `backend.fma=${fma}`], relaxed);
      expect(result.code, result.stderr).toBe(0);
      const id = result.stdout.trim();
      const summary = JSON.parse(readFileSync(path.join(runsDir, id, 'summary.json'), 'utf8'));
      const metrics = JSON.stringify({ test: summary.test, val: summary.val });
      return { id, metrics, meta: readJson(path.join(runsDir, id, 'meta.json')) };
    };
    const first = train('on', true);
    const second = train('on', true);
    const plain = train('off', true);
    expect(first.meta.backend.fma).toMatchObject({ requested: 'on', path: 'fma' });
    expect(plain.meta.backend.fma).toMatchObject({ requested: 'off', path: 'plain' });
    expect(second.metrics).toBe(first.metrics);
    expect(plain.metrics).not.toBe(first.metrics);

    // Replaying the FMA run without relaxed SIMD would change its numbers: refused, exit 2, the run untouched.
    if (!relaxedSimdSupported()) {
      const before = snapshotRun(path.join(runsDir, first.id));
      const evaluated = node([bin, 'eval', first.id, '--runs-dir', runsDir], false);
      expect(evaluated.code, evaluated.stderr).toBe(2);
      expect(evaluated.stderr).toContain(
        `Run ${first.id} was trained on the fused multiply-add kernels (meta.json backend.fma.path "fma"), but this ` +
          'runtime',
      );
      expect(evaluated.stderr).toContain(RELAXED_FLAG);
      expect(evaluated.stderr).not.toMatch(/\n\s+at /);
      expect(snapshotRun(path.join(runsDir, first.id))).toEqual(before);
    }
    // With relaxed SIMD, eval runs on the recorded path.
    const evaluated = node([bin, 'eval', first.id, '--runs-dir', runsDir], true);
    expect(evaluated.code, evaluated.stderr).toBe(0);
  });

  // On a Node whose relaxed SIMD is on by default (≥ 22) there is no runtime without it to try.
  it.skipIf(relaxedSimdSupported())('fma: on without relaxed SIMD: exit 2, says why and how, no run changed', () => {
    const runsDir = tempDir();
    const file = writeFile(tempDir(), 'fma.yaml', configText);
    const earlier = node([bin, 'train', file, '--runs-dir', runsDir], false);
    expect(earlier.code, earlier.stderr).toBe(0);
    const before = snapshotRun(path.join(runsDir, earlier.stdout.trim()));
    const result = node([bin, 'train', file, '--runs-dir', runsDir, '--set', 'backend.fma=on'], false);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(
      /^mtl: backend\.fma is "on" but this runtime \(Node v[\d.]+\) has no WebAssembly relaxed SIMD, which the fused/,
    );
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(readdirSync(runsDir)).toEqual([earlier.stdout.trim()]); // no new run folder
    expect(snapshotRun(path.join(runsDir, earlier.stdout.trim()))).toEqual(before);
    // The hint is a command that works: node with the flag, on this mtl's own entry point (NODE_OPTIONS refuses the
    // flag, so `npx mtl` cannot pass it; the hint once named the flag alone).
    const hint = /use Node ≥ 22, or run Node 20 with the flag: `node --experimental-wasm-relaxed-simd (\S+) …`/.exec(
      result.stderr,
    );
    expect(hint?.[1], result.stderr).toBe(path.join('bin', 'mtl.js'));
    const flaggedRuns = tempDir();
    const flagged = node([hint![1]!, 'train', file, '--runs-dir', flaggedRuns, '--set', 'backend.fma=on'], true);
    expect(flagged.code, flagged.stderr).toBe(0);
    const flaggedMeta = JSON.parse(
      readFileSync(path.join(flaggedRuns, flagged.stdout.trim(), 'meta.json'), 'utf8'),
    ) as { backend: { fma: { path: string } } };
    expect(flaggedMeta.backend.fma.path).toBe('fma');
  });
});
