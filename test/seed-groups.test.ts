/**
 * Seed groups through the library (api/groups.ts): the layout on disk, group.json, the members as complete runs that
 * resolve as `<group>/seed-<n>`, the summary's statistics against the members' own metrics, and what ends a group
 * early (a signal, a failing member) or does not (a diverged member).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listGroupMembers, listGroups, resumeExperiment, trainExperiment, trainSeedGroup } from '../src/index.js';
import type { GroupHandle } from '../src/api/groups.js';
import { parseConfigText } from '../src/config/load.js';
import { UsageError } from '../src/errors.js';
import { readGroupMeta } from '../src/runs/groups.js';
import { resolveRun } from '../src/runs/store.js';
import { readSummary } from '../src/runs/summary.js';
import { groupConfig, transferReport, writeTransferReport } from './helpers/groups.js';
import { FINISHED_RUN_FILES } from './helpers/runs.js';

const store = (): string => mkdtempSync(path.join(os.tmpdir(), 'mtl-groups-'));

describe('a seed group on disk', () => {
  it('holds group.json, group-summary.json and one complete run per seed, each with its seed', async () => {
    const runsDir = store();
    const loaded = parseConfigText(groupConfig({ seeds: '[0, 2]' }));
    const result = await trainSeedGroup(loaded, { runsDir, command: ['train', 'g.yaml'] });
    const id = result.group.id;
    expect(id).toMatch(/^\d{8}-\d{6}-corr-seeds-[0-9a-f]{6}$/);
    expect(readdirSync(runsDir)).toEqual([id]);
    expect(readdirSync(result.dir).sort()).toEqual(['group-summary.json', 'group.json', 'seed-0', 'seed-2']);
    const meta = readGroupMeta(result.dir);
    expect(meta).toMatchObject({ id, name: 'corr', seeds: [0, 2], status: 'completed', command: ['train', 'g.yaml'] });
    expect(meta.members).toEqual([
      { seed: 0, id: `${id}/seed-0`, folder: 'seed-0', status: 'completed' },
      { seed: 2, id: `${id}/seed-2`, folder: 'seed-2', status: 'completed' },
    ]);
    for (const seed of [0, 2]) {
      const dir = path.join(result.dir, `seed-${seed}`);
      expect(readdirSync(dir).sort()).toEqual(FINISHED_RUN_FILES);
      const resolved = JSON.parse(readFileSync(path.join(dir, 'config.resolved.json'), 'utf8')) as Record<
        string,
        unknown
      >;
      expect(resolved['seed']).toBe(seed);
      expect(resolved['seeds']).toBeUndefined();
      expect(JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8'))).toMatchObject({ id: `${id}/seed-${seed}` });
    }
  });

  it('trains each member exactly as a single run with that seed', async () => {
    const runsDir = store();
    const group = await trainSeedGroup(parseConfigText(groupConfig()), { runsDir, seeds: [3] });
    const single = await trainExperiment(parseConfigText(`${groupConfig()}seed: 3\n`), { runsDir: store() });
    expect(group.members[0]?.test).toEqual(single.test);
  });

  it('summarises each metric as the mean and sample std of the members', async () => {
    const runsDir = store();
    const result = await trainSeedGroup(parseConfigText(groupConfig()), { runsDir, seeds: [0, 1, 2] });
    const values = [0, 1, 2].map((seed) => readSummary(path.join(result.dir, `seed-${seed}`), '').test['y1/mse']!);
    const mean = (values[0]! + values[1]! + values[2]!) / 3;
    const std = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / 2);
    const stored = JSON.parse(readFileSync(path.join(result.dir, 'group-summary.json'), 'utf8')) as {
      metrics: { key: string; mean: number; std: number; n: number; perSeed: number[] }[];
    };
    const y1 = stored.metrics.find((m) => m.key === 'y1/mse');
    expect(y1?.perSeed).toEqual(values);
    expect(y1?.mean).toBeCloseTo(mean, 12);
    expect(y1?.std).toBeCloseTo(std, 12);
    expect(y1?.n).toBe(3);
    expect(result.summary.transfer).toBeUndefined();
  });
});

describe('seeds × baselines: a member trainer that also trains baselines', () => {
  it('records only the member itself, and summarises the transfer.json each member writes', async () => {
    const runsDir = store();
    const result = await trainSeedGroup(parseConfigText(groupConfig()), {
      runsDir,
      seeds: [0, 1],
      baselines: 'single-task',
      // Stands in for "MTL + baselines": the MTL run, a sub-run reported through onRunCreated, its transfer.json.
      trainMember: async (loaded, options) => {
        const summary = await trainExperiment(loaded, options);
        const sub = path.join(summary.dir, 'baselines', 'y1');
        options.onRunCreated?.({
          id: `${summary.id}/baselines/y1`,
          dir: sub,
          recordInterrupted: async () => undefined,
          finishing: () => false,
          ended: () => false,
        });
        const mse = summary.test['y1/mse']!;
        writeTransferReport(summary.dir, transferReport({ y1: { mtl: mse, single: mse * 1.1 } }));
        return summary;
      },
    });
    expect(result.group.baselines).toBe('single-task');
    expect(result.group.members.map((m) => m.folder)).toEqual(['seed-0', 'seed-1']);
    // MTL 10 % below a single-task mse of 1.1·mse on every seed: gain 1/11 on each, no spread.
    expect(result.summary.transfer?.tasks[0]?.gain.mean).toBeCloseTo(1 / 11, 12);
    expect(result.summary.transfer?.tasks[0]?.verdict).toBe('positive');
  });
});

describe('naming groups and members', () => {
  it('resolves <group>/seed-<n> and <prefix>/seed-<n>; a group where a run is needed is refused', async () => {
    const runsDir = store();
    const { group, dir } = await trainSeedGroup(parseConfigText(groupConfig()), { runsDir, seeds: [0, 1] });
    expect(resolveRun(`${group.id}/seed-1`, runsDir)).toEqual({
      id: `${group.id}/seed-1`,
      dir: path.join(dir, 'seed-1'),
    });
    expect(resolveRun(`${group.id.slice(0, 10)}/seed-0`, runsDir).dir).toBe(path.join(dir, 'seed-0'));
    expect(() => resolveRun(`${group.id}/seed-5`, runsDir)).toThrow(`Group ${group.id} has no run "seed-5".`);
    expect(() => resolveRun(group.id, runsDir)).toThrow(`${group.id} is a seed group, not a run`);
    // A store that holds only groups is not empty: the error says where its runs are.
    expect(() => resolveRun('nope', runsDir)).toThrow(
      `No run "nope" in ${runsDir} (it holds 1 seed group and 0 sweeps, whose runs are named GROUP/seed-N and ` +
        'SWEEP/HASH). Name a run by id',
    );
    expect(() => resolveRun('nope', store())).toThrow('(the store is empty)');
    expect(listGroups(runsDir)).toMatchObject([{ kind: 'group', id: group.id, status: 'completed', members: 2 }]);
    expect(listGroupMembers(group.id.slice(0, 12), runsDir).runs.map((r) => [r.id, r.seed])).toEqual([
      [`${group.id}/seed-0`, 0],
      [`${group.id}/seed-1`, 1],
    ]);
  });
});

describe('what ends a group', () => {
  it('a signal: the member in training ends interrupted, no later seed starts, the group is interrupted', async () => {
    const runsDir = store();
    const controller = new AbortController();
    const result = await trainSeedGroup(parseConfigText(groupConfig({ epochs: 50 })), {
      runsDir,
      seeds: [0, 1, 2],
      signal: controller.signal,
      listeners: [{ onEpochEnd: (record) => (record.epoch === 2 ? controller.abort() : undefined) }],
    });
    expect(result.group.status).toBe('interrupted');
    expect(result.group.members.map((m) => [m.seed, m.status])).toEqual([[0, 'interrupted']]);
    expect(readdirSync(result.dir).sort()).toEqual(['group-summary.json', 'group.json', 'seed-0']);
    expect(readGroupMeta(result.dir).statusReason).toBe('interrupted after 1 of 3 seeds started');
    // Seed 0 stopped partway and seeds 1, 2 never started: none is a result, each shows as — (null).
    expect(result.summary.metrics.find((m) => m.key === 'y1/mse')).toMatchObject({ n: 0, perSeed: [null, null, null] });
    // Resuming the member by its group name: group.json and group-summary.json follow it; the group stays
    // interrupted (seeds 1 and 2 never started).
    await resumeExperiment(`${result.group.id}/seed-0`, { runsDir });
    const after = readGroupMeta(result.dir);
    expect(after.status).toBe('interrupted');
    expect(after.members).toEqual([expect.objectContaining({ seed: 0, status: 'completed' })]);
    const summary = JSON.parse(readFileSync(path.join(result.dir, 'group-summary.json'), 'utf8')) as {
      members: { status: string }[];
    };
    expect(summary.members[0]?.status).toBe('completed');
  });

  // The command keeps the group's handle until it exits: a second Ctrl-C while it prints the group's summary recorded
  // the completed group as interrupted.
  it('a group that has its final status is left as it is by a later interrupt', async () => {
    const runsDir = store();
    let handle: GroupHandle | undefined;
    const result = await trainSeedGroup(parseConfigText(groupConfig()), {
      runsDir,
      seeds: [0],
      onGroupCreated: (group) => {
        handle = group;
      },
    });
    expect(result.group.status).toBe('completed');
    const before = readFileSync(path.join(result.dir, 'group.json'), 'utf8');
    handle!.recordInterrupted('stopped at once by a SIGINT');
    expect(readFileSync(path.join(result.dir, 'group.json'), 'utf8')).toBe(before);
  });

  it('a diverged member is a result: the group goes on and lists it', async () => {
    const runsDir = store();
    const diverging = parseConfigText(`${groupConfig()}  lr: 1.0e+12\n`);
    const result = await trainSeedGroup(parseConfigText(groupConfig()), {
      runsDir,
      seeds: [0, 1, 2],
      trainMember: (loaded, options) =>
        trainExperiment(
          loaded.config.seed === 1 ? { ...diverging, config: { ...diverging.config, seed: 1 } } : loaded,
          options,
        ),
    });
    expect(result.group.status).toBe('completed');
    expect(result.group.statusReason).toBe('1 of 3 seeds diverged');
    expect(result.group.members.map((m) => m.status)).toEqual(['completed', 'diverged', 'completed']);
    const mse = result.summary.metrics.find((m) => m.key === 'y1/mse');
    expect(mse?.n).toBe(2);
    expect(mse?.perSeed[1]).toBeNull();
    expect(result.summary.warnings[0]).toMatch(/^seed 1 \(.*\/seed-1, diverged\) has no test metrics/);
  });

  it('a member that fails stops the group as failed; the members done stay', async () => {
    const runsDir = store();
    const error = await trainSeedGroup(parseConfigText(groupConfig()), {
      runsDir,
      seeds: [0, 1, 2],
      trainMember: (loaded, options) => {
        if (loaded.config.seed === 1) {
          options.onRunCreated?.({
            ...options.claimRunDir!(),
            recordInterrupted: async () => undefined,
            finishing: () => false,
            ended: () => false,
          });
          throw new Error('disk on fire');
        }
        return trainExperiment(loaded, options);
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as { exitCode?: number }).exitCode).toBe(1);
    const [id] = readdirSync(runsDir);
    const meta = readGroupMeta(path.join(runsDir, id!));
    expect(meta.status).toBe('failed');
    expect(meta.statusReason).toBe('seed 1 failed: disk on fire');
    expect(meta.members.map((m) => m.seed)).toEqual([0, 1]);
    expect(existsSync(path.join(runsDir, id!, 'seed-0', 'summary.json'))).toBe(true);
  });

  it('a first member that cannot start (its data is refused) leaves no group folder behind', async () => {
    const runsDir = store();
    const error = await trainSeedGroup(parseConfigText(groupConfig()), {
      runsDir,
      seeds: [0, 1],
      trainMember: async () => {
        throw new UsageError('data.csv: line 3: column "y1" is empty');
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect(readdirSync(runsDir)).toEqual([]);
  });
});
