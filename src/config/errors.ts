import type { ErrorObject } from 'ajv';
import { suggest } from '../util/suggest.js';

/** One problem in a config, before it is given a file position. */
export interface ConfigProblem {
  path: (string | number)[];
  message: string;
  /** Point at the key itself (unknown keys) rather than its value. */
  atKey?: boolean;
}

export function pathToString(path: readonly (string | number)[]): string {
  if (path.length === 0) return '(top level)';
  return path.map((segment, i) => (typeof segment === 'number' ? `[${segment}]` : i === 0 ? segment : `.${segment}`)).join('');
}

function parsePointer(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return `"${value}"`;
  return JSON.stringify(value) ?? String(value);
}

const humanType: Record<string, string> = {
  integer: 'a whole number',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'a mapping (key: value)',
  array: 'a list',
};

/**
 * Turns ajv's errors into messages people can act on. Branch bookkeeping (`if`, `allOf`, the alternatives inside a
 * `oneOf`) is dropped in favour of one message per place.
 */
export function problemsFromAjv(errors: readonly ErrorObject[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  const add = (problem: ConfigProblem): void => {
    const key = `${pathToString(problem.path)}|${problem.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      problems.push(problem);
    }
  };
  for (const error of errors) {
    // Errors inside a oneOf branch describe one alternative the user did not choose; the oneOf message says it better.
    if (error.schemaPath.includes('/oneOf/')) continue;
    const path = parsePointer(error.instancePath);
    const params = error.params as Record<string, unknown>;
    switch (error.keyword) {
      case 'if':
      case 'allOf':
      case 'anyOf':
        break;
      case 'oneOf':
        add({ path, message: oneOfMessage(path) });
        break;
      case 'required':
        add({ path, message: `missing required field "${String(params['missingProperty'])}"` });
        break;
      case 'additionalProperties': {
        const key = String(params['additionalProperty']);
        const known = Object.keys(
          ((error.parentSchema as Record<string, unknown> | undefined)?.['properties'] as Record<string, unknown>) ?? {},
        );
        const hint = suggest(key, known);
        add({
          path: [...path, key],
          atKey: true,
          message: `unknown field "${key}"${hint ? `; did you mean "${hint}"?` : ''}${known.length ? ` Allowed here: ${known.join(', ')}.` : ''}`,
        });
        break;
      }
      case 'enum': {
        const allowed = (params['allowedValues'] as unknown[]).map(String);
        const hint = typeof error.data === 'string' ? suggest(error.data, allowed) : undefined;
        add({
          path,
          message: `${describeValue(error.data)} is not allowed${hint ? `; did you mean "${hint}"?` : ''} Expected one of: ${allowed.join(', ')}.`,
        });
        break;
      }
      case 'const':
        break;
      case 'type': {
        const expected = String(params['type'])
          .split(',')
          .map((t) => humanType[t] ?? t)
          .join(' or ');
        add({ path, message: `expected ${expected}, got ${describeValue(error.data)}` });
        break;
      }
      default:
        add({ path, message: `${error.message ?? 'is invalid'} (got ${describeValue(error.data)})` });
    }
  }
  return problems;
}

function oneOfMessage(path: readonly (string | number)[]): string {
  const where = path[path.length - 1];
  if (where === 'data') return 'expected either "dataset: <built-in name>" or "csv: <file path>" (exactly one of them)';
  if (where === 'split') return 'expected either "column: <split column>" or fractions "train", "val", "test"';
  return 'expected either one form or the other of this field, not both or neither';
}
