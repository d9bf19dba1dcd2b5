import type { TopLevelSpec } from 'vega-lite';
import type { AnalysisReport, PairValues, TransferReport } from '../analysis/types.js';
import type { ResolvedConfig } from '../config/types.js';
import { metricName } from '../metrics/direction.js';
import type { StoredRunMeta } from '../runs/meta.js';
import type { EpochLogEntry, MetricRow } from '../runs/records.js';
import type { RunSummary } from '../runs/summary.js';
import { adversaryFigures } from './adversary-figures.js';
import { barChart, heatmap, lineChart } from './charts.js';
import { bestEpochOf, recordTables } from './run-record.js';
import { figureId, section, type Figure, type ReportSection, type ReportTable } from './types.js';

/** Everything a report reads of one run (api/report.ts reads the files; this module only draws). */
export interface RunReportData {
  id: string;
  meta: StoredRunMeta;
  /** The status shown: meta.json's, or `crashed` for a `running` run whose process is gone (as `mtl runs` shows it). */
  status: string;
  statusReason?: string;
  summary?: RunSummary;
  config?: ResolvedConfig;
  /** metrics.jsonl. */
  rows: MetricRow[];
  /** epochs.jsonl. */
  epochs: EpochLogEntry[];
  transfer?: TransferReport;
  analysis?: AnalysisReport;
}

export const BEST_EPOCH_RULE =
  'the dashed line marks the best epoch: the epoch whose monitored validation value was best, whose checkpoint ' +
  '`best` holds and from which the final metrics come';
export const CONFLICT_RULE =
  'two task gradients conflict at a step when their cosine similarity is below 0; the fraction is over the steps ' +
  'of the epoch (for the whole run: the mean over epochs)';

export function taskNames(run: RunReportData): string[] {
  if (run.config) return run.config.tasks.map((t) => t.name);
  const names = new Set<string>();
  for (const row of run.rows)
    for (const key of Object.keys(row.metrics)) if (key.includes('/')) names.add(key.split('/')[0]!);
  names.delete('mean');
  return [...names];
}

/** The first metric of the task's config (the main metric, as `mtl compare --sweep` has it), else its first seen. */
export function mainMetric(run: RunReportData, task: string): string | undefined {
  const configured = run.config?.tasks.find((t) => t.name === task)?.metrics[0];
  if (configured) return configured;
  const key = run.rows
    .flatMap((r) => Object.keys(r.metrics))
    .find((k) => k.startsWith(`${task}/`) && !k.endsWith('/loss'));
  return key === undefined ? undefined : metricName(key);
}

/** Per task: train and validation loss (left), validation metrics (right), the best epoch marked on both. */
export function learningCurves(run: RunReportData, prefix = ''): Figure[] {
  const best = bestEpochOf(run);
  const rules = best === undefined ? [] : [{ x: best, label: `best epoch ${best}` }];
  return taskNames(run).flatMap((task) => {
    const losses: Record<string, string | number>[] = [];
    const metrics: Record<string, string | number>[] = [];
    for (const row of run.rows) {
      if (row.split === 'test') continue;
      for (const [key, value] of Object.entries(row.metrics)) {
        if (!key.startsWith(`${task}/`) || !Number.isFinite(value)) continue;
        const metric = key.slice(task.length + 1);
        if (metric === 'loss') losses.push({ epoch: row.epoch, series: `${row.split} loss`, value });
        else if (row.split === 'val') metrics.push({ epoch: row.epoch, series: `val ${metric}`, value });
      }
    }
    if (losses.length === 0 && metrics.length === 0) return [];
    const panels: TopLevelSpec[] = [];
    if (losses.length > 0)
      panels.push(
        lineChart({ rows: losses, x: 'epoch', y: 'value', series: 'series', xTitle: 'epoch', yTitle: 'loss', rules }),
      );
    if (metrics.length > 0)
      panels.push(
        lineChart({
          rows: metrics,
          x: 'epoch',
          y: 'value',
          series: 'series',
          xTitle: 'epoch',
          yTitle: 'metric',
          rules,
        }),
      );
    const spec = { hconcat: panels, resolve: { scale: { color: 'independent' as const } } } as TopLevelSpec;
    return [
      {
        id: figureId(prefix, 'curves', task),
        title: `${task}: learning curves`,
        caption: `Training and validation loss per epoch, and the validation metrics; ${BEST_EPOCH_RULE}.`,
        spec,
      },
    ];
  });
}

export function taskWeightFigure(run: RunReportData, prefix = ''): Figure | undefined {
  const rows = run.epochs.flatMap((e) =>
    Object.entries(e.taskWeights).map(([task, weight]) => ({ epoch: e.epoch, task, weight })),
  );
  if (rows.length === 0) return undefined;
  const strategy = run.config?.strategy.name ?? run.meta.strategy?.name ?? 'the strategy';
  return {
    id: figureId(prefix, 'task-weights'),
    title: 'Task weights over training',
    caption: `The weight ${strategy} gave each task at the last step of each epoch.`,
    spec: lineChart({ rows, x: 'epoch', y: 'weight', series: 'task', xTitle: 'epoch', yTitle: 'task weight' }),
  };
}

