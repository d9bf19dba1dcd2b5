import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import { UsageError } from '../errors.js';
import type { Column, DataTable } from './types.js';

/** Cell texts read as a missing value. */
const MISSING = new Set(['', 'na', 'nan', 'null', 'none', '?']);
export function isMissingText(text: string): boolean {
  return MISSING.has(text.trim().toLowerCase());
}

/** At most this many bad rows or cells are listed in one error; the message says how many there are in all. */
export const LISTED_PROBLEMS = 5;

/**
 * Streams a CSV with a header row into a typed table. A column is numeric when most of its non-missing cells are
 * finite numbers; the few that are not are kept as `unparsed` (see {@link Column}) so that a typo in one cell
 * cannot turn a numeric column into hundreds of one-hot categories. Otherwise the column is text (categorical).
 * Errors name the file, the line and the column.
 */
export async function readCsv(file: string, displayName: string = file): Promise<DataTable> {
  let header: string[] | undefined;
  const cells: string[][] = [];
  const ragged: { line: number; fields: number }[] = [];
  let raggedCount = 0;
  // Row lengths are checked here rather than by the parser: the parser reads ahead of this loop, so its own error
  // can come before the header is known, and it stops at the first bad row.
  const source = createReadStream(file);
  const parser = source.pipe(
    parse({ bom: true, trim: true, skip_empty_lines: true, relax_column_count: true, info: true }),
  );
  // pipe() does not pass on the file's own errors (missing, a folder, no permission): unhandled, they end the process.
  source.on('error', (error) => parser.destroy(error));
  try {
    for await (const record of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (!header) {
        header = record.record;
        checkHeader(header, displayName);
        for (let c = 0; c < header.length; c++) cells.push([]);
        continue;
      }
      if (record.record.length !== header.length) {
        raggedCount++;
        if (ragged.length < LISTED_PROBLEMS) ragged.push({ line: record.info.lines, fields: record.record.length });
        continue;
      }
      record.record.forEach((value, c) => cells[c]?.push(value));
    }
  } catch (error) {
    throw csvError(error, displayName);
  }
  if (!header) throw new UsageError(`${displayName}: the file is empty; expected a header row with column names.`);
  if (raggedCount > 0) throw raggedRowsError(displayName, header, ragged, raggedCount);
  const rowCount = cells[0]?.length ?? 0;
  if (rowCount === 0)
    throw new UsageError(`${displayName}: has a header but no data rows; add one row per example below the header.`);
  const columns: Column[] = header.map((name, c) => toColumn(name, cells[c] ?? []));
  return { source: displayName, rowCount, columns };
}

function raggedRowsError(
  displayName: string,
  header: readonly string[],
  listed: readonly { line: number; fields: number }[],
  count: number,
): UsageError {
  const columns = `${header.length} columns (${header.join(', ')})`;
  const fix = 'Check for a missing or extra comma, or quote fields that contain commas.';
  const [first] = listed;
  if (count === 1 && first) {
    return new UsageError(
      `${displayName}:${first.line}: row has ${first.fields} fields but the header has ${columns}. ${fix}`,
    );
  }
  return new UsageError(`${displayName}: ${count} rows do not have the header's ${columns}. ${fix}`, [
    ...listed.map(({ line, fields }) => `line ${line} has ${fields} fields`),
    ...(count > listed.length ? [`… and ${count - listed.length} more rows`] : []),
  ]);
}

function checkHeader(header: string[], displayName: string): void {
  const seen = new Map<string, number>();
  header.forEach((name, i) => {
    if (name === '')
      throw new UsageError(`${displayName}:1: column ${i + 1} has an empty name; every column needs a header.`);
    const before = seen.get(name);
    if (before !== undefined) {
      throw new UsageError(
        `${displayName}:1: column name "${name}" appears twice (columns ${before + 1} and ${i + 1}); rename one of ` +
          `them.`,
      );
    }
    seen.set(name, i);
  });
}

function toColumn(name: string, texts: readonly string[]): Column {
  const values = new Float64Array(texts.length);
  const unparsed = new Map<number, string>();
  let numbers = 0;
  for (let i = 0; i < texts.length; i++) {
    const text = texts[i]!;
    values[i] = NaN;
    if (isMissingText(text)) continue;
    // Number() reads "inf" as NaN, "Infinity" and "1e400" as ±Infinity: none is a value a model can learn from.
    const number = Number(text);
    if (Number.isFinite(number)) {
      values[i] = number;
      numbers++;
    } else unparsed.set(i, text);
  }
  // Clearly text: no more numbers than other texts (a text column with a few numeric codes stays text). A column
  // with no value at all stays numeric, as it always was.
  if (unparsed.size > 0 && numbers <= unparsed.size) {
    return { kind: 'categorical', name, values: texts.map((t) => (isMissingText(t) ? '' : t)) };
  }
  return unparsed.size > 0 ? { kind: 'numeric', name, values, unparsed } : { kind: 'numeric', name, values };
}

function csvError(error: unknown, displayName: string): UsageError {
  // The header check's own error, thrown while the parser streams: already says what is wrong.
  if (error instanceof UsageError) return error;
  const e = error as { code?: string; message?: string; lines?: number };
  if (e.code === 'ENOENT') return new UsageError(`CSV file not found: ${displayName}`);
  if (e.code === 'EISDIR') return new UsageError(`${displayName} is a folder, not a CSV file.`);
  if (e.code?.startsWith('CSV_')) {
    return new UsageError(`${displayName}:${e.lines ?? '?'}: malformed CSV: ${e.message ?? e.code}`);
  }
  return new UsageError(`Cannot read ${displayName}: ${e.message ?? String(error)}`);
}
