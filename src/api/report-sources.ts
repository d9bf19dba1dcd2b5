import { UsageError } from '../errors.js';
import path from 'node:path';
import { stringify } from 'yaml';
import { readAnalysisIfAny } from '../runs/analysis.js';
import { readMetricRows, readEpochLog } from '../runs/logs.js';
import { readMeta } from '../runs/meta.js';
import { crashReason } from '../runs/liveness.js';
import { readSummaryIfAny } from '../runs/summary.js';
import { readTransferIfAny } from '../runs/transfer.js';
import { higherIsBetter } from '../metrics/direction.js';
import type { SweepComparison } from './compare-sweep.js';
import type { GroupSummary } from '../analysis/group-summary.js';
import type { GroupMeta } from '../runs/groups.js';
import { configDifferences, formatChange } from './config-diff.js';
import { readConfigIfAny } from './run-description.js';
import { shownGroupStatus } from './runs.js';
import {
  halvingLadder,
  metricBars,
  tradeOffFigure,
  type ComparedColumn,
  type ComparedEntry,
} from '../report/compare-figures.js';
import { lineChart } from '../report/charts.js';
import { bestEpochOf } from '../report/run-record.js';
import {
  learningCurves,
  mainMetric,
  NEGATIVE_TRANSFER_MARK,
  runSections,
  taskNames,
  type RunReportData,
} from '../report/run-figures.js';
import { barChart } from '../report/charts.js';
import { figureId, section, type Figure, type ReportDocument, type ReportSection } from '../report/types.js';

/** Reads what a report shows of one run; missing optional files are simply absent. */
export function readRunForReport(id: string, dir: string): RunReportData {
  const summary = readSummaryIfAny(dir);
  const config = readConfigIfAny(dir);
  const transfer = readTransferIfAny(dir);
  const analysis = readAnalysisIfAny(dir);
  const meta = readMeta(dir);
  const crashed = crashReason(meta);
  return {
    id,
    meta,
    status: crashed === undefined ? meta.status : 'crashed',
    ...(crashed === undefined
      ? meta.statusReason === undefined
        ? {}
        : { statusReason: meta.statusReason }
      : { statusReason: `${crashed}; resume it with: mtl train --resume ${id}` }),
    rows: readMetricRows(dir),
    epochs: readEpochLog(dir),
    ...(summary ? { summary } : {}),
    ...(config ? { config } : {}),
    ...(transfer ? { transfer } : {}),
    ...(analysis ? { analysis } : {}),
  };
}

export function runDocument(run: RunReportData): ReportDocument {
  const epochs = run.meta.epochsCompleted;
  const best = bestEpochOf(run);
  const subtitle =
    `${run.meta.name} · ${run.status} · ${epochs} epoch${epochs === 1 ? '' : 's'} · ` +
    `${run.config?.model.architecture ?? ''} · ${run.config?.strategy.name ?? ''} · ` +
    `backend ${run.meta.backend?.name ?? '—'}` +
    (run.summary ? ` · ${best === undefined ? 'no best epoch' : `best epoch ${best}`}` : '');
  return {
    title: `mtl report: run ${run.id}`,
    subtitle,
    sections: runSections(run, run.config ? stringify(run.config) : undefined),
  };
}

/** The final metrics a comparison reads of a run: test when it has them, else val. */
function finalMetrics(run: RunReportData): Record<string, number> {
  const s = run.summary;
  if (!s) return {};
  return Object.keys(s.test).length > 0 ? s.test : s.val;
}

function mainColumns(runs: readonly RunReportData[]): ComparedColumn[] {
  const columns: ComparedColumn[] = [];
  for (const run of runs)
    for (const task of taskNames(run)) {
      const metric = mainMetric(run, task);
      const key = `${task}/${metric}`;
      if (metric === undefined || columns.some((c) => c.key === key)) continue;
      columns.push({ key, task, higherIsBetter: run.summary?.directions[key] ?? higherIsBetter(key) });
    }
  return columns;
}

