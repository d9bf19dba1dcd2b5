import path from 'node:path';
import { loadConfig } from '../config/load.js';
import type { BackendChoice, BaselineSetting } from '../config/types.js';
import {
  resumeWithBaselines,
  trainWithBaselines,
  type BaselineTrainOptions,
  type TrainedWithBaselines,
} from '../api/baselines.js';
import type { RunLockOptions } from '../runs/lock.js';
import { evaluateRun } from '../api/evaluate.js';
import { adversaryRows } from './adversary-output.js';
import { validateData } from '../api/validate.js';
import { compareRuns, type ComparedRun } from '../api/compare.js';
import type { BaselineKind } from '../analysis/types.js';
import { compareBaselineCommand, loadTrainConfig } from './baseline-commands.js';
import { DESCRIPTION_HEADER, descriptionCells } from './runs-command.js';
import { formatChange } from '../api/config-diff.js';
import { builtinDatasets } from '../data/builtin/index.js';
import { probeBackends, RELAXED_SIMD_HOW } from '../backend/select.js';
import { relaxedSimdSupported, simdSupported } from '../backend/simd/module.js';
import { ExitCode, UsageError } from '../errors.js';
import { bestCells, formatNumber, formatPercent, log, out, printJson, table } from './output.js';
import { dataReportLines } from './data-report.js';
import { withInterrupts } from './interrupts.js';
import { compareGroupsCommand } from './compare-groups.js';
import { compareSweepCommand, wantsSweepComparison, type CompareSweepFlags } from './compare-sweep.js';
import { checkGateReferences, gateExitCode, parseGateFlags, printGate, type GateFlags } from './compare-gates.js';
import { gateRunComparison } from '../api/compare-gate.js';
import { logRunResult, logSubRunStart, trainOutput, type TrainFlags } from './train-output.js';
import { transferLines } from './transfer-table.js';
import { seedGroupRequest, trainGroupCommand } from './train-group.js';

export interface CommonFlags {
  runsDir?: string;
  json?: boolean;
}

