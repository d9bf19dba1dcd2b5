import {
  listGroupMemberEntries,
  listGroups,
  listRunEntries,
  type DamagedRunListing,
  type GroupListing,
  type RunListing,
} from '../api/runs.js';
import { strategyLabel, type RunDescription } from '../api/run-description.js';
import { listSweeps, type SweepListing } from '../api/sweep-listing.js';
import { ExitCode, UsageError } from '../errors.js';
import type { CommonFlags } from './commands.js';
import { mergeCommand, type MergeFlags } from './merge.js';
import { formatNumber, log, out, printJson, sparkline, table } from './output.js';

/** What tells runs apart, as `mtl runs` and `mtl compare` show it. */
export const DESCRIPTION_HEADER = ['architecture', 'strategy', 'data', 'seed'];

export function descriptionCells(run: RunDescription): string[] {
  return [run.architecture ?? '?', strategyLabel(run), run.data ?? '?', String(run.seed)];
}

/**
 * `mtl runs`: the runs, then the seed groups, then the sweeps, one line each (`--json`: one list, runs first, each
 * group with `kind: "group"`, each sweep with `kind: "sweep"`); `mtl runs GROUP`: the members of a group
 * (`--json`: `{ group, runs }`). A run or member whose files cannot be read is listed with status `damaged`, its
 * `statusReason` and `hint` (the same entry in both), and a note on stderr; a sweep trial so is counted `damaged` in
 * its sweep's line (`--json`: `counts.damaged`, and `damagedTrials` as such entries), with the same note.
 */
export function runsCommand(
  group: string | undefined,
  more: readonly string[],
  flags: CommonFlags & MergeFlags,
): number {
  if (group === 'merge') return mergeCommand(more, flags);
  if (flags.skipUnfinished) throw new UsageError('mtl runs: --skip-unfinished goes with mtl runs merge DIR….');
  if (more.length > 0) {
    throw new UsageError(`mtl runs: one group at a time; got "${group}" and "${more[0]}".`, [
      'mtl runs GROUP lists its members; mtl runs merge DIR… gathers runs into the store',
    ]);
  }
  // The sparkline of each run's monitored value is for people: only on a terminal (it reads every epochs.jsonl).
  const onTerminal = Boolean(process.stdout.isTTY) && !flags.json;
  if (group !== undefined) {
    // A member whose files cannot be read is a `damaged` row, as in `mtl runs`: the group's others are still listed.
    const members = listGroupMemberEntries(group, flags.runsDir, { history: onTerminal });
    if (flags.json) printJson(members);
    else {
      log(`group ${members.group.id}: ${groupLine(members.group)}`);
      out(runsTable(members.runs));
      crashNotes(members.runs);
    }
    damagedNotes(members.runs);
    return ExitCode.ok;
  }
  // A run whose files cannot be read is a row of its own (status `damaged`), not the end of the listing.
  const runs = listRunEntries(flags.runsDir, { history: onTerminal });
  const groups = listGroups(flags.runsDir);
  const sweeps = listSweeps(flags.runsDir);
  if (flags.json) {
    printJson([...runs, ...groups, ...sweeps]);
    damagedNotes(runs);
    for (const sweep of sweeps) damagedNotes(sweep.damagedTrials ?? []);
    return ExitCode.ok;
  }
  if (runs.length === 0 && groups.length === 0 && sweeps.length === 0) {
    log('no runs yet; start one with: mtl train configs/quickstart.yaml');
    return ExitCode.ok;
  }
  if (runs.length > 0) out(runsTable(runs));
  crashNotes(runs);
  damagedNotes(runs);
  if (groups.length > 0) {
    if (runs.length > 0) out();
    out(
      table(
        ['group', 'name', 'status', 'created', 'seeds', 'members'],
        groups.map((g) => [
          g.id,
          g.name,
          g.status,
          g.createdAt.replace('T', ' ').slice(0, 19),
          g.seeds.join(','),
          `${g.members}/${g.seeds.length} (${g.completed} completed)`,
        ]),
      ),
    );
    log('`mtl runs GROUP` lists the members of a group');
  }
  if (sweeps.length > 0) {
    if (runs.length > 0 || groups.length > 0) out();
    out(sweepsTable(sweeps));
    for (const sweep of sweeps) damagedNotes(sweep.damagedTrials ?? []);
    log('`mtl sweep status ID` lists the trials of a sweep');
  }
  return ExitCode.ok;
}

/** One line per sweep: its trials by status and its best trial so far (the rule of `mtl sweep status`). */
function sweepsTable(sweeps: readonly SweepListing[]): string {
  return table(
    ['sweep', 'name', 'trials', 'completed', 'other', 'best so far'],
    sweeps.map((sweep) => {
      const others = Object.entries(sweep.counts)
        .filter(([status, n]) => status !== 'completed' && n > 0)
        .map(([status, n]) => `${n} ${status}`);
      const best = sweep.best
        ? `${sweep.best.id} (val ${sweep.monitor.metric} ${formatNumber(sweep.best.value)})`
        : '-';
      return [
        sweep.id,
        sweep.name,
        String(sweep.total),
        String(sweep.counts.completed),
        others.join(', ') || '-',
        best,
      ];
    }),
  );
}

