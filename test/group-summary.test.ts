/**
 * The group summary over members carrying single-task baselines (transfer.json, written here through the
 * TransferReport type): per task MTL and single-task mean ± std, the gain, the paired t-test and the negative-transfer
 * verdict, and Δm over seeds, against hand-computed values.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { summarizeSeedGroup } from '../src/api/groups.js';
import { printGroupSummary } from '../src/cli/train-group.js';
import { NEGATIVE_TRANSFER_RULE } from '../src/analysis/seed-statistics.js';
import { writeGroupMeta } from '../src/runs/groups.js';
import { completedGroupMeta, transferReport, writeTransferReport } from './helpers/groups.js';
import { fakeRun } from './helpers/runs.js';

/** y1 is hurt on every seed (gains −0.1, −0.2, −0.3); y2 goes either way (+0.1, −0.1, +0.05). */
const MTL = { y1: [1.1, 1.2, 1.3], y2: [0.9, 1.1, 0.95] };

function groupWithTransfer(seeds: number[]): string {
  const runsDir = mkdtempSync(path.join(os.tmpdir(), 'mtl-group-summary-'));
  const id = '20260101-000000-corr-seeds-abcdef';
  const dir = path.join(runsDir, id);
  const meta = completedGroupMeta(id, seeds);
  for (const seed of seeds) {
    const y1 = MTL.y1[seed]!;
    const y2 = MTL.y2[seed]!;
    const member = fakeRun(dir, `seed-${seed}`, { test: { 'y1/mse': y1, 'y2/mse': y2 } });
    writeTransferReport(member, transferReport({ y1: { mtl: y1, single: 1 }, y2: { mtl: y2, single: 1 } }));
  }
  writeGroupMeta(dir, meta);
  return dir;
}

describe('group summary with single-task baselines', () => {
  it('gives per task the gain over seeds, the paired t-test and the verdict of the rule', () => {
    const dir = groupWithTransfer([0, 1, 2]);
    const summary = summarizeSeedGroup(dir);
    const transfer = summary.transfer!;
    expect(transfer.baseline).toBe('single-task');
    expect(transfer.seeds).toEqual([0, 1, 2]);
    expect(transfer.rule).toBe(NEGATIVE_TRANSFER_RULE);
    const [y1, y2] = transfer.tasks;
    expect(y1?.task).toBe('y1');
    expect(y1?.gain.mean).toBeCloseTo(-0.2, 12);
    expect(y1?.gain.std).toBeCloseTo(0.1, 12);
    expect(y1?.metrics[0]?.mtl.mean).toBeCloseTo(1.2, 12);
    expect(y1?.metrics[0]?.single).toMatchObject({ mean: 1, std: 0, n: 3 });
    // t = −0.2 / (0.1/√3) = −2√3, df 2, p = 1 − |t|/√(2 + t²).
    expect(y1?.pairedTest?.t).toBeCloseTo(-2 * Math.sqrt(3), 10);
    expect(y1?.pairedTest?.p).toBeCloseTo(1 - (2 * Math.sqrt(3)) / Math.sqrt(14), 10);
    expect(y1?.verdict).toBe('negative-transfer');
    // y2: mean 0.01667, std 0.10408: within the spread.
    expect(y2?.gain.mean).toBeCloseTo(0.05 / 3, 12);
    expect(y2?.gain.std).toBeCloseTo(Math.sqrt(0.0216666666666667 / 2), 10);
    expect(y2?.verdict).toBe('no-difference');
    // Δm per seed: 0, −0.15, −0.125.
    for (const [i, expected] of [0, -0.15, -0.125].entries())
      expect(transfer.deltaM.perSeed[i]).toBeCloseTo(expected, 12);
    expect(transfer.deltaM.mean).toBeCloseTo(-0.275 / 3, 12);
    expect(transfer.deltaM.std).toBeCloseTo(Math.sqrt(0.0129166666666667 / 2), 10);
  });

  it('with one seed leaves a negative gain unconfirmed, and has no t-test and no spread', () => {
    const summary = summarizeSeedGroup(groupWithTransfer([0]));
    const y1 = summary.transfer?.tasks[0];
    expect(y1?.verdict).toBe('negative-transfer-unconfirmed');
    expect(y1?.pairedTest).toBeNull();
    expect(y1?.gain.std).toBeNaN();
  });

  it('is stored as group-summary.json, a one-seed std written as null', () => {
    const dir = groupWithTransfer([0]);
    summarizeSeedGroup(dir);
    const stored = JSON.parse(readFileSync(path.join(dir, 'group-summary.json'), 'utf8')) as {
      transfer: { tasks: { gain: { std: unknown; mean: number }; verdict: string }[] };
    };
    expect(stored.transfer.tasks[0]?.gain.std).toBeNull();
    expect(stored.transfer.tasks[0]?.verdict).toBe('negative-transfer-unconfirmed');
  });
});

describe('the group summary as mtl train --seeds prints it', () => {
  it('has a metric table over seeds and, with baselines, the transfer table, Δm and the rule', () => {
    const summary = summarizeSeedGroup(groupWithTransfer([0, 1, 2]));
    const written: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      printGroupSummary(summary);
    } finally {
      spy.mockRestore();
    }
    const lines = written.join('').split('\n');
    expect(lines[0]).toMatch(/^metric +test mean ± std +n +per seed \(0, 1, 2\)$/);
    expect(lines).toContainEqual(expect.stringMatching(/^y1\/mse ↓ +1\.2000 ± 0\.1000 +3 +1\.1000 1\.2000 1\.3000$/));
    expect(lines).toContain('MTL vs single-task baseline (test split, seeds 0, 1, 2):');
    expect(lines).toContainEqual(
      expect.stringMatching(/^y1 gain +-20\.00% ± 10\.00% +t=-3\.46 p=0\.074 +negative-transfer$/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^y2 gain +\+1\.67% ± 10\.41% +t=0\.28 p=0\.808 +no-difference$/),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^Δm \(MTL vs single-task\): -9\.17% ± 8\.04% \(paired t-test/));
    expect(lines).toContain(`rule: ${NEGATIVE_TRANSFER_RULE}`);
  });
});
