/**
 * scripts/reference-results.mjs formats a seed group's summary (what `mtl train --seeds … --baselines … --json`
 * prints) as the Markdown of datasets/README.md's reference tables; `--summary` formats one without training.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { summarizeSeedGroup } from '../src/api/groups.js';
import { tempDir } from './helpers.js';
import { root } from './helpers/cli.js';
import { fakeGroup, transferReport, writeTransferReport } from './helpers/groups.js';

describe('reference-results.mjs --summary', () => {
  it('writes per task and metric single-task and MTL mean ± std, the gain, the verdict, Δm and the rule', () => {
    const store = tempDir();
    const mtl = [1.1, 1.2, 1.3];
    const dir = fakeGroup(store, '20260101-000000-penguins-seeds-abcdef', {
      0: { 'y1/mse': mtl[0]! },
      1: { 'y1/mse': mtl[1]! },
      2: { 'y1/mse': mtl[2]! },
    });
    for (const seed of [0, 1, 2])
      writeTransferReport(path.join(dir, `seed-${seed}`), transferReport({ y1: { mtl: mtl[seed]!, single: 1 } }));
    const file = path.join(store, 'printed.json');
    writeFileSync(file, JSON.stringify({ group: {}, summary: summarizeSeedGroup(dir) }));
    const result = spawnSync(process.execPath, ['scripts/reference-results.mjs', '--summary', file], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(result.status, result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines).toContain('| task | metric | single-task | hard sharing | relative gain | verdict |');
    // single 1 ± 0, MTL 1.2 ± 0.1, gain −20 % ± 10 %, flagged: worse by more than the spread.
    expect(lines).toContain('| y1 | mse ↓ | 1.00 ± 0.00 | 1.20 ± 0.10 | −20.00 % ± 10.00 % | negative-transfer |');
    expect(result.stdout).toContain('Δm of hard sharing vs single-task: **−20.00 % ± 10.00 %** (per seed: ');
    expect(result.stdout).toMatch(/paired t-test t = -3\.46, df 2, p = 0\.074\)/);
    expect(result.stdout).toContain('Negative-transfer rule: A task');
  });
});
