/**
 * `mtl compare --sweep ID [--group-by path…] [--baseline RUN|GROUP|CONFIG] [--json|--csv|--md]`: the flags' checks
 * (exit 2 before anything is read), then api/compare-sweep.ts, printed as a text table (default), JSON, CSV (raw
 * numbers, one mean and one std column per metric) or a GitHub markdown table (for a CI job summary).
 */
import { compareSweep, type SweepComparison, type SweepComparisonRow } from '../api/compare-sweep.js';
import { ExitCode, UsageError } from '../errors.js';
import { bestCells, formatPercent, log, out, printJson, table, formatSeries } from './output.js';

export interface CompareSweepFlags {
  sweep?: string;
  groupBy?: string[];
  baseline?: string;
  runsDir?: string;
  metric?: string;
  split?: string;
  json?: boolean;
  csv?: boolean;
  md?: boolean;
  failOnRegression?: boolean;
  failIf?: string[];
}

export function compareSweepCommand(runs: readonly string[], flags: CompareSweepFlags): number {
  const sweep = flags.sweep;
  if (sweep === undefined) {
    const named = [flags.groupBy?.length ? '--group-by' : '', flags.csv ? '--csv' : '', flags.md ? '--md' : ''];
    const given = named.filter(Boolean);
    const verb = given.length === 1 ? 'applies' : 'apply';
    throw new UsageError(`mtl compare: ${given.join(' and ')} only ${verb} with --sweep ID.`, [
      'mtl compare --sweep ID --group-by strategy.name --md',
    ]);
  }
  if (runs.length > 0)
    throw new UsageError(`mtl compare --sweep ${sweep}: give the sweep or runs, not both (runs: ${runs.join(', ')}).`, [
      'compare the sweep: mtl compare --sweep ID; compare its trials as runs: mtl compare SWEEP/HASH SWEEP/HASH',
    ]);
  const formats = (['json', 'csv', 'md'] as const).filter((f) => flags[f] === true);
  if (formats.length > 1)
    throw new UsageError(`mtl compare: --${formats.join(' and --')} exclude each other.`, ['choose one output form']);
  if (flags.failOnRegression || (flags.failIf ?? []).length > 0)
    throw new UsageError('--fail-on-regression and --fail-if gate runs or seed groups, not --sweep.', [
      "gate the sweep's best trial against a base: mtl compare BASE SWEEP/HASH --fail-on-regression",
    ]);
  if (flags.split !== undefined && flags.split !== 'val' && flags.split !== 'test')
    throw new UsageError(`--split "${flags.split}": expected val or test.`);
  const comparison = compareSweep(sweep, {
    ...(flags.runsDir ? { runsDir: flags.runsDir } : {}),
    ...(flags.groupBy?.length ? { groupBy: flags.groupBy.flatMap((p) => p.split(',')).filter(Boolean) } : {}),
    ...(flags.baseline !== undefined ? { baseline: flags.baseline } : {}),
    ...(flags.split === 'val' || flags.split === 'test' ? { split: flags.split } : {}),
    ...(flags.metric ? { metric: flags.metric } : {}),
  });
  if (flags.json) printJson(comparison);
  else if (flags.csv) out(csvTable(comparison));
  else if (flags.md) {
    out(markdownTable(comparison));
    // A bare * starts a list or emphasis in markdown.
    for (const line of footnotes(comparison)) out(`\n${line.replaceAll('*', '\\*')}`);
  } else {
    out(headline(comparison));
    const [header, rows] = textCells(comparison);
    out(table(header, rows, { best: bestPerColumn(comparison) }));
    for (const line of footnotes(comparison)) out(line);
  }
  for (const note of comparison.notes) log(`note: ${note}`);
  for (const warning of comparison.baseline?.warnings ?? []) log(`warning: ${warning}`);
  return ExitCode.ok;
}

/** `sweep ID: 4 configurations, 8 completed trials; test metrics` (or `2 groups by strategy.name, …`). */
function headline(c: SweepComparison): string {
  const trials = c.rows.reduce((sum, row) => sum + row.n, 0);
  const rows = c.groupBy
    ? `${counted(c.rows.length, 'group')} by ${c.groupBy.join(', ')}`
    : counted(c.rows.length, 'configuration');
  const against = c.baseline ? `; Δm against ${c.baseline.kind} ${c.baseline.id} (n=${c.baseline.runs.length})` : '';
  return `sweep ${c.sweep.id}: ${rows}, ${counted(trials, 'completed trial')}; ${c.split} metrics${against}`;
}

