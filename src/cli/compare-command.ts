import { compareRuns, type ComparedRun } from '../api/compare.js';
import { gateRunComparison } from '../api/compare-gate.js';
import type { BaselineKind } from '../analysis/types.js';
import { ExitCode, UsageError } from '../errors.js';
import type { CommonFlags } from './commands.js';
import { checkGateReferences, gateExitCode, parseGateFlags, printGate, type GateFlags } from './compare-gates.js';
import { compareGroupsCommand } from './compare-groups.js';
import type { CompareSweepFlags } from './compare-sweep.js';
import { bestCells, formatNumber, formatPercent, log, out, printJson, table } from './output.js';
import { DESCRIPTION_HEADER, descriptionCells } from './runs-command.js';
import { printConfigChanges } from './config-changes.js';

/** `mtl compare`: runs, seed groups, a sweep (--sweep) or a run against its baselines (--baseline); gates. */
export async function compareCommand(
  runs: string[],
  flags: CommonFlags & { metric?: string; split?: string; baseline?: string } & GateFlags & CompareSweepFlags,
): Promise<number> {
  // The sweep form's module is loaded for it alone: a baseline config given to --baseline is read through
  // config/load.ts, which loads the registries and TF.js.
  if (wantsSweepComparison(flags)) return (await import('./compare-sweep.js')).compareSweepCommand(runs, flags);
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
  // Loaded for --baseline only: it reads configs through config/load.ts, whose schema comes from the registries
  // and so loads TF.js, which comparing stored summaries does not need.
  if (baseline !== undefined)
    return (await import('./baseline-commands.js')).compareBaselineCommand(runs, { ...flags, baseline });
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
  printConfigChanges(comparison.runs, { same: '', differs: 'config.resolved.json, baseline → this run' });
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

/** Whether the flags ask for the sweep form of compare (or for one of its flags, which then needs --sweep). */
function wantsSweepComparison(flags: CompareSweepFlags): boolean {
  return flags.sweep !== undefined || (flags.groupBy ?? []).length > 0 || flags.csv === true || flags.md === true;
}
