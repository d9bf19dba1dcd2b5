/**
 * `mtl runs` of a store that is not all as mtl wrote it: a run whose meta.json is damaged is a row of its own (status
 * `damaged`, a note naming the file and what to do) and the other runs are still listed, exit 0; naming that run to a
 * command that reads it stays exit 2. The same for a member of a seed group (`mtl runs GROUP`). A run whose baselines
 * an interrupt stopped says how many completed, and `mtl train` ends by telling the multi-task run's status from the
 * baselines'.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { trainWithBaselines } from '../src/api/baselines.js';
import { listGroupMemberEntries, listRunEntries } from '../src/api/runs.js';
import { writeGroupMeta } from '../src/runs/groups.js';
import { tempDir, writeFile } from './helpers.js';
import { mtl, mtlInProcess } from './helpers/cli.js';
import { trainInterrupted } from './helpers/cli-async.js';
import { completedGroupMeta, fakeGroup } from './helpers/groups.js';
import { fakeRun } from './helpers/runs.js';
import { hurtConfig } from './helpers/transfer-data.js';

const OLDER = '20260101-000000-fake-aaaaaa';
const DAMAGED = '20260102-000000-fake-bbbbbb';
const NEWER = '20260103-000000-fake-cccccc';

/** Three runs written by hand, the middle one's meta.json cut short as a full disk or a bad copy leaves it. */
function storeWithDamagedRun(): string {
  const store = path.join(tempDir(), 'runs');
  fakeRun(store, OLDER, { test: { 'mean/mse': 0.5 } });
  const damaged = fakeRun(store, DAMAGED);
  writeFileSync(path.join(damaged, 'meta.json'), '{ "format": 1, "id": "2026');
  fakeRun(store, NEWER, { test: { 'mean/mse': 0.25 } });
  return store;
}

describe('mtl runs with a damaged meta.json in one run folder', () => {
  it('lists every readable run and the damaged one as such, with a note naming the file; exit 0', () => {
    const store = storeWithDamagedRun();
    const listed = mtl(['runs', '--runs-dir', store]);
    expect(listed.code).toBe(0);
    const rows = listed.stdout.trim().split('\n').slice(2); // below the header and its rule
    expect(rows.map((row) => row.split(/\s+/)[0])).toEqual([OLDER, DAMAGED, NEWER]);
    expect(rows[1]).toMatch(new RegExp(`^${DAMAGED}\\s+\\?\\s+damaged\\s`));
    const file = path.join(store, DAMAGED, 'meta.json');
    expect(listed.stderr).toContain(
      `note: ${DAMAGED} is damaged, listed without its details: ${file} is not valid JSON`,
    );
    expect(listed.stderr).toContain(
      `restore it from a backup, or delete the run and train it again (its folder: ${path.dirname(file)})`,
    );
    expect(listed.stderr).not.toMatch(/\n\s+at /); // no stack frame
  });

  it('--json: an entry with status "damaged", the reason and the hint; the other runs as usual', async () => {
    const store = storeWithDamagedRun();
    const listed = await mtlInProcess(['runs', '--runs-dir', store, '--json']);
    expect(listed.code).toBe(0);
    const entries = JSON.parse(listed.stdout) as { id: string; status: string; statusReason?: string; hint?: string }[];
    expect(entries.map((entry) => [entry.id, entry.status])).toEqual([
      [OLDER, 'completed'],
      [DAMAGED, 'damaged'],
      [NEWER, 'completed'],
    ]);
    expect(entries[1]?.statusReason).toMatch(/meta\.json is not valid JSON/);
    expect(entries[1]?.hint).toMatch(/restore it from a backup/);
    expect(listed.stderr).toContain(`note: ${DAMAGED} is damaged`);
    // The library lists it the same way.
    expect(listRunEntries(store).map((entry) => entry.status)).toEqual(['completed', 'damaged', 'completed']);
  });

  it('naming the damaged run to a command that reads it is still exit 2, naming the file', async () => {
    const store = storeWithDamagedRun();
    const evaluated = await mtlInProcess(['eval', DAMAGED, '--runs-dir', store]);
    expect(evaluated.code).toBe(2);
    expect(evaluated.stderr).toMatch(/meta\.json is not valid JSON/);
    const compared = await mtlInProcess(['compare', OLDER, DAMAGED, '--runs-dir', store]);
    expect(compared.code).toBe(2);
    expect(compared.stderr).toMatch(/meta\.json is not valid JSON/);
  });
});

