/**
 * Continuing a seed group whose members train single-task baselines, after an interrupt during a member's baselines:
 * the member resumed by name (`GROUP/seed-N`) trains its missing baselines with its own seed and updates group.json
 * and group-summary.json; `resumeSeedGroup` (`mtl train --resume GROUP`) finishes that member and trains the seeds
 * never started. Either way the group ends with the metrics and transfer reports of a group left alone, bit for bit.
 * What a group cannot be continued from is refused with what to do.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LoadedConfig } from '../src/config/load.js';
import { parseConfigText } from '../src/config/load.js';
import { resumeSeedGroup, resumeWithBaselines, trainSeedGroup, trainWithBaselines } from '../src/index.js';
import { readGroupMeta, writeGroupMeta } from '../src/runs/groups.js';
import { resolveRun } from '../src/runs/store.js';
import { tempDir } from './helpers.js';
import { completedGroupMeta, groupConfig } from './helpers/groups.js';
import { fakeRun } from './helpers/runs.js';

const config = (): LoadedConfig => parseConfigText(groupConfig({ epochs: 3, extra: 'baselines: single-task' }));
const withBaselines = async (...args: Parameters<typeof trainWithBaselines>) =>
  (await trainWithBaselines(...args)).summary;

const json = (file: string): Record<string, unknown> =>
  JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

/** A group of `seeds` stopped by a signal at the first batch of epoch 1 of the baseline `stopIn` (`seed-1/…/y1`). */
async function interruptedGroup(
  runsDir: string,
  seeds: number[],
  stopIn: string,
): Promise<{ id: string; dir: string }> {
  const controller = new AbortController();
  let training = '';
  const result = await trainSeedGroup(config(), {
    runsDir,
    seeds,
    baselines: 'single-task',
    trainMember: withBaselines,
    signal: controller.signal,
    onRunCreated: (run) => {
      training = run.id;
    },
    listeners: [
      {
        onBatch: (info) => {
          if (training.endsWith(stopIn) && info.epoch === 1 && info.batch === 1) controller.abort();
        },
      },
    ],
  });
  expect(result.group.status).toBe('interrupted');
  const baselines = path.join(result.dir, stopIn, '..');
  expect(json(path.join(baselines, 'y1', 'meta.json'))['status']).toBe('interrupted');
  return { id: result.group.id, dir: result.dir };
}

/** What a member ended with: its test metrics and its transfer.json. */
function memberResult(groupDir: string, seed: number): unknown {
  const dir = path.join(groupDir, `seed-${seed}`);
  return { test: json(path.join(dir, 'summary.json'))['test'], transfer: json(path.join(dir, 'transfer.json')) };
}

