/**
 * `mtl compare` of seed groups (api/compare-groups.ts) on groups written by hand: per metric mean ± std and the
 * relative change of the means, Δm paired by seed (mean ± std, paired t-test) or unpaired (of the means), and the
 * references it refuses.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareGroups, isGroupReference } from '../src/api/compare-groups.js';
import { parseConfigText } from '../src/config/load.js';
import { mtl } from './helpers/cli.js';
import { usageError } from './helpers/expect.js';
import { completedGroupMeta, fakeGroup, groupConfig } from './helpers/groups.js';
import { writeGroupMeta } from '../src/runs/groups.js';
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
    expect(error.message).toBe(`"20260101-0002" is ambiguous in ${runsDir}: it matches both a run and a seed group:`);
    expect(error.details).toEqual([
      'run 20260101-000200-other-eeeeee',
      `seed group ${C}`,
      'give more characters of the id, or the path',
    ]);
  });
});

/**
 * Gives each member of a fake group the resolved config of `groupConfig({ extra })` with its own seed, as
 * trainSeedGroup writes it; `csv` names a CSV instead of the built-in dataset (written as resolved: loading would read
 * the made-up file).
 */
function withConfigs(groupDir: string, seeds: number[], options: { extra?: string; csv?: string } = {}): void {
  const loaded = parseConfigText(groupConfig(options.extra ? { extra: options.extra } : {}), { displayName: 'g.yaml' });
  const { dataset: _dataset, ...data } = loaded.config.data;
  for (const seed of seeds) {
    const config = { ...loaded.config, seed, ...(options.csv ? { data: { ...data, csv: options.csv } } : {}) };
    writeFileSync(path.join(groupDir, `seed-${seed}`, 'config.resolved.json'), JSON.stringify(config, null, 2));
  }
}

describe('a group none of whose members has metrics', () => {
  it("names its members' statuses (a completed group whose members all diverged)", () => {
    const runsDir = mkdtempSync(path.join(os.tmpdir(), 'mtl-compare-groups-'));
    const dir = fakeGroup(runsDir, C, { 0: {}, 1: {} });
    const meta = completedGroupMeta(C, [0, 1]);
    writeGroupMeta(dir, { ...meta, members: meta.members.map((m) => ({ ...m, status: 'diverged' })) });
    expect(usageError(() => compareGroups([C], { runsDir })).message).toBe(
      `Group ${C} has no member with test metrics (members: 2 diverged).`,
    );
  });
});

describe('compare seed groups: what tells them apart, as for runs', () => {
  const D = '20260101-000300-corr-seeds-dddddd';
  const E = '20260101-000400-corr-seeds-eeeeee';
  function described(): string {
    const runsDir = store();
    withConfigs(path.join(runsDir, A), [0, 1]);
    withConfigs(path.join(runsDir, B), [0, 1], { extra: 'strategy: { name: pcgrad }' });
    withConfigs(path.join(runsDir, C), [5]);
    fakeGroup(runsDir, D, { 0: { 'y1/mse': 1.0, 'y2/accuracy': 0.8 }, 1: { 'y1/mse': 2.0, 'y2/accuracy': 0.5 } });
    withConfigs(path.join(runsDir, D), [0, 1], { csv: 'corr.csv' });
    fakeGroup(runsDir, E, { 0: { 'y1/mse': 1.0, 'y2/accuracy': 0.8 }, 1: { 'y1/mse': 2.0, 'y2/accuracy': 0.5 } });
    withConfigs(path.join(runsDir, E), [0, 1], { csv: 'corr.csv' });
    return runsDir;
  }

  it('warns when a group trained on other data (dataset against CSV), in the library and through the CLI', () => {
    const runsDir = described();
    const comparison = compareGroups([A, D], { runsDir });
    const warning =
      `${D} was trained on other data than ${A} (dataset synthetic-correlated → CSV /corr.csv): its metrics are ` +
      "not comparable with the base group's";
    expect(comparison.warnings).toEqual([warning]);
    expect(comparison.groups.map((g) => g.data)).toEqual(['synthetic-correlated', '/corr.csv']);
    // Two groups on the same CSV: nothing to warn about.
    expect(compareGroups([D, E], { runsDir }).warnings).toEqual([]);
    const text = mtl(['compare', A, D, '--runs-dir', runsDir]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr).toBe(`warning: ${warning}\n`);
    const json = mtl(['compare', A, D, '--runs-dir', runsDir, '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as { warnings: string[] }).warnings).toEqual([warning]);
  });

  it('lists where a group config differs from the first group, the seed aside, and what tells them apart', () => {
    const runsDir = described();
    const comparison = compareGroups([A, B, C], { runsDir });
    const [base, pcgrad, otherSeeds] = comparison.groups;
    expect(base).toMatchObject({ architecture: 'hard-sharing', strategy: 'equal', data: 'synthetic-correlated' });
    expect(base?.configChanges).toBeUndefined();
    expect(pcgrad).toMatchObject({ architecture: 'hard-sharing', strategy: 'pcgrad' });
    expect(pcgrad?.configChanges).toContainEqual({ path: 'strategy.name', baseline: 'equal', value: 'pcgrad' });
    // C trained seed 5 where A trained 0 and 1: members differ in their seed by design, so that is no change.
    expect(otherSeeds?.configChanges).toEqual([]);
    expect(comparison.warnings).toEqual([]);
    const text = mtl(['compare', A, B, C, '--runs-dir', runsDir]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^group +architecture +strategy +data +seeds$/m);
    expect(text.stdout).toMatch(new RegExp(`^${B} +hard-sharing +pcgrad +synthetic-correlated +0,1$`, 'm'));
    expect(text.stdout).toContain(`${B} vs ${A} (config.resolved.json of a member, seed aside; base → this group):`);
    expect(text.stdout).toContain('  strategy.name: equal → pcgrad');
    expect(text.stdout).toContain(`${C}: same resolved config as ${A} (seeds aside)`);
    expect(text.stdout).not.toMatch(/^ {2}seed:/m);
    expect(text.stderr).toBe('');
    const json = JSON.parse(mtl(['compare', A, B, '--runs-dir', runsDir, '--json']).stdout) as {
      groups: { strategy?: string; configChanges?: { path: string }[] }[];
    };
    expect(json.groups[1]?.strategy).toBe('pcgrad');
    expect(json.groups[1]?.configChanges?.map((change) => change.path)).toContain('strategy.name');
  });
});
