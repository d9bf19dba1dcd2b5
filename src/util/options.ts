/**
 * Typed reading of method options (architectures, strategies, gradient combiners). A config's options were checked
 * and defaulted by the JSON Schema already; these readers give them their types and check them once more for the
 * callers that bypass the schema (library calls such as `combineGradients`, tests), with one kind of error.
 *
 * Each reader takes the option's path as a user writes it in a config (`strategy.beta`, `model.experts`); the last
 * segment is the key read from `options`. A missing option (undefined) takes the fallback.
 */
import { UsageError } from '../errors.js';

export type Options = Readonly<Record<string, unknown>>;

/** A wrong option value: names the option, what was expected and what was given. */
export class OptionError extends UsageError {
  /** The option's path in a config, e.g. ['strategy', 'beta']. */
  readonly path: readonly string[];
  /** "expected …, got …". */
  readonly problem: string;

  constructor(path: string, expected: string, given: unknown) {
    const problem = `expected ${expected}, got ${shown(given)}`;
    super(`${path}: ${problem}.`);
    this.name = 'OptionError';
    this.path = path.split('.');
    this.problem = problem;
  }
}

/** Bounds of a numeric option, as in JSON Schema. */
export interface NumberRange {
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
}

export function numberOption(options: Options, path: string, fallback: number, range: NumberRange = {}): number {
  const value = valueAt(options, path) ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || !inRange(value, range)) {
    throw new OptionError(path, `a number${rangeText(range)}`, value);
  }
  return value;
}

export function integerOption(options: Options, path: string, fallback: number, range: NumberRange = {}): number {
  const value = valueAt(options, path) ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || !inRange(value, range)) {
    throw new OptionError(path, `a whole number${rangeText(range)}`, value);
  }
  return value;
}

export function stringOption(options: Options, path: string, fallback: string): string {
  const value = valueAt(options, path) ?? fallback;
  if (typeof value !== 'string') throw new OptionError(path, 'a string', value);
  return value;
}

export function enumOption<T extends string | number>(
  options: Options,
  path: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const value = valueAt(options, path) ?? fallback;
  const match = allowed.find((a) => a === value);
  if (match === undefined)
    throw new OptionError(path, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, value);
  return match;
}

/**
 * A list of numbers, one per task when `length` is given; null when the option is null or missing (the methods
 * whose list is optional then use their default).
 */
export function numberListOption(
  options: Options,
  path: string,
  rule: NumberRange & { length?: number } = {},
): number[] | null {
  const value = valueAt(options, path);
  if (value === undefined || value === null) return null;
  const { length, ...range } = rule;
  const ok =
    Array.isArray(value) &&
    (length === undefined || value.length === length) &&
    value.every((v: unknown) => typeof v === 'number' && Number.isFinite(v) && inRange(v, range));
  if (!ok) {
    const count = length === undefined ? 'a list of numbers' : `a list of ${length} numbers (one per task)`;
    throw new OptionError(path, `${count}${rangeText(range)}, or null`, value);
  }
  return [...(value as number[])];
}

/** A mapping of names (e.g. task names) to numbers. */
export function numberMapOption(options: Options, path: string, range: NumberRange = {}): Record<string, number> {
  const value = valueAt(options, path) ?? {};
  const ok =
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v: unknown) => typeof v === 'number' && Number.isFinite(v) && inRange(v, range));
  if (!ok) throw new OptionError(path, `a mapping of names to numbers${rangeText(range)}`, value);
  return { ...(value as Record<string, number>) };
}

/** An option problem for validation, at the option's path in the config (the shape of a config problem). */
export interface OptionProblem {
  path: (string | number)[];
  message: string;
}

/**
 * Runs option readers for validation: the OptionErrors they throw become config problems at the option's path, so
 * `mtl validate` reports them with a file position.
 */
export function optionProblems(read: () => void): OptionProblem[] {
  try {
    read();
    return [];
  } catch (error) {
    if (error instanceof OptionError) return [{ path: [...error.path], message: error.problem }];
    throw error;
  }
}

function valueAt(options: Options, path: string): unknown {
  return options[path.slice(path.lastIndexOf('.') + 1)];
}

function inRange(value: number, range: NumberRange): boolean {
  return (
    (range.minimum === undefined || value >= range.minimum) &&
    (range.maximum === undefined || value <= range.maximum) &&
    (range.exclusiveMinimum === undefined || value > range.exclusiveMinimum) &&
    (range.exclusiveMaximum === undefined || value < range.exclusiveMaximum)
  );
}

function rangeText(range: NumberRange): string {
  const parts = [
    range.minimum === undefined ? undefined : `≥ ${range.minimum}`,
    range.exclusiveMinimum === undefined ? undefined : `> ${range.exclusiveMinimum}`,
    range.maximum === undefined ? undefined : `≤ ${range.maximum}`,
    range.exclusiveMaximum === undefined ? undefined : `< ${range.exclusiveMaximum}`,
  ].filter((part) => part !== undefined);
  return parts.length === 0 ? '' : ` ${parts.join(' and ')}`;
}

function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'number') return String(value);
  return JSON.stringify(value) ?? String(value);
}