/** Several runs: their main metrics side by side, the trade-off, what differs in their configs, then each run. */
export function runsDocument(runs: readonly RunReportData[], axes?: readonly [string, string]): ReportDocument {
  const columns = mainColumns(runs);
  const entries: ComparedEntry[] = runs.map((run) => ({
    label: run.id,
    metrics: Object.fromEntries(Object.entries(finalMetrics(run)).map(([k, v]) => [k, { mean: v }])),
  }));
  const figures: Figure[] = [metricBars(entries, columns, 'runs')];
  const keys = [...new Set(entries.flatMap((e) => Object.keys(e.metrics)))];
  const directions = Object.assign({}, ...runs.map((r) => r.summary?.directions ?? {})) as Record<string, boolean>;
  const axis = (key: string): ComparedColumn => ({
    key,
    task: key.split('/')[0] ?? key,
    higherIsBetter: directions[key] ?? higherIsBetter(key),
  });
  const pair = tradeOffAxes(axes, columns, keys, axis);
  if (pair) figures.push(tradeOffFigure(entries, pair[0], pair[1], 'runs'));
  const base = runs[0]!;
  const differences = runs.slice(1).map((run) => {
    const changes = configDifferences(base.config, run.config);
    return [run.id, changes.length === 0 ? 'the same config' : changes.map(formatChange).join('; ')];
  });
  const sections: ReportSection[] = [
    section('comparison', 'Comparison', {
      figures,
      notes: [`Final metrics: test where a run has them, else val.`],
      tables: [
        { caption: `Where each config differs from ${base.id}'s`, header: ['run', 'differences'], rows: differences },
      ],
    }),
    ...runs.map((run) =>
      section(`run-${figureId(run.id)}`, `Run ${run.id}`, {
        figures: learningCurves(run, run.id),
        notes: [`${run.meta.name} · ${run.status} · backend ${run.meta.backend?.name ?? '—'} · seed ${run.meta.seed}`],
      }),
    ),
  ];
  return { title: `mtl report: ${runs.length} runs`, subtitle: runs.map((r) => r.id).join(' · '), sections };
}

/** The curves of the task's main val metric, one line per member seed. */
function seedCurves(members: readonly { seed: number; run: RunReportData }[], prefix: string): Figure[] {
  const first = members[0]?.run;
  if (!first) return [];
  return taskNames(first).flatMap((task) => {
    const metric = mainMetric(first, task);
    if (metric === undefined) return [];
    const key = `${task}/${metric}`;
    const rows = members.flatMap(({ seed, run }) =>
      run.rows
        .filter((r) => r.split === 'val' && Number.isFinite(r.metrics[key]))
        .map((r) => ({ epoch: r.epoch, seed: `seed ${seed}`, value: r.metrics[key] as number })),
    );
    if (rows.length === 0) return [];
    return [
      {
        id: figureId(prefix, 'seed-curves', task),
        title: `${task}: val ${metric} per seed`,
        caption: `The validation ${metric} of ${task} over epochs, one line per seed of the group.`,
        spec: lineChart({ rows, x: 'epoch', y: 'value', series: 'seed', xTitle: 'epoch', yTitle: key }),
      },
    ];
  });
}

