/**
 * `mtl compare` of seed groups (api/compare-groups.ts) on groups written by hand: per metric mean ± std and the
 * relative change of the means, Δm paired by seed (mean ± std, paired t-test) or unpaired (of the means), and the
 * references it refuses.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareGroups, isGroupReference } from '../src/api/compare-groups.js';
import { usageError } from './helpers/expect.js';
import { fakeGroup } from './helpers/groups.js';
import { fakeRun } from './helpers/runs.js';

const A = '20260101-000000-corr-seeds-aaaaaa';
const B = '20260101-000100-corr-seeds-bbbbbb';
const C = '20260101-000200-corr-seeds-cccccc';

function store(): string {
  const runsDir = mkdtempSync(path.join(os.tmpdir(), 'mtl-compare-groups-'));
  fakeGroup(runsDir, A, {
    0: { 'y1/mse': 1.0, 'y2/accuracy': 0.8 },
    1: { 'y1/mse': 2.0, 'y2/accuracy': 0.5 },
  });
  fakeGroup(runsDir, B, {
    0: { 'y1/mse': 0.5, 'y2/accuracy': 0.8 },
    1: { 'y1/mse': 2.0, 'y2/accuracy': 0.6 },
  });
  fakeGroup(runsDir, C, { 5: { 'y1/mse': 0.75, 'y2/accuracy': 0.65 } });
  return runsDir;
}

describe('compare seed groups', () => {
  it('gives each metric as mean ± std per group and the relative change of the means', () => {
    const comparison = compareGroups([A, B], { runsDir: store() });
    const mse = comparison.rows.find((r) => r.metric === 'y1/mse');
    expect(mse?.stats[0]).toMatchObject({ mean: 1.5, n: 2 });
    expect(mse?.stats[0]?.std).toBeCloseTo(Math.SQRT1_2, 12);
    expect(mse?.stats[1]?.mean).toBe(1.25);
    // lower is better: −(1.25 − 1.5)/1.5.
    expect(mse?.relative).toEqual([null, expect.closeTo(1 / 6, 12)]);
  });

  it('pairs members by seed: Δm per seed, mean ± std and a paired t-test', () => {
    const comparison = compareGroups([A, B], { runsDir: store() });
    expect(comparison.pairing).toBe('paired-by-seed');
    const [delta] = comparison.deltaM;
    // seed 0: (0.5 + 0)/2 = 0.25; seed 1: (0 + 0.2)/2 = 0.1.
    expect(delta?.perSeed?.['0']).toBeCloseTo(0.25, 12);
    expect(delta?.perSeed?.['1']).toBeCloseTo(0.1, 12);
    expect(delta?.deltaM.mean).toBeCloseTo(0.175, 12);
    expect(delta?.deltaM.std).toBeCloseTo(0.15 / Math.SQRT2, 12);
    // t = 0.175 / (0.106066/√2) = 7/3, df 1: p = 1 − (2/π)·atan(7/3).
    expect(delta?.pairedTest?.t).toBeCloseTo(7 / 3, 10);
    expect(delta?.pairedTest?.p).toBeCloseTo(1 - (2 / Math.PI) * Math.atan(7 / 3), 10);
  });

  it('compares groups of other seeds unpaired, by their means, and says so', () => {
    const comparison = compareGroups([A, C], { runsDir: store() });
    expect(comparison.pairing).toBe('unpaired');
    expect(comparison.pairingNote).toContain(`${A}: 0,1; ${C}: 5`);
    // means A (1.5, 0.65), C (0.75, 0.65): (0.5 + 0)/2.
    expect(comparison.deltaM[0]?.deltaM).toEqual({ mean: 0.25, std: NaN, n: 1 });
    expect(comparison.deltaM[0]?.perSeed).toBeUndefined();
  });

  it('tells groups from runs, and refuses a prefix that names both', () => {
    const runsDir = store();
    fakeRun(runsDir, '20260101-000300-corr-dddddd', { test: { 'y1/mse': 1 } });
    fakeRun(runsDir, '20260101-000200-other-eeeeee', { test: { 'y1/mse': 1 } });
    expect(isGroupReference(A, runsDir)).toBe(true);
    expect(isGroupReference(path.join(runsDir, B), runsDir)).toBe(true);
    expect(isGroupReference('20260101-000300', runsDir)).toBe(false);
    expect(isGroupReference(`${A}/seed-0`, runsDir)).toBe(false);
    // 20260101-0002 starts both group C and the run 20260101-000200-other-eeeeee.
    const error = usageError(() => isGroupReference('20260101-0002', runsDir));
    expect(error.message).toBe(`"20260101-0002" matches both a run and the seed group ${C} in ${runsDir}.`);
    expect(error.details).toEqual(['give more characters of the id, or the path']);
  });
});