describe('a seed group interrupted during a member’s baselines', () => {
  let reference = '';
  beforeAll(async () => {
    // The same group, left alone.
    const result = await trainSeedGroup(config(), {
      runsDir: tempDir(),
      seeds: [0, 1, 2],
      baselines: 'single-task',
      trainMember: withBaselines,
    });
    expect(result.group.status).toBe('completed');
    reference = result.dir;
  });

  it('mtl train --resume GROUP/seed-1: its baselines train with seed 1, and the group’s files follow', async () => {
    const runsDir = tempDir();
    const { id, dir } = await interruptedGroup(runsDir, [0, 1], 'seed-1/baselines/y1');
    expect(readGroupMeta(dir).statusReason).toBe('interrupted after 2 of 2 seeds started');
    expect(json(path.join(dir, 'group-summary.json'))['transfer']).toMatchObject({ seeds: [0] });

    await resumeWithBaselines(`${id}/seed-1`, { runsDir });
    // The baseline that had not started (y2), and the one resumed (y1): the member's seed, not the config's.
    for (const task of ['y1', 'y2']) {
      expect(json(path.join(dir, 'seed-1', 'baselines', task, 'meta.json'))['seed']).toBe(1);
      expect(json(path.join(dir, 'seed-1', 'baselines', task, 'config.resolved.json'))['seed']).toBe(1);
    }
    expect(memberResult(dir, 1)).toEqual(memberResult(reference, 1));
    // Every seed has now ended, with its baselines: the group is complete, its summary over both seeds.
    const group = readGroupMeta(dir);
    expect(group.status).toBe('completed');
    expect(group.statusReason).toBeUndefined();
    expect(group.members.map((m) => [m.seed, m.status])).toEqual([
      [0, 'completed'],
      [1, 'completed'],
    ]);
    expect(json(path.join(dir, 'group-summary.json'))['transfer']).toMatchObject({ seeds: [0, 1] });
  });

  it('resumeSeedGroup finishes the member, trains the seed not started, ends as the group left alone', async () => {
    const runsDir = tempDir();
    const { id, dir } = await interruptedGroup(runsDir, [0, 1, 2], 'seed-1/baselines/y1');
    expect(readGroupMeta(dir).statusReason).toBe('interrupted after 2 of 3 seeds started');
    expect(() => resolveRun(`${id}/seed-2`, runsDir)).toThrow(
      `Group ${id} has no run "seed-2": seed 2 has not started.`,
    );

    const result = await resumeSeedGroup(id, { runsDir });
    expect(result.group.status).toBe('completed');
    expect(result.members.map((m) => [m.id, m.status])).toEqual([0, 1, 2].map((s) => [`${id}/seed-${s}`, 'completed']));
    const group = readGroupMeta(dir);
    expect(group.status).toBe('completed');
    expect(group.statusReason).toBeUndefined();
    expect(group.members.map((m) => [m.seed, m.status])).toEqual([
      [0, 'completed'],
      [1, 'completed'],
      [2, 'completed'],
    ]);
    for (const seed of [0, 1, 2]) expect(memberResult(dir, seed)).toEqual(memberResult(reference, seed));
    const summary = json(path.join(dir, 'group-summary.json'));
    const alone = json(path.join(reference, 'group-summary.json'));
    expect(summary['metrics']).toEqual(alone['metrics']);
    expect(summary['transfer']).toEqual(alone['transfer']);
    expect(summary['warnings']).toEqual([]);

    await expect(resumeSeedGroup(id, { runsDir })).rejects.toThrow(
      `Group ${id} is completed; there is nothing to resume.`,
    );
  });
});

describe('a group that cannot be continued', () => {
  it('one stopped before its first member: the command that trains it again', async () => {
    const runsDir = tempDir();
    const id = '20260101-000000-corr-seeds-aaaaaa';
    const meta = completedGroupMeta(id, [0, 1]);
    mkdirSync(path.join(runsDir, id));
    writeGroupMeta(path.join(runsDir, id), {
      ...meta,
      members: [],
      status: 'interrupted',
      configFile: '/data/g.yaml',
      overrides: ['training.lr=0.1'],
    });
    const error = await resumeSeedGroup(id, { runsDir }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      message: `Group ${id} has no member to continue: it stopped before its first seed started.`,
      details: ['train it again: mtl train /data/g.yaml --set training.lr=0.1 --seeds 0,1'],
    });
  });

  it('one whose member is training now', async () => {
    const runsDir = tempDir();
    const id = '20260101-000000-corr-seeds-bbbbbb';
    const dir = path.join(runsDir, id);
    fakeRun(dir, 'seed-0', {
      meta: {
        id: `${id}/seed-0`,
        status: 'running',
        process: { pid: process.pid, host: hostname() },
        heartbeatAt: new Date().toISOString(),
      },
    });
    writeGroupMeta(dir, { ...completedGroupMeta(id, [0]), status: 'running' });
    await expect(resumeSeedGroup(id, { runsDir })).rejects.toThrow(
      `Group ${id} is still training (seed 0, pid ${process.pid} on ${hostname()}); it can be resumed once it has ` +
        'stopped.',
    );
  });
});
