import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import type { MetricValues } from '../metrics/types.js';

const DAMAGED = 'the file is not as mtl wrote it; restore it from a backup, or delete the run and train it again';

/** Reads and parses a JSON file; a missing or unparsable file is a UsageError naming it. */
export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? error.code : undefined;
    throw new UsageError(
      code === 'ENOENT'
        ? `${file} is missing.`
        : `Cannot read ${file}: ${String(error instanceof Error ? error.message : error)}`,
    );
  }
  return parseJson(text, file);
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${where} is not valid JSON (${error instanceof Error ? error.message : String(error)}).`, [
      DAMAGED,
    ]);
  }
}

/** The non-empty lines of a JSON-lines file, each parsed and required to be an object. */
export function readJsonLines(file: string): JsonFields[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`Cannot read ${file}: ${String(error instanceof Error ? error.message : error)}`);
  }
  const records: JsonFields[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${file}: line ${i + 1}`;
    records.push(JsonFields.of(parseJson(line, where), where));
  });
  return records;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string')
    return `the text ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * An object read from a run file, with accessors that check each field's type as it is read: a wrong or missing
 * value is a UsageError naming the file, the field, what was expected and what is there (never a TypeError later).
 */
export class JsonFields {
  private constructor(
    readonly file: string,
    /** Where this object sits in the file (`versions`, `line 3`), empty at the top. */
    readonly at: string,
    readonly value: Readonly<Record<string, unknown>>,
  ) {}

  static of(value: unknown, file: string, at = ''): JsonFields {
    if (!isObject(value)) throw problem(file, at, 'an object', value);
    return new JsonFields(file, at, value);
  }

  static read(file: string): JsonFields {
    return JsonFields.of(readJsonFile(file), file);
  }

  has(key: string): boolean {
    return this.value[key] !== undefined;
  }

  problem(key: string, expected: string): UsageError {
    return problem(this.file, this.field(key), expected, this.value[key]);
  }

  string(key: string): string {
    const value = this.value[key];
    if (typeof value !== 'string') throw this.problem(key, 'a text');
    return value;
  }

  optionalString(key: string): string | undefined {
    return this.has(key) ? this.string(key) : undefined;
  }

  number(key: string): number {
    const value = this.value[key];
    if (typeof value !== 'number') throw this.problem(key, 'a number');
    return value;
  }

  optionalNumber(key: string): number | undefined {
    return this.has(key) ? this.number(key) : undefined;
  }

  boolean(key: string): boolean {
    const value = this.value[key];
    if (typeof value !== 'boolean') throw this.problem(key, 'true or false');
    return value;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[]): T {
    const value = this.value[key];
    const found = allowed.find((a) => a === value);
    if (found === undefined) throw this.problem(key, `one of ${allowed.join(', ')}`);
    return found;
  }

  array(key: string): unknown[] {
    const value = this.value[key];
    if (!Array.isArray(value)) throw this.problem(key, 'a list');
    return value;
  }

  strings(key: string): string[] {
    return this.array(key).map((item, i) => {
      if (typeof item !== 'string') throw problem(this.file, `${this.field(key)}[${i}]`, 'a text', item);
      return item;
    });
  }

  numbers(key: string): number[] {
    return this.array(key).map((item, i) => {
      if (typeof item !== 'number') throw problem(this.file, `${this.field(key)}[${i}]`, 'a number', item);
      return item;
    });
  }

  object(key: string): JsonFields {
    return JsonFields.of(this.value[key], this.file, this.field(key));
  }

  optionalObject(key: string): JsonFields | undefined {
    return this.has(key) ? this.object(key) : undefined;
  }

  objects(key: string): JsonFields[] {
    return this.array(key).map((item, i) => JsonFields.of(item, this.file, `${this.field(key)}[${i}]`));
  }

  /** Every value of this object as a number. */
  numberValues(): Record<string, number> {
    return Object.fromEntries(Object.keys(this.value).map((key) => [key, this.number(key)]));
  }

  /** Every value of this object as true or false. */
  booleanValues(): Record<string, boolean> {
    return Object.fromEntries(Object.keys(this.value).map((key) => [key, this.boolean(key)]));
  }

  /**
   * A number where JSON may hold null: JSON has no NaN or ±Infinity, JSON.stringify writes them as null, so null
   * reads back as NaN (a non-finite value, e.g. the loss of a diverged run), never as 0.
   */
  numberOrNaN(key: string): number {
    const value = this.value[key];
    if (value === null) return NaN;
    if (typeof value !== 'number') throw this.problem(key, 'a number or null');
    return value;
  }

  /** Every value of this object as {@link numberOrNaN}. */
  numbersOrNaN(): Record<string, number> {
    return Object.fromEntries(Object.keys(this.value).map((key) => [key, this.numberOrNaN(key)]));
  }

  /** Metric values by key (null: a non-finite value, read as NaN). */
  metricValues(key: string): MetricValues {
    return this.object(key).numbersOrNaN();
  }

  private field(key: string): string {
    return this.at ? `${this.at}.${key}` : key;
  }
}

function problem(file: string, field: string, expected: string, found: unknown): UsageError {
  const where = field ? `${file}: ${field}` : file;
  return new UsageError(`${where} should be ${expected}, but it is ${describe(found)}.`, [DAMAGED]);
}
