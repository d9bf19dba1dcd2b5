/**
 * `node bench/run.mjs --rounds N` (issue #20): W1–W3 measured N times, round after round, and each row reduced to its
 * median round, so that one slow minute on a shared machine does not decide a ratio target.
 */
import { describe, expect, it } from 'vitest';
import { medianOfRounds } from '../bench/rounds.mjs';

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