/** The mean over epochs of each pair's per-epoch conflict fraction. */
export function conflictFractions(epochs: readonly EpochLogEntry[]): Record<string, number> {
  const sums: Record<string, { total: number; n: number }> = {};
  for (const entry of epochs)
    for (const [pair, fraction] of Object.entries(entry.gradientConflicts ?? {})) {
      const s = sums[pair] ?? { total: 0, n: 0 };
      s.total += fraction;
      s.n += 1;
      sums[pair] = s;
    }
  return Object.fromEntries(Object.entries(sums).map(([pair, s]) => [pair, s.total / s.n]));
}

export function gradientFigures(run: RunReportData, prefix = ''): { figures: Figure[]; table?: ReportTable } {
  const cosines = run.epochs.flatMap((e) =>
    Object.entries(e.gradientCosines ?? {}).map(([pair, cosine]) => ({
      epoch: e.epoch,
      pair: pairLabel(pair),
      cosine,
    })),
  );
  if (cosines.length === 0) return { figures: [] };
  const conflicts = run.epochs.flatMap((e) =>
    Object.entries(e.gradientConflicts ?? {}).map(([pair, fraction]) => ({
      epoch: e.epoch,
      pair: pairLabel(pair),
      fraction,
    })),
  );
  const figures: Figure[] = [
    {
      id: figureId(prefix, 'gradient-cosines'),
      title: 'Gradient cosine similarity per epoch',
      caption:
        'Mean over the epoch’s steps of the cosine similarity of two tasks’ gradients (on the target the strategy ' +
        'uses: shared parameters or the representation); red is conflict (below 0).',
      spec: heatmap({
        rows: cosines,
        x: 'epoch',
        y: 'pair',
        value: 'cosine',
        xTitle: 'epoch',
        yTitle: 'task pair',
        valueTitle: 'cosine',
        domain: [-1, 1],
        xType: 'ordinal',
      }),
    },
  ];
  if (conflicts.length > 0)
    figures.push({
      id: figureId(prefix, 'gradient-conflicts'),
      title: 'Fraction of conflicting steps per epoch',
      caption: `${CONFLICT_RULE[0]!.toUpperCase()}${CONFLICT_RULE.slice(1)}.`,
      spec: lineChart({
        rows: conflicts,
        x: 'epoch',
        y: 'fraction',
        series: 'pair',
        xTitle: 'epoch',
        yTitle: 'conflicting steps',
        yDomain: [0, 1],
      }),
    });
  const overall = conflictFractions(run.epochs);
  const table: ReportTable = {
    caption: 'Gradient conflicts over the whole run (mean over epochs)',
    header: ['pair', 'mean cosine', 'conflicting steps'],
    rows: Object.keys(overall).map((pair) => {
      const values = cosines.filter((c) => c.pair === pairLabel(pair)).map((c) => c.cosine);
      const mean = values.reduce((a, b) => a + b, 0) / Math.max(values.length, 1);
      return [pairLabel(pair), mean.toFixed(3), `${((overall[pair] ?? 0) * 100).toFixed(1)}%`];
    }),
  };
  return { figures, table };
}

function pairLabel(key: string): string {
  return key.includes('>') ? key.replace('>', ' → ') : key.replace('|', ' · ');
}

/** A pair matrix: symmetric keys `a|b` fill both cells, directed `a>b` fill (from a, to b). */
function pairRows(values: PairValues): Record<string, string | number>[] {
  return Object.entries(values).flatMap(([key, value]) => {
    if (!Number.isFinite(value)) return [];
    if (key.includes('>')) {
      const [from, to] = key.split('>') as [string, string];
      return [{ row: from, column: to, value }];
    }
    const [a, b] = key.split('|') as [string, string];
    return a === b
      ? [{ row: a, column: b, value }]
      : [
          { row: a, column: b, value },
          { row: b, column: a, value },
        ];
  });
}

