import type { TopLevelSpec } from 'vega-lite';

/**
 * The chart forms a report uses, as Vega-Lite specifications with inline data. Each is a plain function of rows, so
 * a figure is restyled by editing its saved `.vl.json`, and tests can count its marks.
 */

const WIDTH = 360;
const HEIGHT = 220;
type Row = Record<string, string | number | boolean | null>;

/** Lines of `y` over `x`, one per value of `series`; optional vertical rules at `marks` (e.g. the best epoch). */
export function lineChart(options: {
  rows: Row[];
  x: string;
  y: string;
  series: string;
  xTitle: string;
  yTitle: string;
  rules?: { x: number; label: string }[];
  yDomain?: [number, number];
  extraLayers?: TopLevelSpec[];
}): TopLevelSpec {
  const { rows, x, y, series, xTitle, yTitle, rules = [], yDomain } = options;
  const yScale = yDomain ? { scale: { domain: yDomain } } : { scale: { zero: false } };
  const lines = {
    data: { values: rows },
    mark: { type: 'line' as const, point: false },
    encoding: {
      x: { field: x, type: 'quantitative' as const, title: xTitle, axis: { tickMinStep: 1 } },
      y: { field: y, type: 'quantitative' as const, title: yTitle, ...yScale },
      color: { field: series, type: 'nominal' as const, title: null },
      tooltip: [{ field: series }, { field: x }, { field: y, format: '.4f' }],
    },
  };
  const ruleLayer = {
    data: { values: rules },
    mark: { type: 'rule' as const, strokeDash: [4, 3], color: '#888' },
    encoding: { x: { field: 'x', type: 'quantitative' as const }, tooltip: [{ field: 'label' }] },
  };
  return {
    width: WIDTH,
    height: HEIGHT,
    layer: rules.length > 0 ? [lines, ruleLayer] : [lines],
  };
}

/** A matrix of cells coloured by `value` (a heatmap), with each value written in its cell when there are few. */
export function heatmap(options: {
  rows: Row[];
  x: string;
  y: string;
  value: string;
  xTitle: string;
  yTitle: string;
  valueTitle: string;
  domain?: [number, number];
  xType?: 'ordinal' | 'nominal';
}): TopLevelSpec {
  const { rows, x, y, value, xTitle, yTitle, valueTitle, domain, xType = 'nominal' } = options;
  const scale = domain ? { domain, scheme: 'redblue' as const } : { scheme: 'viridis' as const };
  const cells = {
    mark: { type: 'rect' as const },
    encoding: {
      x: { field: x, type: xType, title: xTitle, sort: null },
      y: { field: y, type: 'nominal' as const, title: yTitle, sort: null },
      color: { field: value, type: 'quantitative' as const, title: valueTitle, scale },
      tooltip: [{ field: x }, { field: y }, { field: value, format: '.3f' }],
    },
  };
  const labels = {
    mark: { type: 'text' as const, fontSize: 10 },
    encoding: {
      x: { field: x, type: xType, sort: null },
      y: { field: y, type: 'nominal' as const, sort: null },
      text: { field: value, type: 'quantitative' as const, format: '.2f' },
    },
  };
  return {
    data: { values: rows },
    width: { step: 28 },
    height: { step: 24 },
    layer: rows.length <= 64 ? [cells, labels] : [cells],
  };
}

/**
 * Bars of `value` per `category`, grouped by `group` (side by side), with error bars of ±`error` where given (the
 * sample standard deviation over seeds) and a marker on the bars whose `flag` is true (negative transfer).
 */
export function barChart(options: {
  rows: Row[];
  category: string;
  group: string;
  value: string;
  error?: string;
  flag?: string;
  valueTitle: string;
  categoryTitle: string;
}): TopLevelSpec {
  const { rows, category, group, value, error, flag, valueTitle, categoryTitle } = options;
  const x = { field: category, type: 'nominal' as const, title: categoryTitle, sort: null };
  const xOffset = { field: group, type: 'nominal' as const, sort: null };
  const bars = {
    mark: { type: 'bar' as const },
    encoding: {
      x,
      xOffset,
      y: { field: value, type: 'quantitative' as const, title: valueTitle, scale: { zero: false } },
      color: { field: group, type: 'nominal' as const, title: null, sort: null },
      tooltip: [{ field: category }, { field: group }, { field: value, format: '.4f' }],
    },
  };
  const errorLayer = error
    ? {
        transform: [
          { filter: `isValid(datum['${error}'])` },
          { calculate: `datum['${value}'] - datum['${error}']`, as: 'low' },
          { calculate: `datum['${value}'] + datum['${error}']`, as: 'high' },
        ],
        mark: { type: 'rule' as const, color: '#222' },
        encoding: {
          x,
          xOffset,
          y: { field: 'low', type: 'quantitative' as const },
          y2: { field: 'high' },
        },
      }
    : undefined;
  const flagLayer = flag
    ? {
        transform: [{ filter: `datum['${flag}'] === true` }],
        mark: { type: 'text' as const, text: '▼', color: '#c0392b', dy: -8, fontSize: 12 },
        encoding: { x, xOffset, y: { field: value, type: 'quantitative' as const } },
      }
    : undefined;
  return {
    data: { values: rows },
    width: { step: 18 },
    height: HEIGHT,
    layer: [bars, ...(errorLayer ? [errorLayer] : []), ...(flagLayer ? [flagLayer] : [])],
  };
}

/**
 * Points of two metrics (`x`, `y`), one per configuration, with the Pareto-optimal ones joined by a line in order of
 * `x` and drawn filled.
 */
export function paretoScatter(options: {
  rows: Row[];
  x: string;
  y: string;
  label: string;
  front: string;
  xTitle: string;
  yTitle: string;
}): TopLevelSpec {
  const { rows, x, y, label, front, xTitle, yTitle } = options;
  const encodeX = { field: x, type: 'quantitative' as const, title: xTitle, scale: { zero: false } };
  const encodeY = { field: y, type: 'quantitative' as const, title: yTitle, scale: { zero: false } };
  return {
    data: { values: rows },
    width: WIDTH,
    height: HEIGHT + 40,
    layer: [
      {
        mark: { type: 'point' as const, size: 60 },
        encoding: {
          x: encodeX,
          y: encodeY,
          shape: { field: front, type: 'nominal' as const, title: 'Pareto-optimal' },
          color: { field: front, type: 'nominal' as const, title: 'Pareto-optimal' },
          tooltip: [{ field: label }, { field: x, format: '.4f' }, { field: y, format: '.4f' }],
        },
      },
      {
        transform: [{ filter: `datum['${front}'] === true` }],
        mark: { type: 'line' as const, color: '#c0392b' },
        encoding: { x: encodeX, y: encodeY, order: { field: x, type: 'quantitative' as const } },
      },
    ],
  };
}