/**
 * Why each crashed run shows so and how to go on (`resume it with: mtl train --resume ID`), on stderr as the other
 * notes: the table on stdout keeps its columns for scripts, and `--json` has the same as `statusReason`.
 */
function crashNotes(runs: readonly (RunListing | DamagedRunListing)[]): void {
  for (const run of runs) if (run.status === 'crashed') log(`note: ${run.id} crashed: ${run.statusReason ?? ''}`);
}

/**
 * Which file of each damaged run (or sweep trial) is wrong and what to do, on stderr with `--json` too: it changes
 * what is listed.
 */
export function damagedNotes(runs: readonly (RunListing | DamagedRunListing)[]): void {
  for (const run of runs) {
    if (run.status !== 'damaged') continue;
    log(`note: ${run.id} is damaged, listed without its details: ${run.statusReason}`);
    log(`  - ${run.hint}`);
  }
}

function groupLine(group: GroupListing): string {
  const reason = group.statusReason ? ` (${group.statusReason})` : '';
  const counts = `${group.members} started, ${group.completed} completed`;
  return `${group.status}${reason}; seeds ${group.seeds.join(', ')}; ${counts}`;
}

/**
 * The runs, one line each. A `from` column (`← SOURCE:checkpoint`, `-` for fresh weights) appears when a listed run
 * was started from another run's weights (`init:`), so listings without transfer runs keep their columns.
 */
function runsTable(entries: readonly (RunListing | DamagedRunListing)[]): string {
  const runs = entries.filter((r): r is RunListing => r.status !== 'damaged');
  const withLineage = runs.some((r) => r.lineage);
  const withHistory = runs.some((r) => r.monitor);
  const fromCell = (r: RunListing): string[] =>
    withLineage ? [r.lineage ? `← ${r.lineage.sourceId}:${r.lineage.checkpoint}` : '-'] : [];
  // A damaged run has only its id and status: `?` where its files would have told.
  const damagedRow = (r: DamagedRunListing): string[] => [
    r.id,
    '?',
    ...(withLineage ? ['?'] : []),
    r.status,
    ...Array<string>(2 + DESCRIPTION_HEADER.length + 1).fill('?'),
    ...(withHistory ? ['-'] : []),
    '?',
    '',
  ];
  return table(
    [
      'id',
      'name',
      ...(withLineage ? ['from'] : []),
      'status',
      'started',
      'backend',
      ...DESCRIPTION_HEADER,
      'epochs',
      ...(withHistory ? ['val (monitor)'] : []),
      'baselines',
      'metrics',
    ],
    entries.map((r) =>
      r.status === 'damaged'
        ? damagedRow(r)
        : [
            r.id,
            r.name,
            ...fromCell(r),
            r.status,
            r.startedAt.replace('T', ' ').slice(0, 19),
            r.backend,
            ...descriptionCells(r),
            String(r.epochs),
            ...(withHistory ? [r.monitor ? sparkline(r.monitor.values) : '-'] : []),
            subRunsCell(r),
            Object.entries(r.metrics)
              .filter(([k]) => !k.endsWith('/loss'))
              .map(([k, v]) => `${k}=${formatNumber(v, 3)}`)
              .join(' '),
          ],
    ),
  );
}

/**
 * What was trained inside a run: `single-task (2)`, `towers`, `+ 3 pairs`; `—` for none. Baselines its config asks
 * for that did not all complete say so: `single-task (1 of 2 completed; 1 interrupted, 1 not started)`.
 */
export function subRunsCell(run: Pick<RunListing, 'subRuns' | 'baselines'>): string {
  const pairs = run.subRuns.filter((sub) => sub.startsWith('pairs/')).length;
  const parts = [baselinesPart(run), pairs > 0 ? `+ ${pairs} pair${pairs === 1 ? '' : 's'}` : ''];
  const shown = parts.filter((part) => part !== '');
  return shown.length > 0 ? shown.join(' ') : '—';
}

function baselinesPart(run: Pick<RunListing, 'subRuns' | 'baselines'>): string {
  if (!run.baselines) {
    // No readable config to say which baselines were asked for: count the folders there are.
    const found = run.subRuns.filter((sub) => sub.startsWith('baselines/'));
    if (found.length === 0) return '';
    return found.length === 1 && found[0] === 'baselines/towers' ? 'towers' : `single-task (${found.length})`;
  }
  const { kind, runs } = run.baselines;
  const completed = runs.filter((baseline) => baseline.status === 'completed').length;
  if (completed === runs.length) return kind === 'towers' ? 'towers' : `single-task (${runs.length})`;
  if (kind === 'towers') return `towers (${runs.map((baseline) => baseline.status).join(', ')})`;
  const counts = new Map<string, number>();
  for (const { status } of runs) if (status !== 'completed') counts.set(status, (counts.get(status) ?? 0) + 1);
  const others = [...counts].map(([status, n]) => `${n} ${status}`).join(', ');
  return `${kind} (${completed} of ${runs.length} completed; ${others})`;
}
