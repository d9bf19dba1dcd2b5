import path from 'node:path';
import type { GroupSummary, GroupTransferSummary, SeedSeries } from '../analysis/group-summary.js';
import { trainSeedGroup, type MemberTrainer, type SeedGroupOptions, type SeedGroupResult } from '../api/groups.js';
import { resumeSeedGroup } from '../api/group-resume.js';
import type { ResumeOptions } from '../api/resume.js';
import type { LoadedConfig } from '../config/load.js';
import { resumeWithBaselines, trainWithBaselines, type TrainedWithBaselines } from '../api/baselines.js';
import { checkSubRunHeads } from '../api/baseline-configs.js';
import { checkBaselineRowsOfSeeds } from '../api/baseline-rows.js';
import type { RunSummary } from '../runs/summary.js';
import { loadTrainConfig } from './baseline-commands.js';
import { transferLines } from './transfer-table.js';
import { ExitCode, UsageError } from '../errors.js';
import { withInterrupts } from './interrupts.js';
import { formatNumber, formatSeries, log, out, printJson, table } from './output.js';
import { logRunResult, logSubRunStart, logSubRunsStopped, trainOutput, type TrainFlags } from './train-output.js';

/** A `mtl train` that trains a seed group: the loaded config and the seeds. */
export interface SeedGroupRequest {
  loaded: LoadedConfig;
  seeds: number[];
}

/**
 * `--seeds 0,1,2` as a list: whole numbers ≥ 0, each once, at least one. A bad list is a usage error that quotes it.
 */
export function parseSeedsFlag(text: string): number[] {
  const fail = (why: string): UsageError =>
    new UsageError(`--seeds "${text}": ${why}.`, ['give whole numbers ≥ 0 separated by commas, e.g. --seeds 0,1,2']);
  const parts = text.split(',').map((part) => part.trim());
  if (parts.every((part) => part === '')) throw fail('no seeds');
  const seeds = parts.map((part) => {
    if (!/^\d+$/.test(part)) throw fail(part === '' ? 'an empty entry' : `"${part}" is not a whole number ≥ 0`);
    const seed = Number(part);
    if (!Number.isSafeInteger(seed)) throw fail(`${part} is too large`);
    return seed;
  });
  const twice = seeds.find((seed, i) => seeds.indexOf(seed) !== i);
  if (twice !== undefined) throw fail(`seed ${twice} is listed twice; list each seed once`);
  return seeds;
}

/**
 * A group when `--seeds` is given or the config lists `seeds:` (the flag wins over the config's `seed`/`seeds`, as
 * `--set` does); undefined for a single run.
 */
export function seedGroupRequest(configFile: string | undefined, flags: TrainFlags): SeedGroupRequest | undefined {
  if (flags.seeds === undefined) {
    if (configFile === undefined || flags.resume !== undefined) return undefined;
    const loaded = loadTrainConfig(configFile, flags.set ?? [], flags.baselines);
    return loaded.config.seeds ? { loaded, seeds: [...loaded.config.seeds] } : undefined;
  }
  if (flags.resume !== undefined)
    throw new UsageError(`mtl train: --seeds trains new runs; it cannot be used with --resume ${flags.resume}.`, [
      'resume one member of a group: mtl train --resume GROUP/seed-N',
    ]);
  const seeds = parseSeedsFlag(flags.seeds);
  if (configFile === undefined) throw new UsageError('mtl train --seeds: missing the config file.');
  return { loaded: loadTrainConfig(configFile, flags.set ?? [], flags.baselines), seeds };
}

/** `mtl train CONFIG --seeds …`: trains the group, prints its id (stdout) and its summary. */
export async function trainGroupCommand(request: SeedGroupRequest, flags: TrainFlags): Promise<number> {
  const { baselines } = request.loaded.config;
  return groupCommand(flags, async (options) => {
    // Before the group exists: each seed draws its own split, and a later seed's baselines would fail after the
    // earlier seeds have trained.
    await checkBaselineRowsOfSeeds(request.loaded, request.seeds);
    checkSubRunHeads(request.loaded, flags.runsDir);
    return trainSeedGroup(request.loaded, {
      ...options,
      seeds: request.seeds,
      ...(baselines && baselines !== 'none' ? { baselines } : {}),
    });
  });
}

/**
 * `mtl train --resume GROUP`: continues the group's unfinished members and trains the seeds not started, then prints
 * what `--seeds` prints, with its exit codes.
 */
export async function resumeGroupCommand(
  reference: string,
  flags: TrainFlags,
  lock: ResumeOptions['lock'],
): Promise<number> {
  return groupCommand(flags, (options) =>
    resumeSeedGroup(reference, {
      ...options,
      resumeMember: async (member, resume) =>
        reportMember(await resumeWithBaselines(member, { ...resume, onSubRunStart: logSubRunStart, lock })),
    }),
  );
}