export function relatednessFigures(analysis: AnalysisReport, prefix = ''): Figure[] {
  const measures: { id: string; title: string; caption: string; values: PairValues | undefined; signed: boolean }[] = [
    {
      id: 'association',
      title: 'Target association',
      caption: 'Association of the task targets on the training split (Pearson r, correlation ratio or Cramér’s V).',
      values: analysis.data?.association,
      signed: true,
    },
    {
      id: 'nmi',
      title: 'Normalised mutual information of the targets',
      caption: 'Miller–Madow corrected mutual information of the targets, normalised.',
      values: analysis.data?.normalisedMutualInformation,
      signed: false,
    },
    {
      id: 'gradient-cosine',
      title: 'Mean gradient cosine',
      caption: 'Mean cosine similarity of the task gradients over the measured steps.',
      values: analysis.gradient?.meanCosine,
      signed: true,
    },
    {
      id: 'affinity',
      title: 'Inter-task affinity (row → column)',
      caption: 'Fifty et al. 2021: how a step on the row task’s loss changes the column task’s loss.',
      values: analysis.affinity?.affinity,
      signed: true,
    },
    {
      id: 'cka',
      title: 'Representation similarity (linear CKA)',
      caption: 'Linear CKA between the tasks’ representations on the validation split.',
      values: analysis.model?.representationCka,
      signed: false,
    },
  ];
  return measures.flatMap((m) => {
    if (!m.values || Object.keys(m.values).length === 0) return [];
    return [
      {
        id: figureId(prefix, 'relatedness', m.id),
        title: m.title,
        caption: m.caption,
        spec: heatmap({
          rows: pairRows(m.values),
          x: 'column',
          y: 'row',
          value: 'value',
          xTitle: '',
          yTitle: '',
          valueTitle: m.id,
          ...(m.signed ? { domain: [-1, 1] as [number, number] } : {}),
        }),
      },
    ];
  });
}

export const NEGATIVE_TRANSFER_MARK = '▼ marks a task whose verdict is negative transfer (MTL worse than its baseline)';

/** MTL against the single-task baselines of one run: bars per task of the main metric, negative transfer marked. */
export function transferFigure(
  run: RunReportData,
  transfer: TransferReport,
  prefix = '',
): { figure: Figure; table: ReportTable } {
  const rows = transfer.tasks.flatMap((task) => {
    const main = task.metrics.find((m) => m.metric === mainMetric(run, task.task)) ?? task.metrics[0];
    if (!main) return [];
    const negative = task.verdict === 'negative-transfer' || task.verdict === 'negative-transfer-unconfirmed';
    return [
      { task: `${task.task} (${main.metric})`, run: 'MTL', value: main.mtl, negative },
      { task: `${task.task} (${main.metric})`, run: transfer.baseline, value: main.single, negative: false },
    ];
  });
  const table: ReportTable = {
    caption: `MTL against ${transfer.baseline} on ${transfer.split} (Δm ${formatGain(transfer.deltaM)})`,
    header: ['task', 'metric', 'MTL', transfer.baseline, 'gain', 'verdict'],
    rows: transfer.tasks.flatMap((t) =>
      t.metrics.map((m) => [
        t.task,
        m.metric,
        m.mtl.toFixed(4),
        m.single.toFixed(4),
        formatGain(m.relativeGain),
        t.verdict ?? '—',
      ]),
    ),
  };
  return {
    figure: {
      id: figureId(prefix, 'transfer'),
      title: `MTL against ${transfer.baseline} baselines`,
      caption:
        `Each task's main metric on ${transfer.split}; ${NEGATIVE_TRANSFER_MARK}. ${transfer.verdictRule ?? ''}`.trim(),
      spec: barChart({
        rows,
        category: 'task',
        group: 'run',
        value: 'value',
        flag: 'negative',
        valueTitle: 'metric',
        categoryTitle: 'task',
      }),
    },
    table,
  };
}

export function formatGain(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return `${value >= 0 ? '+' : ''}${(value * 100).toFixed(2)}%`;
}

/** The sections of a one-run report, in page order. */
export function runSections(run: RunReportData, configText: string | undefined): ReportSection[] {
  const sections: ReportSection[] = [];
  const curves = learningCurves(run);
  sections.push(
    section('curves', 'Learning curves', {
      figures: curves,
      notes: curves.length === 0 ? ['The run logged no epoch yet (metrics.jsonl is empty).'] : [],
    }),
  );
  const weights = taskWeightFigure(run);
  const gradients = gradientFigures(run);
  sections.push(
    section('weights', 'Task weights and gradient conflicts', {
      figures: [...(weights ? [weights] : []), ...gradients.figures],
      tables: gradients.table ? [gradients.table] : [],
      notes:
        gradients.figures.length === 0
          ? [
              'No gradient cosines: the strategy weights losses and takes no task gradients ' +
                '(a gradient method logs them).',
            ]
          : [],
    }),
  );
  const adversaries = adversaryFigures(run.epochs);
  if (adversaries.length > 0) sections.push(section('adversaries', 'Adversaries', { figures: adversaries }));
  if (run.analysis) {
    const figures = relatednessFigures(run.analysis);
    const unavailable = Object.entries(run.analysis.unavailable).map(([k, why]) => `${k}: ${why}`);
    sections.push(section('relatedness', 'Task relatedness (mtl analyze)', { figures, notes: unavailable }));
  }
  if (run.transfer) {
    const { figure, table } = transferFigure(run, run.transfer);
    sections.push(section('transfer', 'MTL against single-task baselines', { figures: [figure], tables: [table] }));
  }
  sections.push(
    section('record', 'Record', { tables: recordTables(run), ...(configText ? { code: configText } : {}) }),
  );
  return sections;
}
