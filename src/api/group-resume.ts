import path from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { UsageError } from '../errors.js';
import { resolveGroup, type GroupMeta } from '../runs/groups.js';
import { crashReason } from '../runs/liveness.js';
import { readMeta } from '../runs/meta.js';
import { resolveRunsDir } from '../runs/store.js';
import { readSummary } from '../runs/summary.js';
import { hasOwnData } from '../data/data-groups.js';
import { fingerprintData, fingerprintGroups } from '../runs/data-source.js';
import { resumeWithBaselines, storedRunConfig, trainWithBaselines } from './baselines.js';
import { dataDifferences, readComparedConfig } from './data-identity.js';
import {
  memberFinished,
  trainMembers,
  withSeed,
  type MemberResumer,
  type MemberStep,
  type MemberTrainer,
  type SeedGroupOptions,
  type SeedGroupResult,
} from './groups.js';
import { trainAgain, type ResumeOptions } from './resume.js';

export interface SeedGroupResumeOptions extends Omit<SeedGroupOptions, 'seeds' | 'baselines'>, ResumeOptions {
  /** Default: the member's run and its baselines, as `mtl train --resume GROUP/seed-N` continues them. */
  resumeMember?: MemberResumer;
  /** Default: a seed not started is trained with its baselines, as `mtl train CONFIG --seeds` trains it. */
  trainMember?: MemberTrainer;
}

/**
 * Continues a seed group that stopped (`mtl train --resume GROUP`), in seed order: a member that had ended (completed
 * or diverged, with its baselines and pair runs) is kept; one that did not (interrupted, crashed, failed, or its
 * baselines unfinished) is continued in its folder as `mtl train --resume GROUP/seed-N` continues it; a seed never
 * started is trained with the config the group's members were trained with (the first member's config.yaml, config
 * file and `--set` flags, the seed set). Each member thus ends with the metrics it would have had had the group been
 * left alone, bit for bit on the same backend. group.json and group-summary.json are then written as trainSeedGroup
 * (api/groups.ts) writes them, and a signal or a failing member ends it as it ends that; a member that refuses to be
 * continued (no checkpoint, its data changed) leaves the group's status as it was. Refused: a completed group, a
 * group still training, a group that stopped before its first member (it has no config to continue with).
 */
export async function resumeSeedGroup(
  reference: string,
  options: SeedGroupResumeOptions = {},
): Promise<SeedGroupResult> {
  const { id, dir, meta } = resolveGroup(reference, resolveRunsDir(options.runsDir));
  refuseUnresumableGroup(id, dir, meta);
  const first = meta.members[0];
  if (first === undefined) {
    throw new UsageError(`Group ${id} has no member to continue: it stopped before its first seed started.`, [
      `train it again: ${trainAgain(meta)} --seeds ${meta.seeds.join(',')}`,
    ]);
  }
  // Read only when a seed is still to be trained: a group whose members all started needs no config of its own.
  let loaded: LoadedConfig | undefined;
  const configOf = (seed: number): LoadedConfig => {
    const firstDir = path.join(dir, first.folder);
    loaded ??= storedRunConfig(firstDir, readMeta(firstDir));
    return withSeed(loaded, seed);
  };
  const steps = meta.seeds.map((seed): MemberStep => {
    const member = meta.members.find((m) => m.seed === seed);
    if (!member) return { seed, train: configOf(seed) };
    const memberDir = path.join(dir, member.folder);
    if (memberFinished(memberDir)) return { seed, keep: readSummary(memberDir, member.id) };
    return { seed, resume: { id: member.id, dir: memberDir } };
  });
  const toTrain = steps.filter((step) => 'train' in step).map((step) => step.seed);
  if (toTrain.length > 0) refuseChangedData(id, path.join(dir, first.folder), first.seed, toTrain);
  const group: GroupMeta = { ...structuredClone(meta), status: 'running' };
  delete group.statusReason;
  delete group.endedAt;
  return trainMembers(
    dir,
    group,
    steps,
    {
      ...options,
      trainMember: options.trainMember ?? (async (config, train) => (await trainWithBaselines(config, train)).summary),
      resumeMember:
        options.resumeMember ??
        (async (member, train) =>
          (await resumeWithBaselines(member, { ...train, ...(options.lock ? { lock: options.lock } : {}) })).summary),
    },
    meta,
  );
}

/**
 * A seed not started trains on the data as it is now, so data edited since the group's first member trained would
 * give a group whose members saw different data (and whose baselines the group's creation checked on other rows:
 * api/baseline-rows.ts). The first member's data-source.json (data-groups.json for tasks with their own data) holds
 * the CSV's sha256 then; the same file is hashed again here, before anything trains. Members that had started are
 * checked when they are resumed (api/resume.ts).
 */
function refuseChangedData(id: string, firstDir: string, firstSeed: number, toTrain: readonly number[]): void {
  const then = readComparedConfig(firstDir, readMeta(firstDir));
  const { resolved, configDir } = then;
  if (!resolved || configDir === undefined) return;
  const source = fingerprintData(resolved, configDir);
  const now = {
    ...then,
    ...(source ? { source } : {}),
    ...(then.groups || hasOwnData(resolved) ? { groups: fingerprintGroups(resolved, configDir) } : {}),
  };
  const differences = dataDifferences(then, now);
  if (differences.length === 0) return;
  const seeds = `seed${toTrain.length > 1 ? 's' : ''} ${toTrain.join(', ')}`;
  throw new UsageError(
    `Group ${id}: its data has changed since seed ${firstSeed} trained, so ${seeds} would train on other data than ` +
      'the members before them; nothing was trained or changed:',
    [
      ...differences.map((line) => line.replace(' between the runs', ` since seed ${firstSeed} trained`)),
      'put the data back as it was to continue the group, or train a new group on the new data: ' +
        'mtl train CONFIG --seeds …',
    ],
  );
}

/** A completed group has nothing to continue; a group whose member is training now is not touched. */
function refuseUnresumableGroup(id: string, dir: string, meta: GroupMeta): void {
  if (meta.status === 'completed') {
    throw new UsageError(`Group ${id} is completed; there is nothing to resume.`, [
      'to train more seeds, start a new group: mtl train CONFIG --seeds …',
    ]);
  }
  const last = meta.members[meta.members.length - 1];
  if (meta.status !== 'running' || last === undefined) return;
  let training: ReturnType<typeof readMeta> | undefined;
  try {
    training = readMeta(path.join(dir, last.folder));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
  }
  if (training?.status === 'running' && crashReason(training) === undefined) {
    const owner = training.process ? `, pid ${training.process.pid} on ${training.process.host}` : '';
    throw new UsageError(
      `Group ${id} is still training (seed ${last.seed}${owner}); it can be resumed once it has stopped.`,
      ['stop it with Ctrl-C (or kill its process); a group whose process is gone shows as crashed in `mtl runs`'],
    );
  }
}
