import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import { UsageError } from '../errors.js';
import type { Column, DataTable } from './types.js';

/** Cell texts read as a missing value. */
const MISSING = new Set(['', 'na', 'nan', 'null', 'none', '?']);
export function isMissingText(text: string): boolean {
  return MISSING.has(text.trim().toLowerCase());
}

/**
 * Streams a CSV with a header row into a typed table. A column is numeric when every non-missing cell parses as a
 * number; otherwise categorical. Errors name the file, the line and the column.
 */
export async function readCsv(file: string, displayName: string = file): Promise<DataTable> {
  let header: string[] | undefined;
  const cells: string[][] = [];
  const source = createReadStream(file);
  const parser = source.pipe(
    parse({ bom: true, trim: true, skip_empty_lines: true, relax_column_count: false, info: true }),
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
      record.record.forEach((value, c) => cells[c]?.push(value));
    }
  } catch (error) {
    throw csvError(error, displayName, header);
  }
  if (!header) throw new UsageError(`${displayName}: the file is empty; expected a header row with column names.`);
  const rowCount = cells[0]?.length ?? 0;
  if (rowCount === 0)
    throw new UsageError(`${displayName}: has a header but no data rows; add one row per example below the header.`);
  const columns: Column[] = header.map((name, c) => toColumn(name, cells[c] ?? []));
  return { source: displayName, rowCount, columns };
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

function toColumn(name: string, texts: string[]): Column {
  const values = new Float64Array(texts.length);
  for (let i = 0; i < texts.length; i++) {
    const text = texts[i]!;
    if (isMissingText(text)) {
      values[i] = NaN;
      continue;
    }
    const number = Number(text);
    if (!Number.isFinite(number))
      return { kind: 'categorical', name, values: texts.map((t) => (isMissingText(t) ? '' : t)) };
    values[i] = number;
  }
  return { kind: 'numeric', name, values };
}

function csvError(error: unknown, displayName: string, header: string[] | undefined): UsageError {
  // The header check's own error, thrown while the parser streams: already says what is wrong.
  if (error instanceof UsageError) return error;
  const e = error as { code?: string; message?: string; lines?: number; record?: string[] };
  if (e.code === 'ENOENT') return new UsageError(`CSV file not found: ${displayName}`);
  if (e.code === 'EISDIR') return new UsageError(`${displayName} is a folder, not a CSV file.`);
  if (e.code === 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH' || e.code === 'CSV_RECORD_DONT_MATCH_COLUMNS_LENGTH') {
    const got = e.record?.length;
    return new UsageError(
      `${displayName}:${e.lines ?? '?'}: row has ${got ?? 'a different number of'} fields but the header has ` +
        `${header?.length ?? '?'} columns` +
        `${header ? ` (${header.join(', ')})` : ''}. Check for a missing or extra comma, or quote fields that ` +
        `contain commas.`,
    );
  }
  if (e.code?.startsWith('CSV_')) {
    return new UsageError(`${displayName}:${e.lines ?? '?'}: malformed CSV: ${e.message ?? e.code}`);
  }
  return new UsageError(`Cannot read ${displayName}: ${e.message ?? String(error)}`);
}
