/**
 * Seed groups that are not whole: every seed diverged, an interrupted group with a seed never trained and a member
 * stopped partway, most seeds diverged. `mtl compare` shows them (the group's column blank, Δm n/a with why, every
 * seed in the seeds column), the CI gate fails on them (exit 3) rather than judging a group on the members that are
 * left, the group summary marks each left-out seed with — and a warning, and `mtl runs` lists a group whose every
 * seed diverged as `diverged`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { seedGroupSummary, summarizeSeedGroup } from '../src/api/groups.js';
import { groupDocument } from '../src/api/report-sources.js';
import { printGroupSummary } from '../src/cli/train-group.js';
import { resolveGroup, writeGroupMeta, type GroupStatus } from '../src/runs/groups.js';
import type { RunStatus } from '../src/runs/meta.js';
import { tempDir } from './helpers.js';
import { mtl } from './helpers/cli.js';
import { completedGroupMeta, fakeGroup } from './helpers/groups.js';
import { fakeRun } from './helpers/runs.js';

const BASE = '20260101-000000-corr-seeds-aaaaaa';
const DIVERGED = '20260101-000100-corr-seeds-bbbbbb';
const INTERRUPTED = '20260101-000200-corr-seeds-cccccc';
const BASE4 = '20260101-000300-corr-seeds-dddddd';
const MOSTLY_DIVERGED = '20260101-000400-corr-seeds-eeeeee';

const GOOD = { 'y1/mse': 0.5, 'y2/accuracy': 0.9 };

/** A group written by hand: group.json with this status, and a member per entry (none for a seed left out). */
function group(
  store: string,
  id: string,
  seeds: number[],
  status: GroupStatus,
  members: Record<number, { status: RunStatus; test: Record<string, number> }>,
  statusReason?: string,
): string {
  const dir = path.join(store, id);
  for (const [seed, member] of Object.entries(members))
    fakeRun(dir, `seed-${seed}`, { meta: { status: member.status }, test: member.test, name: 'corr' });
  writeGroupMeta(dir, {
    ...completedGroupMeta(id, seeds),
    status,
    ...(statusReason === undefined ? {} : { statusReason }),
    members: Object.entries(members).map(([seed, member]) => ({
      seed: Number(seed),
      id: `${id}/seed-${seed}`,
      folder: `seed-${seed}`,
      status: member.status,
    })),
  });
  return dir;
}

function store(): string {
  const runsDir = tempDir('mtl-groups-incomplete-');
  fakeGroup(runsDir, BASE, { 0: GOOD, 1: GOOD, 2: GOOD });
  const diverged = { status: 'diverged' as const, test: {} };
  group(runsDir, DIVERGED, [0, 1, 2], 'completed', { 0: diverged, 1: diverged, 2: diverged }, '3 of 3 seeds diverged');
  // Seed 0 ran to its end, seed 1 was interrupted partway (its summary has the metrics so far), seed 2 never started.
  group(
    runsDir,
    INTERRUPTED,
    [0, 1, 2],
    'interrupted',
    { 0: { status: 'completed', test: GOOD }, 1: { status: 'interrupted', test: GOOD } },
    'interrupted after 2 of 3 seeds started',
  );
  fakeGroup(runsDir, BASE4, { 0: GOOD, 1: GOOD, 2: GOOD, 3: GOOD });
  const better = { 'y1/mse': 0.25, 'y2/accuracy': 0.95 };
  group(runsDir, MOSTLY_DIVERGED, [0, 1, 2, 3], 'completed', {
    0: { status: 'completed', test: better },
    1: diverged,
    2: diverged,
    3: diverged,
  });
  return runsDir;
}

const compare = (runsDir: string, ...args: string[]) => mtl(['compare', ...args, '--runs-dir', runsDir]);

interface ComparedJson {
  groups: { id: string; seeds: number[]; seedsWithMetrics: number[]; seedsWithoutMetrics: number[] }[];
  rows: { metric: string; stats: { mean: number | null; n: number }[] }[];
  deltaM: { deltaM: { mean: number | null; n: number }; problems?: string[] }[];
  warnings: string[];
  gate?: { passed: boolean; checks: { metric: string; passed: boolean; reason: string }[] };
}

