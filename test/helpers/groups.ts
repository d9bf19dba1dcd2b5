/**
 * Seed-group fixtures: a tiny two-task config on synthetic-correlated (trains in a few tens of ms per seed), and
 * transfer.json written for a run folder through the TransferReport type, as a run trained with baselines has it.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TransferReport } from '../../src/analysis/types.js';
import { writeGroupMeta, type GroupMeta } from '../../src/runs/groups.js';
import { fakeRun } from './runs.js';

export function groupConfig(options: { seeds?: string; epochs?: number; extra?: string } = {}): string {
  return [
    'name: corr',
    ...(options.seeds ? [`seeds: ${options.seeds}`] : []),
    'backend: wasm',
    'data:',
    '  dataset: synthetic-correlated',
    '  options: { samples: 200 }',
    'tasks:',
    '  - { name: y1, type: regression }',
    '  - { name: y2, type: regression }',
    'model:',
    '  trunk: [{ type: dense, units: 4, activation: relu }]',
    'training:',
    `  epochs: ${options.epochs ?? 2}`,
    '  batch_size: 64',
    ...(options.extra ? [options.extra] : []),
    '',
  ].join('\n');
}

/**
 * A one-metric-per-task transfer report: per task its MTL and single-task mse (lower is better), the relative gain
 * −(mtl − single)/|single| and Δm the mean of the gains, as mtl computes them.
 */
export function transferReport(mse: Record<string, { mtl: number; single: number }>): TransferReport {
  const tasks = Object.entries(mse).map(([task, { mtl, single }]) => {
    const gain = -(mtl - single) / Math.abs(single);
    return {
      task,
      metrics: [{ key: `${task}/mse`, metric: 'mse', higherIsBetter: false, mtl, single, relativeGain: gain }],
      gain,
    };
  });
  return {
    baseline: 'single-task',
    split: 'test',
    tasks,
    deltaM: tasks.reduce((a, t) => a + t.gain, 0) / tasks.length,
    baselineRuns: Object.fromEntries(tasks.map((t) => [t.task, `baselines/${t.task}`])),
  };
}

export function writeTransferReport(runDir: string, report: TransferReport): void {
  writeFileSync(path.join(runDir, 'transfer.json'), `${JSON.stringify(report, null, 2)}\n`);
}

/**
 * A finished seed group written by hand: group.json and, per seed, a member run (meta.json, summary.json with these
 * test metrics), as trainSeedGroup lays them out. Returns the group's folder.
 */
export function fakeGroup(store: string, id: string, members: Record<number, Record<string, number>>): string {
  const dir = path.join(store, id);
  const seeds = Object.keys(members).map(Number);
  for (const seed of seeds) fakeRun(dir, `seed-${seed}`, { test: members[seed]!, name: 'corr' });
  const meta = completedGroupMeta(id, seeds);
  writeGroupMeta(dir, meta);
  return dir;
}

/** group.json of a completed seed group whose members are `<id>/seed-<n>`, as trainSeedGroup writes it. */
export function completedGroupMeta(id: string, seeds: number[]): GroupMeta {
  return {
    format: 1,
    kind: 'seeds',
    id,
    name: 'corr',
    seeds,
    members: seeds.map((seed) => ({ seed, id: `${id}/seed-${seed}`, folder: `seed-${seed}`, status: 'completed' })),
    status: 'completed',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    command: ['train', 'g.yaml', '--seeds', seeds.join(',')],
    cwd: '/',
    overrides: [],
  };
}
