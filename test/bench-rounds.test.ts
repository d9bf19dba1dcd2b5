/**
 * `node bench/run.mjs --rounds N` (issue #20): W1–W3 measured N times, round after round, and each row reduced to its
 * median round, so that one slow minute on a shared machine does not decide a ratio target; the scaling tables too,
 * each cell reduced to its median round.
 */
import { describe, expect, it } from 'vitest';
import { bestResult, medianOfRounds, medianResult, mergeScalingRounds, widestSpread } from '../bench/rounds.mjs';

type Row = { workload: string; round?: number; ms_per_step_median?: number; error?: string; variant?: string };

const row = (workload: string, round: number, ms: number, extra: Partial<Row> = {}): Row => ({
  workload,
  round,
  ms_per_step_median: ms,
  ...extra,
});

describe('medianOfRounds', () => {
  it('keeps one row per workload and variant: the median round, with every round in order', () => {
    const rows = [
      row('W1', 1, 9.0),
      row('W1', 1, 7.5, { variant: 'fma' }),
      row('W2', 1, 14.0),
      row('W1', 2, 12.0),
      row('W1', 2, 7.0, { variant: 'fma' }),
      row('W2', 2, 13.0),
      row('W1', 3, 8.5),
      row('W1', 3, 9.0, { variant: 'fma' }),
      row('W2', 3, 13.5),
    ];
    const out = medianOfRounds(rows, ['W1', 'W2', 'W3']);
    expect(out.map((r) => [r.workload, r.variant ?? '', r.ms_per_step_median, r.round, r.rounds_ms])).toEqual([
      ['W1', '', 9.0, 1, [9.0, 12.0, 8.5]],
      ['W1', 'fma', 7.5, 1, [7.5, 7.0, 9.0]],
      ['W2', '', 13.5, 3, [14.0, 13.0, 13.5]],
    ]);
  });

  it('takes the lower middle round of an even count, and passes failed rows and other workloads through', () => {
    const failed = { workload: 'W1', round: 2, error: 'child crashed' };
    const w4 = { workload: 'W4', round: 1 };
    const out = medianOfRounds(
      [row('W1', 1, 10), failed, w4, row('W1', 2, 8), row('W1', 3, 9), row('W1', 4, 11)],
      ['W1'],
    );
    expect(out).toHaveLength(3);
    expect(out[0]).toMatchObject({ ms_per_step_median: 9, rounds_ms: [10, 8, 9, 11] });
    expect(out[1]).toBe(failed);
    expect(out[2]).toBe(w4);
  });
});

const cell = (ms: number) => ({ ms_per_step_median: ms, solver_ms_per_step: ms / 10 });

describe('scaling rounds', () => {
  it('gives each cell its median round, ours and PyTorch apart, keeping every round', () => {
    expect(medianResult([cell(30), cell(10), cell(20)])).toEqual({ ...cell(20), rounds_ms: [30, 10, 20] });
    // The lower middle of an even count; a failed round is listed as null and left out of the median.
    expect(medianResult([cell(30), { error: 'crashed' }, cell(10), cell(20), cell(40)])).toEqual({
      ...cell(20),
      rounds_ms: [30, null, 10, 20, 40],
    });
    // One round: the result as measured. No round measured: the first failure, to print; PyTorch not run: null.
    expect(medianResult([cell(7)])).toEqual(cell(7));
    expect(medianResult([{ error: 'a' }, { error: 'b' }])).toEqual({ error: 'a' });
    expect(medianResult([null, null])).toBeNull();
  });

  it('takes the best of a GEMM peak', () => {
    expect(bestResult([{ gflops: 18.1 }, { gflops: 19.4 }, { gflops: 12.0 }])).toEqual({
      gflops: 19.4,
      rounds_gflops: [18.1, 19.4, 12.0],
    });
  });

  it('merges every table cell by cell, and names the widest spread', () => {
    const round = (a: number, b: number, conv: number, peak: number) => ({
      tasks: [
        { strategy: 'pcgrad', tasks: 2, ours: cell(a), torch: cell(a / 2) },
        { strategy: 'pcgrad', tasks: 4, ours: cell(b), torch: null },
      ],
      widths: [{ width: 256, flops: { total: 1 }, ours: cell(a), torch: cell(b) }],
      batches: [{ batch: 32, ours: cell(b), torch: cell(a) }],
      paths: [{ workload: 'W2', retained: 'on', ours: cell(a) }],
      conv: { warmup: 40, ours: cell(conv), torch: cell(conv / 2) },
      gemm_peak: { size: 2048, ours: { gflops: peak }, torch: { gflops: 100 } },
    });
    const merged = mergeScalingRounds([round(20, 34, 8, 18), round(33, 35, 9, 19), round(21, 36, 30, 17)]);
    expect(merged.tasks.map((r: { ours: { rounds_ms: number[] } }) => r.ours.rounds_ms)).toEqual([
      [20, 33, 21],
      [34, 35, 36],
    ]);
    expect(merged.tasks[0]).toMatchObject({ strategy: 'pcgrad', tasks: 2, ours: cell(21), torch: cell(10.5) });
    expect(merged.tasks[1].torch).toBeNull();
    expect(merged.widths[0]).toMatchObject({ width: 256, flops: { total: 1 }, ours: cell(21), torch: cell(35) });
    expect(merged.batches[0]).toMatchObject({ batch: 32, ours: cell(35), torch: cell(21) });
    expect(merged.paths[0]).toEqual({ workload: 'W2', retained: 'on', ours: { ...cell(21), rounds_ms: [20, 33, 21] } });
    expect(merged.conv).toMatchObject({ warmup: 40, ours: cell(9), torch: cell(4.5) });
    expect(merged.gemm_peak.ours.gflops).toBe(19);
    // CONV's 8, 9, 30 spreads 3.75×, wider than any other cell.
    expect(widestSpread(merged)).toEqual({ spread: 3.75, label: 'CONV (ours)', rounds_ms: [8, 9, 30] });
    expect(widestSpread(mergeScalingRounds([round(20, 34, 8, 18)]))).toBeUndefined();
  });
});
