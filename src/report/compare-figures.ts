import type { TopLevelSpec } from 'vega-lite';
import { paretoOptimal, PARETO_RULE } from '../analysis/pareto.js';
import type { HalvingRecord } from '../runs/sweep-rungs.js';
import { barChart, paretoScatter } from './charts.js';
import { figureId, type Figure } from './types.js';

/** One bar group of a comparison: a run, a seed group or a sweep configuration. */
export interface ComparedEntry {
  label: string;
  /** Per `<task>/<metric>` key, the value (mean over seeds) and its sample std over seeds where there are several. */
  metrics: Record<string, { mean: number; std?: number }>;
  /** Precomputed Pareto optimality (a sweep's own rule); computed here when absent. */
  pareto?: boolean | null;
}

export interface ComparedColumn {
  key: string;
  task: string;
  higherIsBetter: boolean;
}

/** Per task's main metric, one bar per entry, ± the std over seeds. */
export function metricBars(
  entries: readonly ComparedEntry[],
  columns: readonly ComparedColumn[],
  prefix: string,
): Figure {
  const rows = columns.flatMap((column) =>
    entries.flatMap((entry) => {
      const value = entry.metrics[column.key];
      if (!value || !Number.isFinite(value.mean)) return [];
      const std = value.std !== undefined && Number.isFinite(value.std) ? value.std : null;
      return [{ metric: column.key, entry: entry.label, value: value.mean, std }];
    }),
  );
  const seeds = entries.some((e) =>
    Object.values(e.metrics).some((m) => m.std !== undefined && Number.isFinite(m.std)),
  );
  return {
    id: figureId(prefix, 'metric-bars'),
    title: 'Each task’s main metric',
    caption: seeds
      ? 'Mean over seeds; the error bars are ± one sample standard deviation over seeds.'
      : 'One value per run (no seeds to average over).',
    spec: barChart({
      rows,
      category: 'metric',
      group: 'entry',
      value: 'value',
      error: 'std',
      valueTitle: 'value',
      categoryTitle: 'task/metric',
    }),
  };
}

/**
 * The entries on two metrics, the Pareto-optimal ones joined: `x` and `y` are column keys. Entries without both
 * values are left out (said in the caption).
 */
export function tradeOffFigure(
  entries: readonly ComparedEntry[],
  x: ComparedColumn,
  y: ComparedColumn,
  prefix: string,
): Figure {
  const present = entries.filter(
    (e) => Number.isFinite(e.metrics[x.key]?.mean) && Number.isFinite(e.metrics[y.key]?.mean),
  );
  const points = present.map((e) => [e.metrics[x.key]!.mean, e.metrics[y.key]!.mean]);
  const computed = paretoOptimal(points, [x.higherIsBetter, y.higherIsBetter]);
  const rows = present.map((e, i) => ({
    label: e.label,
    x: e.metrics[x.key]!.mean,
    y: e.metrics[y.key]!.mean,
    front: computed[i] === true,
  }));
  const left = entries.length - present.length;
  return {
    id: figureId(prefix, 'trade-off'),
    title: `Trade-off: ${x.key} against ${y.key}`,
    caption:
      `One point per ${entries.length === 1 ? 'entry' : 'configuration or run'}; the line joins the Pareto-optimal ` +
      `ones on these two metrics (${x.higherIsBetter ? 'higher' : 'lower'} ${x.key} and ` +
      `${y.higherIsBetter ? 'higher' : 'lower'} ${y.key} are better). ` +
      `${PARETO_RULE.charAt(0).toUpperCase()}${PARETO_RULE.slice(1)}.` +
      (left > 0 ? ` ${left} left out: a value is missing.` : ''),
    spec: paretoScatter({ rows, x: 'x', y: 'y', label: 'label', front: 'front', xTitle: x.key, yTitle: y.key }),
  };
}

/** Successive halving: each configuration's value at each rung it reached, the promoted ones filled. */
export function halvingLadder(halving: HalvingRecord, prefix: string): Figure | undefined {
  const rows = halving.rungs.flatMap((rung) =>
    rung.configurations
      .filter((c) => c.value !== undefined && Number.isFinite(c.value))
      .map((c) => ({
        epochs: rung.epochs,
        configuration: `#${c.configuration}`,
        value: c.value as number,
        promoted: c.promoted,
      })),
  );
  if (rows.length === 0) return undefined;
  const x = {
    field: 'epochs',
    type: 'quantitative' as const,
    title: 'epochs (rung budget)',
    scale: { type: 'log' as const, base: halving.eta },
  };
  const y = { field: 'value', type: 'quantitative' as const, title: halving.metric, scale: { zero: false } };
  const spec: TopLevelSpec = {
    data: { values: rows },
    width: 360,
    height: 240,
    layer: [
      { mark: { type: 'line', opacity: 0.5 }, encoding: { x, y, detail: { field: 'configuration', type: 'nominal' } } },
      {
        mark: { type: 'point', size: 50 },
        encoding: {
          x,
          y,
          shape: { field: 'promoted', type: 'nominal', title: 'promoted' },
          color: { field: 'promoted', type: 'nominal', title: 'promoted' },
          tooltip: [{ field: 'configuration' }, { field: 'epochs' }, { field: 'value', format: '.4f' }],
        },
      },
    ],
  };
  return {
    id: figureId(prefix, 'halving-ladder'),
    title: 'Successive halving: the promotion ladder',
    caption:
      `Each configuration's mean val ${halving.metric} at each rung it finished (η = ${halving.eta}, budgets ` +
      `${halving.plan.map((p) => p.epochs).join(', ')} epochs). ${halving.rule}`,
    spec,
  };
}
