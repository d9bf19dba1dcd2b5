import path from 'node:path';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import type { DataReport } from '../data/report.js';
import type { BackendChoice, BaselineSetting } from '../config/types.js';
import {
  resumeWithBaselines,
  trainWithBaselines,
  type BaselineTrainOptions,
  type TrainedWithBaselines,
} from '../api/baselines.js';
import type { RunLockOptions } from '../runs/lock.js';
import { checkCheckpointName, checkSplit, evaluateRun } from '../api/evaluate.js';
import { adversaryRows } from './adversary-output.js';
import { validateData } from '../api/validate.js';
import { loadTrainConfig } from './baseline-commands.js';
import { builtinDatasets } from '../data/builtin/index.js';
import { probeBackends, relaxedSimdHow } from '../backend/select.js';
import { relaxedSimdSupported, simdSupported } from '../backend/simd/module.js';
import { ExitCode, MtlError, UsageError } from '../errors.js';
import { formatNumber, log, out, printJson, table } from './output.js';
import { dataReportLines } from './data-report.js';
import { withInterrupts } from './interrupts.js';
import { logRunResult, logSubRunStart, logSubRunsStopped, trainOutput, type TrainFlags } from './train-output.js';
import { transferLines } from './transfer-table.js';
import { resumeGroupCommand, seedGroupRequest, trainGroupCommand } from './train-group.js';
import { isGroupReference } from '../api/compare-groups.js';
import { groupMemberId } from '../runs/groups.js';

export interface CommonFlags {
  runsDir?: string;
  json?: boolean;
}

export async function trainCommand(configFile: string | undefined, flags: TrainFlags): Promise<number> {
  const group = seedGroupRequest(configFile, flags);
  if (group) return trainGroupCommand(group, flags);
  const resumed = flags.resume === undefined ? undefined : checkedResume(configFile, flags.resume, flags);
  // `--resume GROUP` continues a whole seed group; `GROUP/seed-N`, a run like any other, goes on below.
  if (resumed !== undefined && isGroupReference(resumed, flags.runsDir)) {
    return resumeGroupCommand(resumed, flags, lockMessages());
  }
  const start = trainOrResume(configFile, flags);
  return withInterrupts(async (signal, targets) => {
    // The run this command trains; its baselines' runs follow, and a resume of it resumes them too.
    let main: { id: string; dir: string } | undefined;
    const trained = await start({
      ...trainOutput(flags),
      signal,
      onRunCreated: (created) => {
        main ??= created;
        const run = main;
        targets.run = {
          id: run.id,
          recordInterrupted: created.recordInterrupted,
          finishing: created.finishing,
          ended: created.ended,
        };
        // Stopped at once, train still says on stdout which run it was (as JSON with --json), as it does at its end.
        targets.stdout = () =>
          flags.json
            ? printJson({ id: run.id, dir: run.dir, status: 'interrupted', stoppedAtOnce: true })
            : out(run.id);
        log(`run ${created.id} (${path.relative(process.cwd(), created.dir) || created.dir})`);
      },
      onSubRunStart: logSubRunStart,
    });
    const { summary, transfer, stopped } = trained;
    if (flags.json) {
      printJson({
        ...summary,
        ...(transfer ? { transfer } : {}),
        ...(trained.subRuns.length > 0
          ? { subRuns: trained.subRuns.map(({ id, dir, status }) => ({ id, dir, status })) }
          : {}),
        ...(stopped ? { stopped } : {}),
      });
    } else {
      out(summary.id);
    }
    // On stderr with --json too: a CI log that keeps stderr says why a run diverged or its baselines stopped.
    logRunResult(summary, stopped);
    // A seed group's member (`--resume GROUP/seed-N`): its group has the other seeds, so no hint to train more.
    const inSeedGroup = groupMemberId(summary.dir) !== undefined;
    if (transfer && !flags.json) for (const line of transferLines(transfer, { inSeedGroup })) log(line);
    if (stopped) logSubRunsStopped(summary, stopped);
    // A signal during the final evaluation let the run complete; the command still says it was interrupted.
    if (summary.status === 'interrupted' || stopped?.status === 'interrupted' || signal.aborted) {
      return ExitCode.interrupted;
    }
    if (summary.status === 'diverged') return ExitCode.runFailed;
    return ExitCode.ok;
  });
}

