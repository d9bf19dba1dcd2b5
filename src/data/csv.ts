import { createReadStream } from 'node:fs';
import { type CastingContext, parse } from 'csv-parse';
import { UsageError } from '../errors.js';
import { decimal } from '../util/decimal.js';
import { utf8WithLf } from './csv-bytes.js';
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
  const lines: number[] = [];
  const ragged: { line: number; fields: number }[] = [];
  let raggedCount = 0;
  // Row lengths are checked here rather than by the parser: the parser reads ahead of this loop, so its own error
  // can come before the header is known, and it stops at the first bad row.
  const source = createReadStream(file);
  const bytes = utf8WithLf(file, displayName);
  const read: ReadState = { end: 0, empty: 0 };
  const parser = source.pipe(bytes).pipe(
    parse({
      bom: true,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true,
      record_delimiter: '\n',
      // Runs as the parser emits each record, before it reads further, so that `read` is exact when it fails.
      on_record: (fields: string[], context: CastingContext): ParsedRecord => {
        const line = recordStart(read, context);
        read.end = context.lines;
        read.empty = context.empty_lines;
        return { fields, line };
      },
    }),
  );
  // pipe() does not pass errors on (the file missing, a folder, no permission; not UTF-8): unhandled, they end the
  // process.
  source.on('error', (error) => parser.destroy(error));
  bytes.on('error', (error) => parser.destroy(error));
  try {
    for await (const { fields, line } of parser as AsyncIterable<ParsedRecord>) {
      if (!header) {
        header = fields;
        checkHeader(header, displayName, line);
        for (let c = 0; c < header.length; c++) cells.push([]);
        continue;
      }
      if (fields.length !== header.length) {
        raggedCount++;
        if (ragged.length < LISTED_PROBLEMS) ragged.push({ line, fields: fields.length });
        continue;
      }
      fields.forEach((value, c) => cells[c]?.push(value));
      lines.push(line);
    }
  } catch (error) {
    throw csvError(error, displayName, read);
  }
  if (!header) throw new UsageError(`${displayName}: the file is empty; expected a header row with column names.`);
  if (raggedCount > 0) throw raggedRowsError(displayName, header, ragged, raggedCount);
  const rowCount = cells[0]?.length ?? 0;
  if (rowCount === 0)
    throw new UsageError(`${displayName}: has a header but no data rows; add one row per example below the header.`);
  const columns: Column[] = header.map((name, c) => toColumn(name, cells[c] ?? []));
  return { source: displayName, rowCount, columns, lines: Int32Array.from(lines) };
}

interface ParsedRecord {
  fields: string[];
  /** The line of the file where the record starts (a quoted field may span lines). */
  line: number;
}

/** The parser's line counts when it emitted the last record: where the next one starts follows from them. */
interface ReadState {
  /** The line the last record ended on (0 before the first). */
  end: number;
  /** Empty lines skipped so far. */
  empty: number;
}

/**
 * The line where the record the parser is reading starts: after the previous record's last line and the empty lines
 * skipped since. The parser counts the line it is on, which for a whole record is its last line.
 */
function recordStart(read: ReadState, counts: { lines: number; empty_lines: number }): number {
  return read.end + 1 + (counts.empty_lines - read.empty);
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

function checkHeader(header: string[], displayName: string, line: number): void {
  // One column whose name holds semicolons or tabs: a file another separator made (a spreadsheet's locale export);
  // read on, every row would be one text column and the error would be about a missing target.
  const [only] = header;
  const separator = header.length === 1 && only ? [';', '\t'].find((s) => only.includes(s)) : undefined;
  if (separator) {
    const name = separator === ';' ? 'semicolons' : 'tabs';
    throw new UsageError(
      `${displayName}:${line}: the header is one column, ${JSON.stringify(only)}, separated by ${name}: mtl reads ` +
        `comma-separated files. Save the file as CSV with commas (or replace the ${name} with commas).`,
    );
  }
  const seen = new Map<string, number>();
  header.forEach((name, i) => {
    if (name === '')
      throw new UsageError(`${displayName}:${line}: column ${i + 1} has an empty name; every column needs a header.`);
    const before = seen.get(name);
    if (before !== undefined) {
      throw new UsageError(
        `${displayName}:${line}: column name "${name}" appears twice (columns ${before + 1} and ${i + 1}); rename ` +
          `one of them.`,
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
    // "inf", "Infinity" and "0x10" read as NaN, "1e400" as Infinity: none is a value a model can learn from (a
    // hexadecimal cell is a typo or an identifier, not the number Number() would make of it).
    const number = decimal(text);
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

function csvError(error: unknown, displayName: string, read: ReadState): UsageError {
  // The header check's own error, thrown while the parser streams, and the encoding check's: already say what is
  // wrong.
  if (error instanceof UsageError) return error;
  const e = error as { code?: string; message?: string; lines?: number; empty_lines?: number; column?: number };
  if (e.code === 'ENOENT') return new UsageError(`CSV file not found: ${displayName}`);
  if (e.code === 'EISDIR') return new UsageError(`${displayName} is a folder, not a CSV file.`);
  if (!e.code?.startsWith('CSV_') && e.code !== 'INVALID_OPENING_QUOTE') {
    return new UsageError(`Cannot read ${displayName}: ${e.message ?? String(error)}`);
  }
  // The parser names the line it stopped on; the record with the mistake may have started lines before.
  const here = e.lines ?? read.end + 1;
  const start = recordStart(read, { lines: here, empty_lines: e.empty_lines ?? read.empty });
  const field = e.column === undefined ? 'a field' : `field ${e.column + 1}`;
  const doubled = 'write a quote inside a quoted field as two ("")';
  switch (e.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return new UsageError(
        `${displayName}:${start}: a quote opens in this row and is never closed, so the rest of the file (to line ` +
          `${here}) reads as one field. Close the quote, or ${doubled}.`,
      );
    case 'CSV_INVALID_CLOSING_QUOTE':
    case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE': {
      const closed = start === here ? '' : `, opened here and closed on line ${here},`;
      return new UsageError(
        `${displayName}:${start}: the quoted ${field}${closed}` +
          ' is followed by more text before the next comma. Quote the whole field, close the quote where the field' +
          ` ends, or ${doubled}.`,
      );
    }
    case 'INVALID_OPENING_QUOTE':
      return new UsageError(
        `${displayName}:${here}: ${field} holds a quote but does not start with one. Quote the whole field and ` +
          `${doubled}, or remove the quote.`,
      );
    default:
      return new UsageError(`${displayName}:${start}: malformed CSV: ${e.message ?? e.code}`);
  }
}
