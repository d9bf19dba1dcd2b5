/** Colour only for people: never when stdout/stderr is not a TTY, with NO_COLOR, or in --json output. */
export function useColor(stream: NodeJS.WriteStream = process.stderr): boolean {
  return Boolean(stream.isTTY) && process.env['NO_COLOR'] === undefined && process.env['TERM'] !== 'dumb';
}

export function paint(text: string, code: number, stream: NodeJS.WriteStream = process.stdout): string {
  return useColor(stream) ? `\u001b[${code}m${text}\u001b[0m` : text;
}

/** Data goes to stdout. */
export function out(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** Logs, progress and warnings go to stderr. */
export function log(line = ''): void {
  process.stderr.write(`${line}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(
    `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`,
  );
}

export function formatNumber(value: number | undefined, digits = 4): string {
  if (value === undefined || Number.isNaN(value)) return '—';
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs >= 1e5 || abs < 1e-3)) return value.toExponential(2);
  return value.toFixed(digits);
}

/**
 * An integer with its thousands grouped by commas (12,345), as `toLocaleString('en-US')` writes it without loading
 * ICU's locale data (~30 ms of the first call, in every `mtl train`).
 */
export function formatCount(value: number): string {
  if (!Number.isSafeInteger(value)) return String(value);
  const digits = String(Math.abs(value));
  const grouped = digits.replace(/\B(?=(\d{3})+$)/g, ',');
  return value < 0 ? `-${grouped}` : grouped;
}

export function formatPercent(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  return `${value >= 0 ? '+' : ''}${(value * 100).toFixed(2)}%`;
}

/** How a table marks its best cells: nothing (not a terminal: scripts read it), colour, or a sign (NO_COLOR). */
export type BestMark = 'none' | 'colour' | 'sign';

/** On a terminal the best values are marked: bold green where colour is allowed, else a trailing ◂. */
export function bestMarkFor(stream: NodeJS.WriteStream = process.stdout): BestMark {
  if (!stream.isTTY) return 'none';
  return useColor(stream) ? 'colour' : 'sign';
}

export interface TableOptions {
  /** Per row and column, whether the cell holds a best value (see {@link bestCells}). */
  best?: readonly (readonly boolean[])[];
  mark?: BestMark;
  /** Columns left-aligned even where every cell reads as a number (see {@link numericColumn}). */
  textColumns?: readonly number[];
}

/**
 * A plain aligned text table, best cells marked on a terminal. Text columns are left-aligned, numeric ones
 * right-aligned (so digits line up); the first column, the rows' labels, is always left-aligned.
 */
export function table(header: string[], rows: string[][], options: TableOptions = {}): string {
  const mark = options.best ? (options.mark ?? bestMarkFor()) : 'none';
  const shown = rows.map((r, i) =>
    r.map((cell, c) => (mark === 'sign' && options.best?.[i]?.[c] === true ? `${cell} ◂` : cell)),
  );
  const widths = header.map((h, c) => Math.max(h.length, ...shown.map((r) => (r[c] ?? '').length)));
  const right = header.map(
    (_h, c) => c > 0 && options.textColumns?.includes(c) !== true && numericColumn(rows.map((r) => r[c] ?? '')),
  );
  const line = (cells: string[], rowIndex?: number): string =>
    cells
      .map((cell, c) => {
        const padded = right[c] === true ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0);
        const best = rowIndex !== undefined && options.best?.[rowIndex]?.[c] === true;
        return best && mark === 'colour' ? `\u001b[1;32m${padded}\u001b[0m` : padded;
      })
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...shown.map((r, i) => line(r, i))].join('\n');
}

/** A number as {@link formatNumber} and {@link formatPercent} write it (`0.9500`, `1.38e-5`, `+2.10%`, `-<0.01%`). */
const NUMBER = String.raw`(?:[+-]?<?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?%?|[+-]?Infinity|NaN|—|n/a)`;

/**
 * A cell that reads as a number: one or more (`per seed` values), with a spread (`± 0.0146`), a change against a
 * base (`(+0.50%)`) and a p-value (`p=0.186`), each optional, or a test's statistic and p-value (`t=0.54 p=0.646`);
 * `—` and `n/a` stand for a missing number.
 */
const NUMERIC_CELL = new RegExp(
  String.raw`^(?:t=${NUMBER}|${NUMBER}(?: ${NUMBER})*(?: ± ${NUMBER})?(?: \(${NUMBER}\))?)(?: p=${NUMBER})?$`,
);

/** Cells that say nothing of their column's kind: empty, `-` (none) and `?` (unknown: a damaged run's). */
const NEUTRAL_CELLS = new Set(['', '-', '?']);

/** Whether a column holds numbers: every cell reads as one (or is neutral), and some cell has a digit. */
function numericColumn(cells: readonly string[]): boolean {
  const telling = cells.filter((cell) => !NEUTRAL_CELLS.has(cell));
  return telling.some((cell) => /\d/.test(cell)) && telling.every((cell) => NUMERIC_CELL.test(cell));
}

/**
 * Which of `values` are best, by direction: the cells equal to the best finite value (ties all marked); none when
 * fewer than two values are finite (nothing to compare).
 */
export function bestCells(values: readonly (number | undefined)[], higherIsBetter: boolean): boolean[] {
  const finite = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  if (finite.length < 2) return values.map(() => false);
  const best = higherIsBetter ? Math.max(...finite) : Math.min(...finite);
  return values.map((v) => v === best);
}

const SPARKS = '▁▂▃▄▅▆▇█';

/** A one-line sparkline of a series (non-finite values as spaces), scaled between its own min and max. */
export function sparkline(values: readonly number[]): string {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return '';
  const low = Math.min(...finite);
  const span = Math.max(...finite) - low;
  return values
    .map((v) => {
      if (!Number.isFinite(v)) return ' ';
      const level = span === 0 ? 3 : Math.round(((v - low) / span) * (SPARKS.length - 1));
      return SPARKS[level] ?? ' ';
    })
    .join('');
}

/** `mean ± std` (one seed: the mean alone). */
export function formatSeries(stat: { mean: number; std: number; n: number }, percent = false): string {
  const show = (v: number): string => (percent ? formatPercent(v) : formatNumber(v));
  if (stat.n === 0) return '—';
  if (stat.n === 1 || Number.isNaN(stat.std)) return show(stat.mean);
  return `${show(stat.mean)} ± ${percent ? `${(stat.std * 100).toFixed(2)}%` : formatNumber(stat.std)}`;
}