/**
 * Trains (or continues) a group with the output of `mtl train`: each member's run lines, status and transfer table
 * (stderr), then the group's id (stdout), its summary and its status.
 */
async function groupCommand(
  flags: TrainFlags,
  train: (options: SeedGroupOptions & { trainMember: MemberTrainer }) => Promise<SeedGroupResult>,
): Promise<number> {
  return withInterrupts(async (signal, targets) => {
    const result = await train({
      ...trainOutput(flags),
      signal,
      // Each member is a run with the baselines its config asks for (inside the member's folder).
      trainMember: async (loaded, options) =>
        reportMember(await trainWithBaselines(loaded, { ...options, onSubRunStart: logSubRunStart })),
      onGroupCreated: (group) => {
        targets.group = group;
        // Stopped at once, the command still says on stdout which group it was, as it does at its end.
        targets.stdout = () =>
          flags.json
            ? printJson({ group: { id: group.id, dir: group.dir, status: 'interrupted', stoppedAtOnce: true } })
            : out(group.id);
        log(`group ${group.id} (${path.relative(process.cwd(), group.dir) || group.dir}): seeds ${group.seeds}`);
      },
      onMemberStart: ({ seed, index, count, resumed }) =>
        log(`seed ${seed} (${index + 1} of ${count})${resumed ? `: resuming ${resumed}` : ''}`),
      onMemberKept: ({ seed, index, count, summary }) =>
        log(`seed ${seed} (${index + 1} of ${count}): ${summary.status} already (${summary.id})`),
      onRunCreated: (run) => {
        targets.run = run;
        log(`run ${run.id}`);
      },
    });
    if (flags.json) printJson({ group: result.group, summary: result.summary });
    else {
      out(result.group.id);
      printGroupSummary(result.summary);
    }
    // On stderr with --json too, like a run's status line.
    const { status, statusReason, id } = result.group;
    log(
      `group status ${status}${statusReason ? ` (${statusReason})` : ''}` +
        (status === 'interrupted' ? `; resume it with: mtl train --resume ${id}` : ''),
    );
    if (status === 'interrupted') return ExitCode.interrupted;
    // A diverged seed is a result (the group went on), but the command says not everything trained.
    if (result.members.some((m) => m.status === 'diverged')) return ExitCode.runFailed;
    return ExitCode.ok;
  });
}

/** A member's status line and transfer table (stderr), and what stopped its baselines, with how to train the rest. */
function reportMember(trained: TrainedWithBaselines): RunSummary {
  logRunResult(trained.summary, trained.stopped);
  if (trained.transfer) for (const line of transferLines(trained.transfer, { inSeedGroup: true })) log(line);
  if (trained.stopped) logSubRunsStopped(trained.summary, trained.stopped);
  return trained.summary;
}

/** The group summary as tables (stdout): metrics over seeds; then, with baselines, transfer per task. */
export function printGroupSummary(summary: GroupSummary): void {
  const perSeed = (s: SeedSeries): string => s.perSeed.map((v) => formatNumber(v ?? undefined)).join(' ');
  out(
    table(
      ['metric', `${summary.split} mean ± std`, 'n', `per seed (${summary.seeds.join(', ')})`],
      summary.metrics
        .filter((m) => !m.key.endsWith('/loss'))
        .map((m) => [`${m.key} ${m.higherIsBetter ? '↑' : '↓'}`, formatSeries(m), String(m.n), perSeed(m)]),
    ),
  );
  if (summary.transfer) printTransfer(summary.transfer);
  for (const warning of summary.warnings) log(`warning: ${warning}`);
}

function printTransfer(transfer: GroupTransferSummary): void {
  out();
  out(`MTL vs ${transfer.baseline} baseline (${transfer.split} split, seeds ${transfer.seeds.join(', ')}):`);
  const rows = transfer.tasks.flatMap((task) => [
    ...task.metrics.map((m) => [
      `${m.key} ${m.higherIsBetter ? '↑' : '↓'}`,
      formatSeries(m.mtl),
      formatSeries(m.single),
      formatSeries(m.relativeGain, true),
      '',
      '',
    ]),
    [
      `${task.task} gain`,
      '',
      '',
      formatSeries(task.gain, true),
      task.pairedTest ? `t=${formatNumber(task.pairedTest.t, 2)} p=${formatNumber(task.pairedTest.p, 3)}` : '—',
      task.verdict ?? '—',
    ],
  ]);
  out(table(['task / metric', 'MTL', 'single-task', 'relative gain', 'paired t-test', 'verdict'], rows));
  const test = transfer.deltaMTest;
  out(
    `Δm (MTL vs ${transfer.baseline}): ${formatSeries(transfer.deltaM, true)}` +
      (test ? ` (paired t-test: t=${formatNumber(test.t, 2)}, df=${test.df}, p=${formatNumber(test.p, 3)})` : ''),
  );
  out(`rule: ${transfer.rule}`);
}
