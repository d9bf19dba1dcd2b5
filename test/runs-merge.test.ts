/**
 * `mtl runs merge DIR…`: runs, seed groups and sweeps (trial by trial, by the id in sweep.json) gathered into one
 * store; a run DEST already holds with the same bytes is skipped; the same id with other content, and a run still
 * running or locked, refuse the whole merge (exit 2, both paths named, DEST untouched); bad folders exit 2 with what
 * was expected.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mergeRuns } from '../src/api/merge.js';
import { readSweepMeta, writeSweepMeta, type SweepMeta } from '../src/runs/sweeps.js';
import { tempDir } from './helpers.js';
import { mtl, mtlInProcess } from './helpers/cli.js';
import { copyFolder } from './helpers/emit.js';
import { completedGroupMeta, fakeGroup } from './helpers/groups.js';
import { snapshotRun } from './helpers/run-snapshot.js';
import { fakeRun } from './helpers/runs.js';
import { writeGroupMeta } from '../src/runs/groups.js';

const SWEEP = 'lr-0123abcd';
const HASHES = ['aaaaaaaaaaaa', 'bbbbbbbbbbbb', 'cccccccccccc'];

/** A sweep folder as a shard leaves it: sweep.json planning all three trials, and the finished trials `done`. */
function fakeSweep(store: string, done: string[], folder = SWEEP, hashes = HASHES): string {
  const dir = path.join(store, folder);
  const meta: SweepMeta = {
    format: 1,
    kind: 'sweep',
    id: SWEEP,
    name: 'lr',
    sweepFile: '/repo/lr.yaml',
    baseFile: '/repo/base.yaml',
    search: 'grid',
    monitor: { metric: 'mean/loss', higherIsBetter: false },
    createdAt: `2026-01-0${done.length + 1}T00:00:00.000Z`,
    updatedAt: '2026-01-09T00:00:00.000Z',
    trials: hashes.map((hash, index) => ({
      index,
      hash,
      id: `${SWEEP}/${hash}`,
      overrides: [`training.lr=${index}`],
      seed: 0,
      status: done.includes(hash) ? 'completed' : 'pending',
    })),
  };
  writeSweepMeta(dir, meta);
  for (const hash of done) fakeRun(dir, hash, { meta: { id: `${SWEEP}/${hash}` }, test: { 'y1/mse': 0.5 } });
  return dir;
}

function storeSnapshot(store: string): Record<string, string> {
  return existsSync(store) ? snapshotRun(store) : {};
}