export async function trainCommand(configFile: string | undefined, flags: TrainFlags): Promise<number> {
  const group = seedGroupRequest(configFile, flags);
  if (group) return trainGroupCommand(group, flags);
  const start = trainOrResume(configFile, flags);
  return withInterrupts(async (signal, targets) => {
    const trained = await start({
      ...trainOutput(flags),
      signal,
      onRunCreated: (created) => {
        targets.run = created;
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
      logRunResult(summary);
      if (transfer) for (const line of transferLines(transfer)) log(line);
      if (stopped) log(`baselines: ${stopped.reason}`);
    }
    if (summary.status === 'interrupted' || stopped?.status === 'interrupted') return ExitCode.interrupted;
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
    if (flags.baselines !== undefined)
      throw new UsageError(`mtl train --resume: --baselines cannot change a resumed run's config.`, [
        'a resume continues the run and the baselines its config asks for; for others, start a new run: ' +
          'mtl train CONFIG --baselines …',
      ]);
    const run = flags.resume;
    if (configFile !== undefined)
      throw new UsageError(`mtl train: give a config or --resume ${run}, not both.`, [
        'a resumed run continues with the config it started with',
      ]);
    if ((flags.set ?? []).length > 0)
      throw new UsageError(`mtl train --resume: --set cannot change a resumed run's config (${flags.set?.[0]}).`, [
        'to train with other settings, start a new run: mtl train CONFIG --set …',
      ]);
    return (options) => resumeWithBaselines(run, { ...options, lock: lockMessages() });
  }
  if (configFile === undefined)
    throw new UsageError('mtl train: missing the config file.', [
      'mtl train configs/quickstart.yaml, or mtl train --resume RUN to continue a run',
    ]);
  const loaded = loadTrainConfig(configFile, flags.set ?? [], flags.baselines);
  return (options) => trainWithBaselines(loaded, options);
}

/** Checks the config, then reads and prepares its data as `train` would: every data error train would raise. */
export async function validateCommand(configFile: string, flags: { set?: string[]; json?: boolean }): Promise<number> {
  const loaded = loadConfig(configFile, flags.set ?? []);
  const data = await validateData(loaded);
  if (flags.json) {
    printJson({ valid: true, config: loaded.config, ...(loaded.notes ? { notes: loaded.notes } : {}), data });
  } else {
    out(
      `${configFile}: valid (${loaded.config.tasks.length} tasks: ` +
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
  if (flags.split && !['train', 'val', 'test'].includes(flags.split)) {
    throw new UsageError(`--split "${flags.split}": expected train, val or test.`);
  }
  if (flags.checkpoint && !['best', 'last'].includes(flags.checkpoint)) {
    throw new UsageError(`--checkpoint "${flags.checkpoint}": expected best or last.`);
  }
  const result = await evaluateRun(run, {
    ...(flags.runsDir ? { runsDir: flags.runsDir } : {}),
    ...(flags.split ? { split: flags.split as 'train' | 'val' | 'test' } : {}),
    ...(flags.data && flags.data.length > 0 ? { dataFiles: flags.data } : {}),
    ...(flags.checkpoint ? { checkpoint: flags.checkpoint as 'best' | 'last' } : {}),
    ...(flags.backend ? { backend: flags.backend } : {}),
    lock: lockMessages(),
  });
  if (flags.json) {
    printJson(result);
    return ExitCode.ok;
  }
  log(
    `run ${result.run}, ${result.checkpoint} checkpoint (epoch ${result.epoch}), ${result.data}: ${result.rows} rows`,
  );
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

export async function compareCommand(
  runs: string[],
  flags: CommonFlags & { metric?: string; split?: string; baseline?: string } & GateFlags & CompareSweepFlags,
): Promise<number> {
  if (wantsSweepComparison(flags)) return compareSweepCommand(runs, flags);
  if (runs.length === 0)
    throw new UsageError('mtl compare: missing the runs to compare.', [
      'mtl compare RUN-A RUN-B, or mtl compare --sweep ID for a sweep',
    ]);
  const baseline = flags.baseline === undefined ? undefined : baselineKind(flags.baseline);
  if (flags.split && !['val', 'test'].includes(flags.split))
    throw new UsageError(`--split "${flags.split}": expected val or test.`);
  const gate = parseGateFlags(flags);
  if (gate && baseline !== undefined)
    throw new UsageError('--fail-on-regression and --fail-if compare runs or seed groups, not --baseline.', [
      'drop --baseline, and compare BASE NEW',
    ]);
  if (gate) checkGateReferences(runs, gate);
  if (baseline !== undefined) return compareBaselineCommand(runs, { ...flags, baseline });
  const { split, ...rest } = flags;
  const groups = compareGroupsCommand(runs, { ...rest, ...(split ? { split: split as 'val' | 'test' } : {}) }, gate);
  if (groups !== undefined) return groups;
  const comparison = await compareRuns(runs, {
    ...(flags.runsDir ? { runsDir: flags.runsDir } : {}),
    ...(flags.metric ? { metric: flags.metric } : {}),
    ...(flags.split ? { split: flags.split as 'val' | 'test' } : {}),
  });
  const gateReport = gate ? gateRunComparison(comparison, gate) : undefined;
  if (flags.json) {
    printJson(gateReport ? { ...comparison, gate: gateReport } : comparison);
    return gateReport ? gateExitCode(gateReport) : ExitCode.ok;
  }
  // A run without a summary is compared by its best checkpoint (or not at all): its column says so.
  const source = (r: ComparedRun): string =>
    r.metricsFrom.kind === 'best-checkpoint'
      ? ` (from best checkpoint, epoch ${r.metricsFrom.epoch}; run ${r.metricsFrom.status})`
      : r.metricsFrom.kind === 'none'
        ? ` (no summary, no checkpoint; run ${r.metricsFrom.status})`
        : '';
  const header = ['metric', ...comparison.runs.map((r, i) => `${r.id}${i === 0 ? ' (base)' : ''}${source(r)}`)];
  const rows = comparison.rows.map((row) => [
    `${row.metric} ${row.higherIsBetter ? '↑' : '↓'}`,
    ...row.values.map((v, i) => {
      // A non-finite value (a diverged run's, stored as null) shows as NaN; a metric the run lacks as —.
      const shown = v !== undefined && Number.isNaN(v) ? 'NaN' : formatNumber(v);
      return i === 0 ? shown : `${shown} (${formatPercent(row.relative[i])})`;
    }),
  ]);
  rows.push([
    'Δm',
    ...comparison.runs.map((r, i) => (i === 0 ? '—' : typeof r.deltaM === 'number' ? formatPercent(r.deltaM) : 'n/a')),
  ]);
  // On a terminal, each metric's best run is marked (the Δm row compares against the base: not marked).
  const best = [...comparison.rows.map((row) => [false, ...bestCells(row.values, row.higherIsBetter)]), []];
  out(table(header, rows, { best }));
  for (const run of comparison.runs) {
    if (run.deltaMProblems) out(`Δm n/a for ${run.id}: ${run.deltaMProblems.join('; ')}`);
  }
  // The metric table stays first (what a reader came for); then what tells the runs apart.
  out();
  out(
    table(
      ['run', ...DESCRIPTION_HEADER],
      comparison.runs.map((r, i) => [i === 0 ? `${r.id} (base)` : r.id, ...descriptionCells(r)]),
    ),
  );
  const base = comparison.runs[0];
  for (const run of comparison.runs.slice(1)) {
    if (!run.configChanges) continue;
    out();
    if (run.configChanges.length === 0) out(`${run.id}: same resolved config as ${base?.id}`);
    else {
      out(`${run.id} vs ${base?.id} (config.resolved.json, baseline → this run):`);
      for (const change of run.configChanges) out(`  ${formatChange(change)}`);
    }
  }
  for (const warning of comparison.warnings) log(`warning: ${warning}`);
  return gateReport ? printGate(gateReport) : ExitCode.ok;
}

/** Without --sweep, --baseline names the kind of baselines trained with the run. */
function baselineKind(text: string): BaselineKind {
  if (text === 'single-task' || text === 'towers') return text;
  throw new UsageError(`--baseline "${text}": expected single-task or towers (a run, group or config needs --sweep).`, [
    'mtl compare RUN --baseline single-task, or mtl compare --sweep ID --baseline RUN-OR-CONFIG',
  ]);
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
    // The table keeps to one screen line per dataset: licence id and first sentence; --json has the full texts.
    const firstSentence = (text: string): string => text.split(/(?<=[.:])\s/)[0] ?? text;
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
          firstSentence(d.description),
        ]),
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
    ...(fma ? {} : { fmaWhyNot: `no WebAssembly relaxed SIMD in Node ${process.version} (${RELAXED_SIMD_HOW})` }),
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