/**
 * `mtl train CONFIG` (with the baselines its config or `--baselines` asks for) or `mtl train --resume RUN` (the config
 * is the run's own: no CONFIG, no --set, no --baselines; a resume continues the run, then its baselines).
 */
function trainOrResume(
  configFile: string | undefined,
  flags: { set?: string[]; resume?: string; baselines?: BaselineSetting },
): (options: BaselineTrainOptions) => Promise<TrainedWithBaselines> {
  if (flags.resume !== undefined) {
    const run = checkedResume(configFile, flags.resume, flags);
    return (options) => resumeWithBaselines(run, { ...options, lock: lockMessages() });
  }
  if (configFile === undefined)
    throw new UsageError('mtl train: missing the config file.', [
      'mtl train configs/quickstart.yaml, or mtl train --resume RUN to continue a run',
    ]);
  const loaded = loadTrainConfig(configFile, flags.set ?? [], flags.baselines);
  return (options) => trainWithBaselines(loaded, options);
}

/** `--resume RUN` (or GROUP) without what a resume cannot take: a config, --set, --baselines. */
function checkedResume(
  configFile: string | undefined,
  run: string,
  flags: { set?: string[]; baselines?: BaselineSetting },
): string {
  if (flags.baselines !== undefined)
    throw new UsageError(`mtl train --resume: --baselines cannot change a resumed run's config.`, [
      'a resume continues the run and the baselines its config asks for; for others, start a new run: ' +
        'mtl train CONFIG --baselines …',
    ]);
  if (configFile !== undefined)
    throw new UsageError(`mtl train: give a config or --resume ${run}, not both.`, [
      'a resumed run continues with the config it started with',
    ]);
  if ((flags.set ?? []).length > 0)
    throw new UsageError(`mtl train --resume: --set cannot change a resumed run's config (${flags.set?.[0]}).`, [
      'to train with other settings, start a new run: mtl train CONFIG --set …',
    ]);
  return run;
}

/** Checks the config, then reads and prepares its data as `train` would: every data error train would raise. */
export async function validateCommand(configFile: string, flags: CommonFlags & { set?: string[] }): Promise<number> {
  let loaded: LoadedConfig;
  let data: DataReport;
  try {
    loaded = loadConfig(configFile, flags.set ?? []);
    data = await validateData(loaded, flags.runsDir ? { runsDir: flags.runsDir } : {});
  } catch (error) {
    // A CI step that asked for JSON reads its verdict from stdout either way; the message still goes to stderr.
    if (flags.json && error instanceof MtlError && error.exitCode === ExitCode.usage) {
      printJson({ valid: false, error: error.message, problems: error.details });
    }
    throw error;
  }
  if (flags.json) {
    printJson({ valid: true, config: loaded.config, ...(loaded.notes ? { notes: loaded.notes } : {}), data });
  } else {
    out(
      `${configFile}: valid (${loaded.config.tasks.length} task${loaded.config.tasks.length === 1 ? '' : 's'}: ` +
        `${loaded.config.tasks.map((t) => t.name).join(', ')})`,
    );
    for (const line of dataReportLines(data)) out(line);
    for (const note of loaded.notes ?? []) log(`note: ${note}`);
  }
  for (const warning of data.warnings) log(`warning: ${warning}`);
  return ExitCode.ok;
}

export async function evalCommand(
  run: string,
  flags: CommonFlags & { split?: string; data?: string[]; checkpoint?: string; backend?: BackendChoice },
): Promise<number> {
  const split = flags.split ? checkSplit(flags.split, '--split') : undefined;
  const checkpoint = flags.checkpoint ? checkCheckpointName(flags.checkpoint, '--checkpoint') : undefined;
  if (flags.split !== undefined && flags.data !== undefined && flags.data.length > 0) {
    throw new UsageError("--split picks rows of the run's own data; with --data every row of the file is evaluated.", [
      'leave out one of --split and --data',
    ]);
  }
  const result = await evaluateRun(run, {
    ...(flags.runsDir ? { runsDir: flags.runsDir } : {}),
    ...(split ? { split } : {}),
    ...(flags.data && flags.data.length > 0 ? { dataFiles: flags.data } : {}),
    ...(checkpoint ? { checkpoint } : {}),
    ...(flags.backend ? { backend: flags.backend } : {}),
    lock: lockMessages(),
  });
  for (const warning of result.warnings ?? []) log(`warning: ${warning}`);
  if (flags.json) {
    printJson(result);
    return ExitCode.ok;
  }
  log(
    `run ${result.run}, ${result.checkpoint} checkpoint (epoch ${result.epoch}), ${result.data}: ${result.rows} ` +
      `row${result.rows === 1 ? '' : 's'}`,
  );
  for (const note of result.notes ?? []) log(`note: ${note}`);
  out(
    table(
      ['metric', 'value', 'better'],
      [
        ...Object.entries(result.metrics).map(([k, v]) => [
          k,
          formatNumber(v),
          result.directions[k] ? 'higher' : 'lower',
        ]),
        ...adversaryRows(result.adversaries),
      ],
    ),
  );
  log(`saved ${path.relative(process.cwd(), result.file)}`);
  return ExitCode.ok;
}

