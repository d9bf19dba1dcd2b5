import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { UsageError } from '../../errors.js';
import type { Column } from '../types.js';
import { datasetPath } from '../../util/paths.js';
import type { Rng } from '../../util/rng.js';

/** Reads a text file shipped under datasets/, gunzipping it when its name ends in `.gz`. */
export async function readShippedText(...parts: string[]): Promise<string> {
  const file = datasetPath(...parts);
  const bytes = await readFile(file);
  const raw = file.endsWith('.gz') ? gunzipSync(bytes) : bytes;
  return raw.toString('utf8');
}

/**
 * Parses a plain comma-separated file as shipped here (no quoting, no embedded commas: the shipped files are
 * written that way on purpose). Returns the header (or null) and the rows as string arrays; empty lines are skipped.
 */
export function parseSimpleCsv(text: string, hasHeader: boolean): { header: string[] | null; rows: string[][] } {
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  const header = hasHeader ? (lines.shift() ?? '').split(',') : null;
  const rows = lines.map((l) => l.split(','));
  return { header, rows };
}

/** A numeric column from a list of values. */
export function numericColumn(name: string, values: ArrayLike<number>): Column {
  return { kind: 'numeric', name, values: Float64Array.from(values) };
}

/** A categorical column from a list of values. */
export function categoricalColumn(name: string, values: string[]): Column {
  return { kind: 'categorical', name, values };
}

interface PropertySchema {
  type?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMaximum?: number;
  enum?: unknown[];
}

/**
 * Fills defaults and checks `options` against a built-in dataset's (flat) optionsSchema. The config module already
 * validates with ajv; this repeats the check so that `load()` called directly (tests, library users) is just as safe.
 */
export function resolveOptions(
  datasetName: string,
  schema: Record<string, unknown>,
  options: Record<string, unknown>,
): Record<string, unknown> {
  const properties = (schema['properties'] ?? {}) as Record<string, PropertySchema>;
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(options)) {
    if (!(key in properties)) problems.push(`unknown option "${key}" (known: ${Object.keys(properties).join(', ')})`);
  }
  for (const [key, prop] of Object.entries(properties)) {
    const value = key in options && options[key] !== undefined ? options[key] : prop.default;
    if (value === undefined) continue;
    if (prop.type === 'integer' || prop.type === 'number') {
      if (
        typeof value !== 'number' ||
        !Number.isFinite(value) ||
        (prop.type === 'integer' && !Number.isInteger(value))
      ) {
        problems.push(`option "${key}" must be ${prop.type === 'integer' ? 'an integer' : 'a number'}`);
        continue;
      }
      if (prop.minimum !== undefined && value < prop.minimum)
        problems.push(`option "${key}" must be >= ${prop.minimum}`);
      if (prop.maximum !== undefined && value > prop.maximum)
        problems.push(`option "${key}" must be <= ${prop.maximum}`);
      if (prop.exclusiveMaximum !== undefined && value >= prop.exclusiveMaximum) {
        problems.push(`option "${key}" must be < ${prop.exclusiveMaximum}`);
      }
    } else if (prop.type === 'string' && typeof value !== 'string') {
      problems.push(`option "${key}" must be a string`);
    } else if (prop.type === 'boolean' && typeof value !== 'boolean') {
      problems.push(`option "${key}" must be true or false`);
    }
    if (prop.enum !== undefined && !prop.enum.includes(value)) {
      problems.push(`option "${key}" must be one of ${prop.enum.map((v) => JSON.stringify(v)).join(', ')}`);
    }
    out[key] = value;
  }
  if (problems.length > 0) throw new UsageError(`invalid data.options for built-in dataset ${datasetName}`, problems);
  return out;
}

/** Number of source rows (or groups) that go to val and test: round(n·fraction) each, the rest to train. */
function splitCounts(n: number, valFraction: number, testFraction: number): { val: number; test: number } {
  const test = Math.round(n * testFraction);
  const val = Math.min(n - test, Math.round(n * valFraction));
  return { val, test };
}

/**
 * A 'train' | 'val' | 'test' label per row from a seeded permutation: the first round(n·test) rows of the
 * permutation are test, the next round(n·val) val, the rest train.
 */
export function randomSplit(n: number, rng: Rng, valFraction: number, testFraction: number): string[] {
  const { val, test } = splitCounts(n, valFraction, testFraction);
  const perm = rng.permutation(n);
  const out = new Array<string>(n).fill('train');
  for (let k = 0; k < test + val; k++) out[perm[k]!] = k < test ? 'test' : 'val';
  return out;
}

/**
 * Like randomSplit, but whole groups (e.g. all recordings of one patient) go to one split: the distinct group keys,
 * sorted, are permuted and cut by the fractions of the number of groups.
 */
export function groupSplit(groups: ArrayLike<number>, rng: Rng, valFraction: number, testFraction: number): string[] {
  const keys = [...new Set(Array.from(groups))].sort((a, b) => a - b);
  const labels = randomSplit(keys.length, rng, valFraction, testFraction);
  const byKey = new Map(keys.map((k, i) => [k, labels[i]!] as const));
  return Array.from(groups, (g) => byKey.get(g) as string);
}