const GROUP = '20260104-000000-corr-seeds-dddddd';
const MEMBERS = { 0: { 'mean/mse': 0.5 }, 1: { 'mean/mse': 0.4 }, 2: { 'mean/mse': 0.3 } };

/** A finished seed group written by hand whose member of this seed has this meta.json. */
function groupWithDamagedMember(meta: string, seed = 1): { store: string; file: string } {
  const store = path.join(tempDir(), 'runs');
  const dir = fakeGroup(store, GROUP, MEMBERS);
  const file = path.join(dir, `seed-${seed}`, 'meta.json');
  writeFileSync(file, meta);
  return { store, file };
}

interface ListedEntry {
  id: string;
  status: string;
  statusReason?: string;
  hint?: string;
}

describe('mtl runs GROUP with a damaged meta.json in one member', () => {
  it('lists the other members and the damaged one as such, with a note naming the file; exit 0', async () => {
    const { store, file } = groupWithDamagedMember('{ "format": 1, "id": "2026');
    const listed = await mtlInProcess(['runs', GROUP, '--runs-dir', store]);
    expect(listed.code).toBe(0);
    const rows = listed.stdout.trim().split('\n').slice(2); // below the header and its rule
    expect(rows.map((row) => row.split(/\s+/)[0])).toEqual([0, 1, 2].map((seed) => `${GROUP}/seed-${seed}`));
    expect(rows[0]).toMatch(/\scompleted\s/);
    expect(rows[1]).toMatch(new RegExp(`^${GROUP}/seed-1\\s+\\?\\s+damaged\\s`));
    expect(listed.stderr).toContain(`group ${GROUP}: completed; seeds 0, 1, 2`);
    expect(listed.stderr).toContain(
      `note: ${GROUP}/seed-1 is damaged, listed without its details: ${file} is not valid JSON`,
    );
    expect(listed.stderr).toContain(
      `restore it from a backup, or delete the run and train it again (its folder: ${path.dirname(file)})`,
    );
    expect(listed.stderr).not.toMatch(/\n\s+at /); // no stack frame
  });

  it('--json: the member as `mtl runs --json` lists a damaged run (status, statusReason, hint, dir)', async () => {
    const { store, file } = groupWithDamagedMember('{}\n');
    const listed = await mtlInProcess(['runs', GROUP, '--runs-dir', store, '--json']);
    expect(listed.code).toBe(0);
    const json = JSON.parse(listed.stdout) as { group: { id: string; status: string }; runs: ListedEntry[] };
    expect(json.group).toMatchObject({ id: GROUP, status: 'completed' });
    expect(json.runs.map((entry) => [entry.id, entry.status])).toEqual([
      [`${GROUP}/seed-0`, 'completed'],
      [`${GROUP}/seed-1`, 'damaged'],
      [`${GROUP}/seed-2`, 'completed'],
    ]);
    expect(json.runs[1]).toEqual({
      id: `${GROUP}/seed-1`,
      status: 'damaged',
      statusReason: `${file}: id should be a text, but it is nothing.`,
      hint:
        'the file is not as mtl wrote it; restore it from a backup, or delete the run and train it again ' +
        `(its folder: ${path.dirname(file)})`,
      dir: path.dirname(file),
    });
    expect(listed.stderr).toContain(`note: ${GROUP}/seed-1 is damaged`);
    // The library lists it the same way.
    const entries = listGroupMemberEntries(GROUP, store).runs;
    expect(entries.map((entry) => entry.status)).toEqual(['completed', 'damaged', 'completed']);
  });

  it('a running group whose member in training is damaged: mtl runs and mtl runs GROUP list it, exit 0', async () => {
    const { store, file } = groupWithDamagedMember('{ "format": 1, "id": "2026', 2);
    // group.json as trainSeedGroup leaves it while seed 2 trains: mtl runs reads seed 2's meta.json to tell a crash.
    const meta = completedGroupMeta(GROUP, [0, 1, 2]);
    const members = meta.members.map((m) => (m.seed === 2 ? { ...m, status: 'running' as const } : m));
    writeGroupMeta(path.join(store, GROUP), { ...meta, status: 'running', members });
    const listed = await mtlInProcess(['runs', '--runs-dir', store]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${GROUP}\\s+corr\\s+running\\s`, 'm'));
    const json = JSON.parse((await mtlInProcess(['runs', '--runs-dir', store, '--json'])).stdout) as ListedEntry[];
    expect(json).toMatchObject([{ kind: 'group', id: GROUP, status: 'running' }]);
    const group = await mtlInProcess(['runs', GROUP, '--runs-dir', store]);
    expect(group.code).toBe(0);
    expect(group.stderr).toContain(`group ${GROUP}: running;`);
    expect(group.stderr).toContain(`note: ${GROUP}/seed-2 is damaged, listed without its details: ${file} is not`);
  });

  it('naming the damaged member to a command that reads it is still exit 2, naming the file', async () => {
    const { store, file } = groupWithDamagedMember('{ "format": 1, "id": "2026');
    const evaluated = await mtlInProcess(['eval', `${GROUP}/seed-1`, '--runs-dir', store]);
    expect(evaluated.code).toBe(2);
    expect(evaluated.stderr).toContain(`mtl: ${file} is not valid JSON`);
    const compared = await mtlInProcess(['compare', `${GROUP}/seed-0`, `${GROUP}/seed-1`, '--runs-dir', store]);
    expect(compared.code).toBe(2);
    expect(compared.stderr).toContain(`mtl: ${file} is not valid JSON`);
    expect(compared.stderr).not.toMatch(/\n\s+at /);
    // Comparing the group reads its members' summary.json, which is whole: the member's metrics count.
    const group = await mtlInProcess(['compare', GROUP, '--runs-dir', store, '--json']);
    expect(group.code).toBe(0);
  });
});

describe('mtl runs of a run whose baselines an interrupt stopped', () => {
  it('says how many baselines completed and what became of the others; --json per baseline', async () => {
    const dir = tempDir();
    const runsDir = path.join(dir, 'runs');
    const controller = new AbortController();
    // Stopped as Ctrl-C stops it: the first baseline interrupted in its first epoch, the second never started.
    const { summary } = await trainWithBaselines(hurtConfig(dir), {
      runsDir,
      signal: controller.signal,
      onSubRunStart: () => controller.abort(),
    });
    expect(summary.status).toBe('completed');
    const listed = await mtlInProcess(['runs', '--runs-dir', runsDir]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('single-task (0 of 2 completed; 1 interrupted, 1 not started)');
    const json = JSON.parse((await mtlInProcess(['runs', '--runs-dir', runsDir, '--json'])).stdout) as {
      status: string;
      baselines?: { kind: string; runs: { path: string; status: string }[] };
    }[];
    expect(json[0]?.status).toBe('completed');
    expect(json[0]?.baselines).toEqual({
      kind: 'single-task',
      runs: [
        { path: 'baselines/a', status: 'interrupted' },
        { path: 'baselines/b', status: 'not started' },
      ],
    });
  });
});

describe('mtl train interrupted during its baselines', () => {
  it('ends saying the multi-task run completed and the baselines were interrupted; exit 130', async () => {
    const dir = tempDir();
    hurtConfig(dir); // writes hurt.csv
    // Enough epochs that the first baseline is still training when the signal comes.
    const config = writeFile(
      dir,
      'hurt.yaml',
      [
        'name: hurt',
        'backend: wasm',
        'data: { csv: hurt.csv }',
        'tasks:',
        '  - { name: a, type: regression, target: a }',
        '  - { name: b, type: regression, target: b }',
        'model: { trunk: [{ type: dense, units: 1 }] }',
        'training: { epochs: 400, batch_size: 32 }',
        '',
      ].join('\n'),
    );
    const runsDir = path.join(dir, 'runs');
    const result = await trainInterrupted(
      [config, '--baselines', 'single-task', '--runs-dir', runsDir],
      'baseline 1/2',
    );
    expect(result.code).toBe(130);
    const id = result.stdout.trim();
    // The status line, then its test metrics, then what became of the baselines.
    const lines = result.stderr.trim().split('\n');
    expect(lines.at(-3)).toMatch(/^multi-task run: status completed[ ;]/);
    expect(lines.at(-1)).toBe(
      'baselines: interrupted during baselines/a ' +
        `(the multi-task run completed; train the rest with: mtl train --resume ${id})`,
    );
  }, 150_000);
});