describe('a NEW group none of whose seeds has metrics (every seed diverged)', () => {
  const seedLine = (seed: number): string => `seed ${seed} (${DIVERGED}/seed-${seed}, diverged) has no test metrics`;

  it('fails the gate: exit 3, each check failed on every seed, not a usage error', () => {
    const gated = compare(store(), BASE, DIVERGED, '--fail-on-regression');
    expect(gated.code).toBe(3);
    expect(gated.stdout).toContain('gate: FAILED (0 of 2 checks passed)');
    expect(gated.stdout).toContain(
      `regression y1/mse ↓ in ${DIVERGED}: ${DIVERGED}'s y1/mse is not finite (seed 0, 1, 2)`,
    );
    expect(gated.stderr).toContain('mtl: gate failed: 2 checks (exit 3)');
    const threshold = compare(store(), BASE, DIVERGED, '--fail-if', 'y2/accuracy < 0.5');
    expect(threshold.code).toBe(3);
    expect(threshold.stdout).toContain(`${DIVERGED}'s y2/accuracy is missing or not finite`);
  });

  it('with --json prints the comparison and the failed gate', () => {
    const result = compare(store(), BASE, DIVERGED, '--fail-on-regression', '--json');
    expect(result.code).toBe(3);
    const json = JSON.parse(result.stdout) as ComparedJson;
    expect(json.gate?.passed).toBe(false);
    expect(json.gate?.checks.map((c) => [c.metric, c.passed])).toEqual([
      ['y1/mse', false],
      ['y2/accuracy', false],
    ]);
    expect(json.groups[1]).toMatchObject({ seeds: [0, 1, 2], seedsWithMetrics: [], seedsWithoutMetrics: [0, 1, 2] });
    expect(json.deltaM[0]).toEqual({
      group: DIVERGED,
      deltaM: { mean: null, std: null, n: 0 },
      problems: [0, 1, 2].map(seedLine),
    });
  });

  it('without a gate: the table with its column blank, Δm n/a and why, exit 0 (as for a run without metrics)', () => {
    const result = compare(store(), BASE, DIVERGED);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^metric +${BASE} \\(base\\) n=3 +${DIVERGED} n=0 of 3$`, 'm'));
    expect(result.stdout).toMatch(/^y1\/mse ↓ +0\.5000 ± 0\.0000 +— \(—\)$/m);
    expect(result.stdout).toMatch(/^Δm +— +n\/a$/m);
    expect(result.stdout).toContain(`Δm of ${DIVERGED}: ${seedLine(1)}`);
    expect(result.stdout).toMatch(new RegExp(`^${DIVERGED} .* 0,1,2 \\(0 with test metrics\\)$`, 'm'));
    expect(result.stderr).toBe([0, 1, 2].map((seed) => `warning: ${seedLine(seed)}: it is left out\n`).join(''));
  });

  it('is still refused when no compared group has any metrics: nothing to compare', () => {
    const result = compare(store(), DIVERGED, INTERRUPTED, '--split', 'val');
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe(
      `mtl: None of these groups has a member with val metrics (${DIVERGED}: 3 diverged; ${INTERRUPTED}: ` +
        '1 completed, 1 interrupted, 1 never trained).',
    );
    expect(result.stdout).toBe('');
  });
});

describe('an interrupted NEW group: a member stopped partway, a seed never trained', () => {
  it('fails the gate on those seeds, and warns that the group is interrupted', () => {
    const result = compare(store(), BASE, INTERRUPTED, '--fail-on-regression');
    expect(result.code).toBe(3);
    expect(result.stdout).toContain(
      `regression y2/accuracy ↑ in ${INTERRUPTED}: ${INTERRUPTED}'s y2/accuracy is not finite (seed 1, 2)`,
    );
    expect(result.stderr.split('\n')).toEqual([
      `warning: ${INTERRUPTED} is interrupted (interrupted after 2 of 3 seeds started): test metrics to compare ` +
        'for 1 of its 3 seeds',
      `warning: seed 1 (${INTERRUPTED}/seed-1, interrupted) did not finish its training (its test metrics are ` +
        'those of a partly trained run): it is left out',
      `warning: seed 2 of ${INTERRUPTED} was never trained (the group is interrupted): it is left out`,
      'mtl: gate failed: 2 checks (exit 3)',
      '',
    ]);
    const json = JSON.parse(
      compare(store(), BASE, INTERRUPTED, '--fail-on-regression', '--json').stdout,
    ) as ComparedJson;
    expect(json.groups[1]).toMatchObject({ seeds: [0, 1, 2], seedsWithMetrics: [0], seedsWithoutMetrics: [1, 2] });
    expect(json.gate?.passed).toBe(false);
  });
});

