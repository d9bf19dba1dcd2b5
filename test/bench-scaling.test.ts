/**
 * The pure parts of the bench's scaling figures (bench/scaling.mjs, issue #20 point 3): the straight-line fit of
 * ms/step against T, the FLOP count of a dense training step, target judging, and the relaxed-SIMD probe and flags.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  RELAXED_SIMD_PROBE,
  batchFit,
  denseStepFlops,
  fmaNodeFlags,
  gflopsPerSecond,
  judgeRatio,
  judgeTarget,
  linearFit,
  squareGemmFlops,
  targetLine,
  widthModelLayers,
} from '../bench/scaling.mjs';

describe('linearFit', () => {
  it('recovers an exact line', () => {
    const fit = linearFit([2, 4, 8, 16], [7, 11, 19, 35]); // 3 + 2T
    expect(fit.a).toBeCloseTo(3, 12);
    expect(fit.b).toBeCloseTo(2, 12);
    expect(fit.r2).toBeCloseTo(1, 12);
  });

  it('gives the least-squares line and R² of scattered points (by hand)', () => {
    // x̄ = 2, ȳ = 2; Sxx = 2, Sxy = (−1)(−1) + 0 + (1)(0) = 1 → b = 0.5, a = 2 − 0.5·2 = 1.
    const fit = linearFit([1, 2, 3], [1, 3, 2]);
    expect(fit.b).toBeCloseTo(0.5, 12);
    expect(fit.a).toBeCloseTo(1, 12);
    // ŷ = (1.5, 2, 2.5): SSres = 0.25 + 1 + 0.25 = 1.5, SStot = 2 → R² = 0.25.
    expect(fit.r2).toBeCloseTo(0.25, 12);
  });

  it('refuses fewer than two points, unequal lengths and a single x', () => {
    expect(() => linearFit([1], [1])).toThrow('at least two points');
    expect(() => linearFit([1, 2], [1])).toThrow('2 x values but 1 y values');
    expect(() => linearFit([3, 3], [1, 2])).toThrow('every x is the same');
  });
});

describe('FLOP counting', () => {
  it('counts forward, weight and input gradients, without the first layer input gradient', () => {
    // One layer 3→2 on 5 rows: forward 2·5·3·2 = 60, backward only the weight gradient = 60.
    expect(denseStepFlops(5, [[3, 2]])).toEqual({ forward: 60, backward: 60, total: 120 });
    // Two layers 3→2→4 on 5 rows: forward 60 + 80 = 140; backward 60 + 2·80 = 220.
    expect(
      denseStepFlops(5, [
        [3, 2],
        [2, 4],
      ]),
    ).toEqual({ forward: 140, backward: 220, total: 360 });
  });

  it('describes the width model and its FLOPs at w = 256 (by hand)', () => {
    expect(widthModelLayers(256)).toEqual([
      [784, 256],
      [256, 256],
      [256, 10],
      [256, 10],
    ]);
    // B = 256: forward 2·256·(784·256 + 256·256 + 2·2560) = 512·271,360 = 138,936,320;
    // backward 2·256·784·256 + 2·2·256·(256·256 + 2·2560) = 102,760,448 + 72,351,744 = 175,112,192.
    const flops = denseStepFlops(256, widthModelLayers(256));
    expect(flops.forward).toBe(138_936_320);
    expect(flops.backward).toBe(175_112_192);
    expect(flops.total).toBe(314_048_512);
  });

  it('turns FLOPs and milliseconds into GFLOP/s, and counts a square sgemm', () => {
    expect(squareGemmFlops(1024)).toBe(2 * 1024 ** 3);
    expect(gflopsPerSecond(2e9, 100)).toBeCloseTo(20, 12); // 2 GFLOP in 0.1 s
  });
});

describe('batchFit', () => {
  it('fits ms/step = a + b·B per engine, skipping failed rows; null with fewer than two batch sizes', () => {
    const step = (ms: number) => ({ ms_per_step_median: ms });
    const rows = [
      { batch: 32, ours: step(3 + 0.05 * 32), torch: step(1 + 0.025 * 32) },
      { batch: 256, ours: step(3 + 0.05 * 256), torch: { error: 'killed' } },
      { batch: 1024, ours: step(3 + 0.05 * 1024), torch: null },
    ];
    const fit = batchFit(rows);
    expect(fit.ours).toEqual({ a: 3, b: 0.05, r2: 1 });
    expect(fit.torch).toBeNull();
  });
});

describe('target judging', () => {
  it('judges value ≤ limit, and null when not measured', () => {
    expect(judgeTarget('x', 1.5, 1.5).met).toBe(true);
    expect(judgeTarget('x', 1.51, 1.5).met).toBe(false);
    expect(judgeTarget('x', undefined, 1.5)).toMatchObject({ value: null, met: null });
    expect(judgeTarget('x', Number.NaN, 1.5)).toMatchObject({ value: null, met: null });
  });

  it('judges a ratio and keeps both numbers', () => {
    const t = judgeRatio('W2 ≤ 1.6× W1', 12, 8, 1.6);
    expect(t).toMatchObject({ value: 1.5, met: true, numerator: 12, denominator: 8, limit: 1.6 });
    expect(judgeRatio('W2 ≤ 1.6× W1', 13, 8, 1.6).met).toBe(false);
    expect(judgeRatio('W2 ≤ 1.6× W1', 12, null, 1.6)).toMatchObject({ value: null, met: null, denominator: null });
  });

  it('prints met, missed, not measured and info lines with both numbers', () => {
    expect(targetLine(judgeRatio('W2 ≤ 1.6× W1', 12, 8, 1.6))).toBe(
      'MET    W2 ≤ 1.6× W1: 1.500 (limit 1.6) (12.00 vs 8.00 ms/step)',
    );
    expect(targetLine(judgeRatio('W2 ≤ 1.5× PyTorch', 16, 8, 1.5, { detail: 'same run' }))).toBe(
      'MISSED W2 ≤ 1.5× PyTorch: 2.000 (limit 1.5) (16.00 vs 8.00 ms/step) — same run',
    );
    expect(targetLine(judgeTarget('W1 FMA', null, 1.5))).toBe('n/a    W1 FMA: not measured (limit 1.5)');
    expect(targetLine({ target: 'fit', value: null, detail: 'ours 1 + 2·T' })).toBe('info   fit: ours 1 + 2·T');
    // A judged target without a numeric limit (MEM's flat live tensors) keeps its verdict.
    expect(targetLine({ target: 'MEM flat', value: [30, 30], met: true })).toBe('MET    MEM flat: 30 30');
    expect(targetLine({ target: 'MEM flat', value: [30, 31], met: false })).toBe('MISSED MEM flat: 30 31');
  });

  it('shows a value next to its limit with the digits that tell them apart', () => {
    // 16.0032 / 10 = 1.60032 is over 1.6: "1.600 (limit 1.6)" beside MISSED would read as a mistake.
    expect(targetLine(judgeRatio('W2 ≤ 1.6× W1', 16.0032, 10, 1.6))).toBe(
      'MISSED W2 ≤ 1.6× W1: 1.6003 (limit 1.6) (16.00 vs 10.00 ms/step)',
    );
    expect(targetLine(judgeTarget('W2 ≤ 1.6× W1', 1.59996, 1.6))).toBe('MET    W2 ≤ 1.6× W1: 1.59996 (limit 1.6)');
    expect(targetLine(judgeTarget('W2 ≤ 1.6× W1', 1.6, 1.6))).toBe('MET    W2 ≤ 1.6× W1: 1.600 (limit 1.6)');
  });
});

describe('relaxed SIMD', () => {
  it('asks for the flag on Node 20 and 21 only, and never with fma off', () => {
    expect(fmaNodeFlags('20.20.2', 'auto')).toEqual(['--experimental-wasm-relaxed-simd']);
    expect(fmaNodeFlags('v21.1.0', 'on')).toEqual(['--experimental-wasm-relaxed-simd']);
    expect(fmaNodeFlags('22.12.0', 'on')).toEqual([]);
    expect(fmaNodeFlags('20.20.2', 'off')).toEqual([]);
  });

  it('the probe module compiles exactly where relaxed SIMD is on', () => {
    const probe =
      'const bytes = new Uint8Array(JSON.parse(process.argv[1]));' +
      'try { new WebAssembly.Module(bytes); console.log("compiled"); } catch (e) { console.log(e.message); }';
    const bytes = JSON.stringify(Array.from(RELAXED_SIMD_PROBE));
    const major = Number(process.versions.node.split('.')[0]);
    const withFlag = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', '-e', probe, bytes], {
      encoding: 'utf8',
    });
    expect(withFlag.stdout.trim()).toBe('compiled');
    if (major <= 21) {
      // Without the flag Node 20 refuses exactly the relaxed opcode: the module is otherwise valid.
      const without = spawnSync(process.execPath, ['-e', probe, bytes], { encoding: 'utf8' });
      expect(without.stdout).toContain('relaxed-simd');
    }
  });
});