export function groupDocument(
  group: { id: string; dir: string; meta: GroupMeta },
  summary: GroupSummary,
): ReportDocument {
  const members = group.meta.members.map((m) => ({
    seed: m.seed,
    run: readRunForReport(m.id, path.join(group.dir, m.folder)),
  }));
  const figures: Figure[] = [];
  const first = members[0]?.run;
  const columns = first ? mainColumns([first]) : [];
  figures.push(
    metricBars(
      [
        {
          label: 'MTL',
          metrics: Object.fromEntries(summary.metrics.map((m) => [m.key, { mean: m.mean, std: m.std }])),
        },
      ],
      columns,
      'group',
    ),
  );
  const sections: ReportSection[] = [];
  if (summary.transfer) {
    const transfer = summary.transfer;
    const rows = transfer.tasks.flatMap((task) => {
      const main = task.metrics[0];
      if (!main) return [];
      const negative = task.verdict === 'negative-transfer' || task.verdict === 'negative-transfer-unconfirmed';
      const label = `${task.task} (${main.metric})`;
      return [
        { task: label, run: 'MTL', value: main.mtl.mean, std: finiteOrNull(main.mtl.std), negative },
        {
          task: label,
          run: transfer.baseline,
          value: main.single.mean,
          std: finiteOrNull(main.single.std),
          negative: false,
        },
      ];
    });
    figures.push({
      id: 'group-transfer',
      title: `MTL against ${transfer.baseline} baselines over seeds`,
      caption:
        `Mean over seeds ${transfer.seeds.join(', ')} on ${transfer.split}, ± one sample std; ` +
        `${NEGATIVE_TRANSFER_MARK}. ${transfer.rule}`,
      spec: barChart({
        rows,
        category: 'task',
        group: 'run',
        value: 'value',
        error: 'std',
        flag: 'negative',
        valueTitle: 'metric',
        categoryTitle: 'task',
      }),
    });
  }
  sections.push(
    section('seeds', 'Metrics over seeds', {
      figures,
      notes: summary.warnings,
      tables: [
        {
          caption: `${summary.split} metrics, mean ± std over seeds ${summary.seeds.join(', ')}`,
          header: ['metric', 'mean', 'std', 'n'],
          rows: summary.metrics.map((m) => [
            m.key,
            m.mean.toFixed(4),
            Number.isFinite(m.std) ? m.std.toFixed(4) : '—',
            String(m.n),
          ]),
        },
      ],
    }),
    section('curves', 'Learning curves per seed', { figures: seedCurves(members, 'group') }),
    section('record', 'Record', {
      tables: [
        {
          caption: 'Members',
          header: ['seed', 'run', 'status'],
          // A seed the group never trained is a row too (the summary's warnings say so), not a silent gap.
          rows: summary.seeds.map((seed) => {
            const member = summary.members.find((m) => m.seed === seed);
            return member ? [String(seed), member.id, member.status] : [String(seed), '—', 'never trained'];
          }),
        },
      ],
      ...(first?.config ? { code: stringify(first.config) } : {}),
    }),
  );
  const { status } = shownGroupStatus(group.dir, group.meta);
  return {
    title: `mtl report: group ${group.id}`,
    subtitle: `${group.meta.name} · ${status} · seeds ${group.meta.seeds.join(', ')}`,
    sections,
  };
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

export function sweepDocument(
  comparison: SweepComparison,
  halving: Parameters<typeof halvingLadder>[0] | undefined,
  axes?: readonly [string, string],
): ReportDocument {
  const label = (row: SweepComparison['rows'][number]): string =>
    Object.entries(row.config)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ') || `row ${row.rank}`;
  const entries: ComparedEntry[] = comparison.rows.map((row) => ({
    label: label(row),
    metrics: Object.fromEntries(Object.entries(row.metrics).map(([k, s]) => [k, { mean: s.mean, std: s.std }])),
    pareto: row.pareto,
  }));
  const columns: ComparedColumn[] = comparison.columns.map((c) => ({
    key: c.key,
    task: c.task,
    higherIsBetter: c.higherIsBetter,
  }));
  const figures: Figure[] = [metricBars(entries, columns, 'sweep')];
  const byKey = (key: string): ComparedColumn => columns.find((c) => c.key === key) ?? columns[0]!;
  const pair = tradeOffAxes(
    axes,
    columns,
    columns.map((c) => c.key),
    byKey,
  );
  if (pair) figures.push(tradeOffFigure(entries, pair[0], pair[1], 'sweep'));
  const ladder = halving ? halvingLadder(halving, 'sweep') : undefined;
  const sections: ReportSection[] = [
    section('configurations', 'Configurations', {
      figures,
      notes: [...comparison.notes, comparison.mainMetricRule, comparison.ranking.rule],
      tables: [
        {
          caption: `Ranked on ${comparison.split} (${comparison.splitRule})`,
          header: ['rank', 'configuration', 'n', ...columns.map((c) => c.key), 'Pareto'],
          rows: comparison.rows.map((row) => [
            String(row.rank),
            label(row),
            String(row.n),
            ...columns.map((c) => {
              const s = row.metrics[c.key];
              return s ? `${s.mean.toFixed(4)}${Number.isFinite(s.std) ? ` ± ${s.std.toFixed(4)}` : ''}` : '—';
            }),
            row.pareto === null ? '—' : row.pareto ? 'yes' : 'no',
          ]),
        },
      ],
    }),
  ];
  if (ladder) sections.push(section('halving', 'Successive halving', { figures: [ladder] }));
  return {
    title: `mtl report: sweep ${comparison.sweep.id}`,
    subtitle: `${comparison.sweep.name} · ${comparison.rows.length} configurations`,
    sections,
  };
}

/**
 * The two metrics of the trade-off figure: the ones asked for (`--axes A,B`, each a `<task>/<metric>` the compared
 * entries report), else the first two tasks' main metrics; none with fewer than two.
 */
function tradeOffAxes(
  axes: readonly [string, string] | undefined,
  columns: readonly ComparedColumn[],
  keys: readonly string[],
  column: (key: string) => ComparedColumn,
): [ComparedColumn, ComparedColumn] | undefined {
  if (axes) {
    for (const key of axes) {
      if (!keys.includes(key)) {
        throw new UsageError(
          `--axes: "${key}" is not a metric of the compared ${columns.length > 0 ? 'rows' : 'runs'}.`,
          [`choose two of: ${keys.join(', ')}`],
        );
      }
    }
    return [column(axes[0]), column(axes[1])];
  }
  return columns.length >= 2 ? [columns[0]!, columns[1]!] : undefined;
}