function counted(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** Header and cells as the text and markdown tables show them (formatted as compare's other tables). */
function textCells(c: SweepComparison): [string[], string[][]] {
  const header = [
    'rank',
    ...c.paths,
    'n',
    ...c.columns.map((col) => `${col.key} ${col.higherIsBetter ? '↑' : '↓'}`),
    ...(c.baseline ? ['Δm'] : []),
    'pareto',
  ];
  const rows = c.rows.map((row) => [
    String(row.rank),
    ...c.paths.map((p) => row.config[p] ?? '—'),
    String(row.n),
    ...c.columns.map((col) => {
      const stat = row.metrics[col.key];
      return stat ? formatSeries(stat) : '—';
    }),
    ...(c.baseline ? [deltaMCell(row)] : []),
    paretoCell(row),
  ]);
  return [header, rows];
}

/** Per row and text column, whether the cell holds its metric column's best mean (or the best Δm). */
function bestPerColumn(c: SweepComparison): boolean[][] {
  const metricColumns = c.columns.map((col) =>
    bestCells(
      c.rows.map((row) => row.metrics[col.key]?.mean),
      col.higherIsBetter,
    ),
  );
  const deltaM = bestCells(
    c.rows.map((row) => (typeof row.deltaM === 'number' ? row.deltaM : undefined)),
    true,
  );
  return c.rows.map((_row, r) => [
    false,
    ...c.paths.map(() => false),
    false,
    ...metricColumns.map((column) => column[r] === true),
    ...(c.baseline ? [deltaM[r] === true] : []),
    false,
  ]);
}

function deltaMCell(row: SweepComparisonRow): string {
  return typeof row.deltaM === 'number' ? formatPercent(row.deltaM) : 'n/a';
}

function paretoCell(row: SweepComparisonRow): string {
  return row.pareto === true ? '*' : row.pareto === null ? '?' : '';
}

function footnotes(c: SweepComparison): string[] {
  const lines = [
    `pareto: * Pareto-optimal${c.rows.some((r) => r.pareto === null) ? ', ? not judged' : ''}: ${c.paretoRule}`,
    `ranked ${c.ranking.rule}`,
    `metrics: ${c.mainMetricRule}; mean ± sample std over the row's trials; split: ${c.splitRule}`,
  ];
  if (c.baseline) lines.push(`Δm: ${c.deltaMRule}`);
  for (const row of c.rows)
    if (row.deltaMProblems) lines.push(`Δm n/a for rank ${row.rank}: ${row.deltaMProblems.join('; ')}`);
  return lines;
}

function markdownTable(c: SweepComparison): string {
  const [header, rows] = textCells(c);
  const markdownCell = (cell: string): string => cell.replaceAll('|', '\\|').replaceAll('*', '\\*');
  const line = (cells: readonly string[]): string => `| ${cells.map(markdownCell).join(' | ')} |`;
  const align = header.map((_, i) => (i > 0 && i <= c.paths.length ? ':--' : '--:'));
  return [`**${headline(c)}**`, '', line(header), `|${align.join('|')}|`, ...rows.map(line)].join('\n');
}

/** Raw numbers (full precision, empty where undefined), one mean and one std column per metric. */
function csvTable(c: SweepComparison): string {
  const header = [
    'rank',
    ...c.paths,
    'n',
    'seeds',
    ...c.columns.flatMap((col) => [`${col.key} mean`, `${col.key} std`]),
    ...(c.baseline ? ['deltaM'] : []),
    'pareto',
  ];
  const number = (v: number | null | undefined): string => (typeof v === 'number' && Number.isFinite(v) ? `${v}` : '');
  const rows = c.rows.map((row) => [
    String(row.rank),
    ...c.paths.map((p) => row.config[p] ?? ''),
    String(row.n),
    row.seeds.join(' '),
    ...c.columns.flatMap((col) => [number(row.metrics[col.key]?.mean), number(row.metrics[col.key]?.std)]),
    ...(c.baseline ? [number(row.deltaM)] : []),
    row.pareto === null ? '' : String(row.pareto),
  ]);
  return [header, ...rows].map((cells) => cells.map(csvCell).join(',')).join('\n');
}

function csvCell(cell: string): string {
  return /[",\n]/.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell;
}
