import { compareGroups, isGroupReference } from '../api/compare-groups.js';
import { strategyLabel } from '../api/run-description.js';
import { printConfigChanges } from './config-changes.js';
import { ExitCode, UsageError } from '../errors.js';
import { bestCells, formatNumber, formatPercent, log, out, printJson, table, formatSeries } from './output.js';
import { gateGroupComparison, type GateOptions } from '../api/compare-gate.js';
import { gateExitCode, printGate } from './compare-gates.js';

/**
 * `mtl compare` of seed groups: undefined when every reference is a run (compare runs as before); the exit code when
 * every reference is a group; a UsageError when they are mixed.
 */
export function compareGroupsCommand(
  references: string[],
  flags: { runsDir?: string; json?: boolean; metric?: string; split?: 'val' | 'test' },
  gate?: GateOptions,
): number | undefined {
  const groups = references.map((reference) => isGroupReference(reference, flags.runsDir));
  if (groups.every((isGroup) => !isGroup)) return undefined;
  if (!groups.every(Boolean)) {
    const named = (want: boolean): string => references.filter((_, i) => groups[i] === want).join(', ');
    throw new UsageError(
      `mtl compare: give runs or seed groups, not both (groups: ${named(true)}; runs: ${named(false)}).`,
      [
        'compare groups with groups (mean ± std over seeds), or runs with runs; a member of a group is a run: ' +
          'GROUP/seed-N',
      ],
    );
  }
  const comparison = compareGroups(references, {
    ...(flags.runsDir ? { runsDir: flags.runsDir } : {}),
    ...(flags.metric ? { metric: flags.metric } : {}),
    ...(flags.split ? { split: flags.split } : {}),
  });
  const gateReport = gate ? gateGroupComparison(comparison, gate) : undefined;
  if (flags.json) {
    printJson(gateReport ? { ...comparison, gate: gateReport } : comparison);
    return gateReport ? gateExitCode(gateReport) : ExitCode.ok;
  }
  // n: the seeds whose metrics make the statistics, of all the group's seeds when some are left out.
  const counted = (g: (typeof comparison.groups)[number]): string =>
    g.seedsWithoutMetrics.length === 0 ? `${g.seeds.length}` : `${g.seedsWithMetrics.length} of ${g.seeds.length}`;
  const header = ['metric', ...comparison.groups.map((g, i) => `${g.id}${i === 0 ? ' (base)' : ''} n=${counted(g)}`)];
  const rows = comparison.rows.map((row) => [
    `${row.metric} ${row.higherIsBetter ? '↑' : '↓'}`,
    ...row.stats.map((stat, i) => {
      const shown = formatSeries(stat);
      return i === 0 ? shown : `${shown} (${formatPercent(row.relative[i] ?? undefined)})`;
    }),
  ]);
  rows.push([
    'Δm',
    '—',
    ...comparison.deltaM.map((d) => {
      const test = d.pairedTest ? ` p=${formatNumber(d.pairedTest.p, 3)}` : '';
      return d.deltaM.n === 0 ? 'n/a' : `${formatSeries(d.deltaM, true)}${test}`;
    }),
  ]);
  // On a terminal, each metric's best group (by mean) is marked.
  const best = [
    ...comparison.rows.map((row) => [
      false,
      ...bestCells(
        row.stats.map((st) => st.mean),
        row.higherIsBetter,
      ),
    ]),
    [],
  ];
  out(table(header, rows, { best }));
  out(`Δm: ${comparison.pairingNote}.`);
  for (const d of comparison.deltaM) for (const problem of d.problems ?? []) out(`Δm of ${d.group}: ${problem}`);
  // As for runs: after the metrics, what tells the groups apart, then where their configs differ.
  out();
  out(
    table(
      ['group', 'architecture', 'strategy', 'data', 'seeds'],
      comparison.groups.map((g, i) => [
        i === 0 ? `${g.id} (base)` : g.id,
        g.architecture ?? '?',
        strategyLabel(g),
        g.data ?? '?',
        g.seeds.join(',') +
          (g.seedsWithoutMetrics.length === 0
            ? ''
            : ` (${g.seedsWithMetrics.length} with ${comparison.split} metrics)`),
      ]),
    ),
  );
  printConfigChanges(comparison.groups, {
    same: ' (seeds aside)',
    differs: 'config.resolved.json of a member, seed aside; base → this group',
  });
  for (const warning of comparison.warnings) log(`warning: ${warning}`);
  return gateReport ? printGate(gateReport) : ExitCode.ok;
}