export async function datasetsCommand(flags: { json?: boolean }): Promise<number> {
  const list = [];
  for (const d of builtinDatasets.values()) {
    // Sizes with default options, read from the table itself (loading all of them takes well under a second).
    const table = await d.load({}, 0);
    const targets = new Set([...d.tasks.flatMap((t) => t.targets), ...(d.splitColumn ? [d.splitColumn] : [])]);
    list.push({
      name: d.name,
      description: d.description,
      rows: table.rowCount,
      features: table.columns.filter((c) => !targets.has(c.name)).length,
      tasks: d.tasks.map((t) => ({ name: t.name, type: t.type, targets: t.targets })),
      licence: d.licence,
      citation: d.citation,
      ...(d.folder ? { folder: `datasets/${d.folder}` } : {}),
    });
  }
  if (flags.json) printJson(list);
  else {
    // The table keeps to one screen line per dataset: licence id and the description's start (a sentence ends at
    // "et al." too, and a colon leaves it hanging); --json has the full texts.
    const opening = (text: string): string => (text.length > 72 ? `${text.slice(0, 71).trimEnd()}…` : text);
    const licenceId = (text: string): string => text.split(' (')[0] ?? text;
    out(
      table(
        ['name', 'rows', 'features', 'tasks', 'licence', 'description'],
        list.map((d) => [
          d.name,
          String(d.rows),
          String(d.features),
          d.tasks.map((t) => `${t.name}:${t.type}`).join(' '),
          licenceId(d.licence),
          opening(d.description),
        ]),
        { textColumns: [3, 4, 5] },
      ),
    );
  }
  return ExitCode.ok;
}

export async function doctorCommand(flags: { json?: boolean }): Promise<number> {
  const attempts = await probeBackends();
  // What the wasm backend's matrix kernels can use here: `backend.fma: auto` picks fused multiply-add where it can.
  const fma = relaxedSimdSupported();
  const kernels = {
    simd: simdSupported(),
    fma,
    ...(fma ? {} : { fmaWhyNot: `no WebAssembly relaxed SIMD in Node ${process.version} (${relaxedSimdHow()})` }),
  };
  const report = {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    backends: attempts,
    kernels,
  };
  if (flags.json) printJson(report);
  else {
    out(`node ${report.node} on ${report.platform}`);
    out(
      table(
        ['backend', 'available', 'why not'],
        attempts.map((a) => [a.backend, a.ok ? 'yes' : 'no', a.reason ?? '']),
      ),
    );
    out(
      `wasm matrix kernels: SIMD ${kernels.simd ? 'yes' : 'no'}; ` +
        `fused multiply-add (backend.fma) ${fma ? 'yes' : 'no'}`,
    );
    if (kernels.fmaWhyNot) out(`  fused multiply-add: ${kernels.fmaWhyNot}`);
  }
  return ExitCode.ok;
}

/** What a command that changes an existing run says while it waits for the run's lock, or takes over a dead one's. */
export function lockMessages(): Pick<RunLockOptions, 'onWait' | 'onStaleLock'> {
  return {
    onWait: (holder, timeoutMs) =>
      log(
        `waiting for ${holder ? `${holder.command} (pid ${holder.pid} on ${holder.host})` : 'another command'}, ` +
          `which is changing this run (up to ${Math.round(timeoutMs / 1000)} s; MTL_LOCK_TIMEOUT sets it)`,
      ),
    onStaleLock: (holder) =>
      log(`note: took over the run's lock${holder ? ` left by ${holder.command} (pid ${holder.pid}, gone)` : ''}`),
  };
}