describe('a group with most seeds diverged', () => {
  it('has no Δm from the seed that is left, and shows all its seeds with how many have metrics', () => {
    const result = compare(store(), BASE4, MOSTLY_DIVERGED);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Δm +— +n\/a$/m);
    for (const seed of [1, 2, 3])
      expect(result.stdout).toContain(
        `Δm of ${MOSTLY_DIVERGED}: seed ${seed} (${MOSTLY_DIVERGED}/seed-${seed}, diverged) has no test metrics`,
      );
    expect(result.stdout).toContain(`${MOSTLY_DIVERGED} n=1 of 4`);
    expect(result.stdout).toMatch(new RegExp(`^${MOSTLY_DIVERGED} .* 0,1,2,3 \\(1 with test metrics\\)$`, 'm'));
    const json = JSON.parse(compare(store(), BASE4, MOSTLY_DIVERGED, '--json').stdout) as ComparedJson;
    expect(json.deltaM[0]?.deltaM).toEqual({ mean: null, std: null, n: 0 });
    expect(json.groups[1]?.seeds).toEqual([0, 1, 2, 3]);
  });
});

describe('mtl runs: a group whose every seed diverged', () => {
  it('is listed as diverged, in the table and in --json', () => {
    const runsDir = store();
    const listed = mtl(['runs', '--runs-dir', runsDir]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${DIVERGED} +corr +diverged .* 0,1,2 +3/3 \\(0 completed\\)$`, 'm'));
    expect(listed.stdout).toMatch(new RegExp(`^${MOSTLY_DIVERGED} +corr +completed `, 'm'));
    const json = JSON.parse(mtl(['runs', '--runs-dir', runsDir, '--json']).stdout) as { id: string; status: string }[];
    expect(json.find((g) => g.id === DIVERGED)).toMatchObject({
      status: 'diverged',
      statusReason: '3 of 3 seeds diverged',
    });
    const members = mtl(['runs', DIVERGED, '--runs-dir', runsDir]);
    expect(members.code).toBe(0);
    expect(members.stderr).toContain(`group ${DIVERGED}: diverged (3 of 3 seeds diverged); seeds 0, 1, 2;`);
  });
});

describe('the group summary of an interrupted group', () => {
  it('marks the member stopped partway and the seed never trained with —, and names them', () => {
    const dir = path.join(store(), INTERRUPTED);
    summarizeSeedGroup(dir);
    const stored = JSON.parse(readFileSync(path.join(dir, 'group-summary.json'), 'utf8')) as {
      seeds: number[];
      metrics: { key: string; n: number; perSeed: (number | null)[] }[];
      warnings: string[];
    };
    expect(stored.seeds).toEqual([0, 1, 2]);
    expect(stored.metrics.find((m) => m.key === 'y1/mse')).toMatchObject({ n: 1, perSeed: [0.5, null, null] });
    expect(stored.warnings).toEqual([
      `seed 1 (${INTERRUPTED}/seed-1, interrupted) did not finish its training (its test metrics are those of a ` +
        'partly trained run): it is left out of the statistics',
      `seed 2 of ${INTERRUPTED} was never trained (the group is interrupted): it is left out of the statistics`,
    ]);
    const written: string[] = [];
    const logged: string[] = [];
    const spies = [
      vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
        written.push(String(chunk));
        return true;
      }),
      vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
        logged.push(String(chunk));
        return true;
      }),
    ];
    try {
      printGroupSummary(summarizeSeedGroup(dir));
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    expect(logged.join('')).toBe(stored.warnings.map((warning) => `warning: ${warning}\n`).join(''));
    const lines = written.join('').split('\n');
    expect(lines[0]).toMatch(/^metric +test mean ± std +n +per seed \(0, 1, 2\)$/);
    expect(lines).toContainEqual(expect.stringMatching(/^y1\/mse ↓ +0\.5000 +1 +0\.5000 — —$/));
  });
});

describe('the report of such groups', () => {
  it('lists the seed never trained among the members, and a group whose every seed diverged as diverged', () => {
    const runsDir = store();
    const document = (id: string) => {
      const found = resolveGroup(id, runsDir);
      return groupDocument(found, seedGroupSummary(found.dir));
    };
    const members = document(INTERRUPTED)
      .sections.flatMap((section) => section.tables ?? [])
      .find((table) => table.caption === 'Members');
    expect(members?.rows).toEqual([
      ['0', `${INTERRUPTED}/seed-0`, 'completed'],
      ['1', `${INTERRUPTED}/seed-1`, 'interrupted'],
      ['2', '—', 'never trained'],
    ]);
    expect(document(DIVERGED).subtitle).toBe('corr · diverged · seeds 0, 1, 2');
  });
});