describe('mtl runs merge', () => {
  it('copies runs, groups and a sweep split over shards; identical runs are skipped', () => {
    const machineA = tempDir();
    const machineB = tempDir();
    const dest = tempDir();
    fakeRun(machineA, 'run-a', { test: { 'y1/mse': 0.25 } });
    fakeGroup(machineA, 'group-g', { 0: { 'y1/mse': 1 }, 1: { 'y1/mse': 2 } });
    // The artifacts of two shards, in folders named after the artifact, not the sweep.
    const shard1 = fakeSweep(machineA, [HASHES[0]!], 'shard-1');
    const shard2 = fakeSweep(machineB, [HASHES[2]!], 'shard-2');
    // DEST already has run-a, byte for byte, plus an eval made there.
    copyFolder(path.join(machineA, 'run-a'), path.join(dest, 'run-a'));
    mkdirSync(path.join(dest, 'run-a', 'evals'));
    writeFileSync(path.join(dest, 'run-a', 'evals', 'test.json'), '{}');
    const report = mergeRuns([machineA, shard2], { runsDir: dest });
    expect(report.merged).toBe(true);
    expect(report.copied.map((e) => [e.kind, e.id]).sort()).toEqual([
      ['group', 'group-g'],
      ['trial', `${SWEEP}/${HASHES[0]}`],
      ['trial', `${SWEEP}/${HASHES[2]}`],
    ]);
    expect(report.identical.map((e) => e.id)).toEqual(['run-a']);
    expect(report.problems).toEqual([]);
    expect(readdirSync(dest).sort()).toEqual(['group-g', SWEEP, 'run-a']);
    expect(existsSync(path.join(dest, 'group-g', 'seed-1', 'meta.json'))).toBe(true);
    expect(readFileSync(path.join(dest, SWEEP, HASHES[2]!, 'meta.json'), 'utf8')).toBe(
      readFileSync(path.join(shard2, HASHES[2]!, 'meta.json'), 'utf8'),
    );
    // sweep.json: the plan, the earliest createdAt, statuses read from the trials now in DEST.
    const sweep = readSweepMeta(path.join(dest, SWEEP));
    expect(sweep.trials.map((t) => t.status)).toEqual(['completed', 'pending', 'completed']);
    expect(sweep.createdAt).toBe('2026-01-02T00:00:00.000Z');
    expect(report.sweeps).toEqual([
      { id: SWEEP, dir: path.join(dest, SWEEP), trials: 3, counts: { completed: 2, pending: 1 } },
    ]);
    // Merging the same folders again copies nothing, and the same folder twice in one call is one copy.
    const again = mergeRuns([machineA, shard1, shard2], { runsDir: dest });
    expect([again.copied.length, again.identical.length, again.problems.length]).toEqual([0, 5, 0]);
    expect(readdirSync(dest).filter((e) => e.startsWith('.'))).toEqual([]);
  });

  it('refuses a run with the same id and other content: both paths named, nothing copied, DEST untouched', () => {
    const source = tempDir();
    const dest = tempDir();
    fakeRun(source, 'run-a', { test: { 'y1/mse': 0.25 } });
    fakeRun(source, 'run-b', { test: { 'y1/mse': 0.5 } });
    fakeRun(dest, 'run-a', { test: { 'y1/mse': 0.3 } });
    const before = storeSnapshot(dest);
    const result = mtl(['runs', 'merge', source, '--runs-dir', dest]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`refused, nothing copied into`);
    expect(result.stderr).toContain(
      `conflict: ${path.join(source, 'run-a')} and ${path.join(dest, 'run-a')} are both run-a but differ: ` +
        'summary.json differs',
    );
    // What to do about it: only the person knows which copy is right.
    expect(result.stderr).toContain('a conflict is one id with two contents: keep the one you want');
    expect(storeSnapshot(dest)).toEqual(before);
    expect(existsSync(path.join(dest, 'run-b'))).toBe(false);
  });

  it('refuses two folders that hold one id with other content, and sweep plans that differ', () => {
    const a = tempDir();
    const b = tempDir();
    const dest = tempDir();
    fakeRun(a, 'run-a', { test: { 'y1/mse': 0.25 } });
    fakeRun(b, 'run-a', { test: { 'y1/mse': 0.75 } });
    fakeSweep(a, [HASHES[0]!]);
    fakeSweep(b, [], SWEEP, ['aaaaaaaaaaaa', 'dddddddddddd']);
    const report = mergeRuns([a, b], { runsDir: dest });
    expect(report.merged).toBe(false);
    expect(report.problems.map((p) => [p.problem, p.id, p.source, p.other])).toEqual([
      ['conflict', SWEEP, path.join(b, SWEEP), path.join(a, SWEEP)],
      ['conflict', 'run-a', path.join(b, 'run-a'), path.join(a, 'run-a')],
    ]);
    expect(report.problems[0]?.reason).toContain('both plan sweep lr-0123abcd but with other trials');
    expect(readdirSync(dest)).toEqual([]);
  });

  it('refuses unfinished runs (running, locked, a trial lock, a running group) unless --skip-unfinished', async () => {
    const source = tempDir();
    const dest = tempDir();
    fakeRun(dest, 'earlier', { test: { 'y1/mse': 1 } });
    fakeRun(source, 'done', { test: { 'y1/mse': 0.25 } });
    fakeRun(source, 'training', { meta: { status: 'running' } });
    const locked = fakeRun(source, 'evaluating', { test: { 'y1/mse': 0.5 } });
    writeFileSync(path.join(locked, 'run.lock'), '{}');
    const sweep = fakeSweep(source, [HASHES[0]!, HASHES[1]!]);
    mkdirSync(path.join(sweep, 'locks', HASHES[1]!), { recursive: true });
    writeFileSync(path.join(sweep, 'locks', HASHES[1]!, 'run.lock'), '{}');
    const group = fakeGroup(source, 'group-g', { 0: { 'y1/mse': 1 } });
    writeGroupMeta(group, { ...completedGroupMeta('group-g', [0]), status: 'running' });
    const before = storeSnapshot(dest);
    const earlier = snapshotRun(path.join(dest, 'earlier'));
    const refused = await mtlInProcess(['runs', 'merge', source, '--runs-dir', dest]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('0 conflicting, 4 unfinished');
    expect(refused.stderr).toContain(`${path.join(source, 'training')}: meta.json says running`);
    expect(refused.stderr).toContain(`${locked}: a command holds run.lock`);
    expect(refused.stderr).toContain(`${path.join(sweep, HASHES[1]!)}: a sweep process holds its trial lock`);
    expect(refused.stderr).toContain(`${group}: the group is still running`);
    expect(refused.stderr).toContain('--skip-unfinished leaves unfinished runs out');
    expect(storeSnapshot(dest)).toEqual(before);
    const skipping = await mtlInProcess(['runs', 'merge', source, '--runs-dir', dest, '--skip-unfinished', '--json']);
    expect(skipping.code, skipping.stderr).toBe(0);
    const report = JSON.parse(skipping.stdout) as { copied: { id: string }[]; leftOut: { id: string }[] };
    expect(report.copied.map((e) => e.id).sort()).toEqual(['done', `${SWEEP}/${HASHES[0]}`]);
    expect(report.leftOut.map((e) => e.id).sort()).toEqual([
      'evaluating',
      'group-g',
      `${SWEEP}/${HASHES[1]}`,
      'training',
    ]);
    expect(readSweepMeta(path.join(dest, SWEEP)).trials.map((t) => t.status)).toEqual([
      'completed',
      'pending',
      'pending',
    ]);
    expect(snapshotRun(path.join(dest, 'earlier'))).toEqual(earlier);
  });

  it('bad folders exit 2 with what was expected; DEST untouched', async () => {
    const dest = tempDir();
    fakeRun(dest, 'earlier', { test: { 'y1/mse': 1 } });
    const sources = tempDir();
    const file = path.join(sources, 'notes.txt');
    writeFileSync(file, 'x');
    const empty = path.join(sources, 'empty');
    mkdirSync(empty);
    const sweep = fakeSweep(sources, [HASHES[0]!]);
    const before = storeSnapshot(dest);
    const cases: [string[], string][] = [
      [[path.join(sources, 'missing')], `mtl runs merge: ${path.join(sources, 'missing')}: no such folder.`],
      [[file], `${file} is not a run, a seed group, a sweep or a run store: it is a file.`],
      [[empty], 'it has no meta.json, group.json or sweep.json, nor folders that do.'],
      [[path.join(sweep, HASHES[0]!)], `is the run ${SWEEP}/${HASHES[0]}, inside a sweep, a seed group or another run`],
      [[], 'mtl runs merge: name the folders to merge.'],
    ];
    for (const [dirs, message] of cases) {
      const result = await mtlInProcess(['runs', 'merge', ...dirs, '--runs-dir', dest]);
      expect([result.code, result.stdout], message).toEqual([2, '']);
      expect(result.stderr).toContain(message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
    // A good folder beside a bad one: still nothing copied.
    const mixed = await mtlInProcess(['runs', 'merge', sweep, empty, '--runs-dir', dest]);
    expect(mixed.code).toBe(2);
    expect(storeSnapshot(dest)).toEqual(before);
    const listing = await mtlInProcess(['runs', 'group-x', 'other', '--runs-dir', dest]);
    expect(listing.code).toBe(2);
    expect(listing.stderr).toContain('mtl runs: one group at a time');
    const stray = await mtlInProcess(['runs', '--skip-unfinished', '--runs-dir', dest]);
    expect([stray.code, stray.stdout]).toEqual([2, '']);
    expect(stray.stderr).toContain('mtl runs: --skip-unfinished goes with mtl runs merge DIR….');
  });
});
