import path from 'node:path';
import { loadConfig } from '../config/load.js';
import type { BackendChoice } from '../config/types.js';
import { trainExperiment } from '../api/train.js';
import { evaluateRun } from '../api/evaluate.js';
import { compareRuns } from '../api/compare.js';
import { listRuns } from '../api/runs.js';
import { formatChange } from '../api/config-diff.js';
import { strategyLabel, type RunDescription } from '../api/run-description.js';
import { builtinDatasets } from '../data/builtin/index.js';
import { probeBackends } from '../backend/select.js';
import { ExitCode, UsageError } from '../errors.js';
import { formatNumber, formatPercent, log, out, printJson, table } from './output.js';
import { progressListener } from './progress.js';

export interface CommonFlags {
  runsDir?: string;
  json?: boolean;
}

function isCi(): boolean {
  const ci = process.env['CI'];
  return ci !== undefined && ci !== '' && ci !== '0' && ci !== 'false';
}

export async function trainCommand(
  configFile: string,
  flags: CommonFlags & { set?: string[]; backend?: BackendChoice; quiet?: boolean },
): Promise<number> {
  const loaded = loadConfig(configFile, flags.set ?? []);
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts === 1) {
      log('Interrupted: finishing the current batch and saving a checkpoint (Ctrl-C again to stop at once).');
      controller.abort();
    } else {
      process.exit(ExitCode.interrupted);
    }
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  try {
    const interactive = Boolean(process.stderr.isTTY) && !flags.quiet && !isCi();
    const summary = await trainExperiment(loaded, {
      ...(flags.runsDir ? { runsDir: flags.runsDir } : {}),
      ...(flags.backend ? { backend: flags.backend } : {}),
      listeners: [progressListener({ interactive })],
      signal: controller.signal,
      onRunCreated: ({ id, dir }) => log(`run ${id} (${path.relative(process.cwd(), dir) || dir})`),
      onModelBuilt: ({ architecture, parameterCount, backend, strategy }) => {
        const count = (n: number): string => n.toLocaleString('en-US');
        const perTask = Object.entries(parameterCount.perTask)
          .map(([t, n]) => `${t} ${count(n)}`)
          .join(', ');
        log(
          `${architecture} on ${backend}: ${count(parameterCount.total)} trainable parameters ` +
            `(shared ${count(parameterCount.shared)}; ${perTask})`,
        );
        const target = strategy.gradTarget === undefined ? '' : ` on ${strategy.gradTarget} gradients`;
        log(`strategy ${strategy.name}${target}`);
        for (const note of strategy.notes ?? []) log(`note: ${note}`);
      },
    });
    if (flags.json) printJson(summary);
    else {
      out(summary.id);
      log(
        `status ${summary.status}${summary.statusReason ? ` (${summary.statusReason})` : ''}; backend ` +
          `${summary.backend}; ${summary.epochs} epochs, best ${summary.bestEpoch}; ${summary.seconds}s`,
      );
      const keys = Object.keys(summary.test).filter((k) => !k.endsWith('/loss'));
      log(keys.map((k) => `test ${k}=${formatNumber(summary.test[k])}`).join('  '));
    }
    if (summary.status === 'interrupted') return ExitCode.interrupted;
    if (summary.status === 'diverged') return ExitCode.runFailed;
    return ExitCode.ok;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}

export function validateCommand(configFile: string, flags: { set?: string[]; json?: boolean }): number {
  const loaded = loadConfig(configFile, flags.set ?? []);
  if (flags.json) printJson({ valid: true, config: loaded.config, ...(loaded.notes ? { notes: loaded.notes } : {}) });
  else {
    out(
      `${configFile}: valid (${loaded.config.tasks.length} tasks: ` +
        `${loaded.config.tasks.map((t) => t.name).join(', ')})`,
    );
    for (const note of loaded.notes ?? []) log(`note: ${note}`);
  }
  return ExitCode.ok;
}

export async function evalCommand(
  run: string,
  flags: CommonFlags & { split?: string; data?: string; checkpoint?: string; backend?: BackendChoice },
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
    ...(flags.data ? { dataFile: flags.data } : {}),
    ...(flags.checkpoint ? { checkpoint: flags.checkpoint as 'best' | 'last' } : {}),
    ...(flags.backend ? { backend: flags.backend } : {}),
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
      Object.entries(result.metrics).map(([k, v]) => [k, formatNumber(v), result.directions[k] ? 'higher' : 'lower']),
    ),
  );
  log(`saved ${path.relative(process.cwd(), result.file)}`);
  return ExitCode.ok;
}

export function compareCommand(runs: string[], flags: CommonFlags & { metric?: string; split?: string }): number {
  if (flags.split && !['val', 'test'].includes(flags.split))
    throw new UsageError(`--split "${flags.split}": expected val or test.`);
  const comparison = compareRuns(runs, {
    ...(flags.runsDir ? { runsDir: flags.runsDir } : {}),
    ...(flags.metric ? { metric: flags.metric } : {}),
    ...(flags.split ? { split: flags.split as 'val' | 'test' } : {}),
  });
  if (flags.json) {
    printJson(comparison);
    return ExitCode.ok;
  }
  const header = ['metric', ...comparison.runs.map((r, i) => (i === 0 ? `${r.id} (base)` : r.id))];
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
  out(table(header, rows));
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
  return ExitCode.ok;
}

const DESCRIPTION_HEADER = ['architecture', 'strategy', 'data', 'seed'];

function descriptionCells(run: RunDescription): string[] {
  return [run.architecture ?? '?', strategyLabel(run), run.data ?? '?', String(run.seed)];
}

export function runsCommand(flags: CommonFlags): number {
  const runs = listRuns(flags.runsDir);
  if (flags.json) {
    printJson(runs);
    return ExitCode.ok;
  }
  if (runs.length === 0) {
    log('no runs yet; start one with: mtl train configs/quickstart.yaml');
    return ExitCode.ok;
  }
  out(
    table(
      ['id', 'name', 'status', 'started', 'backend', ...DESCRIPTION_HEADER, 'epochs', 'metrics'],
      runs.map((r) => [
        r.id,
        r.name,
        r.status,
        r.startedAt.replace('T', ' ').slice(0, 19),
        r.backend,
        ...descriptionCells(r),
        String(r.epochs),
        Object.entries(r.metrics)
          .filter(([k]) => !k.endsWith('/loss'))
          .map(([k, v]) => `${k}=${formatNumber(v, 3)}`)
          .join(' '),
      ]),
    ),
  );
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
  const report = { node: process.version, platform: `${process.platform}-${process.arch}`, backends: attempts };
  if (flags.json) printJson(report);
  else {
    out(`node ${report.node} on ${report.platform}`);
    out(
      table(
        ['backend', 'available', 'why not'],
        attempts.map((a) => [a.backend, a.ok ? 'yes' : 'no', a.reason ?? '']),
      ),
    );
  }
  return ExitCode.ok;
}
