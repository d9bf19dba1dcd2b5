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
  return path
    .map((segment, i) => (typeof segment === 'number' ? `[${segment}]` : i === 0 ? segment : `.${segment}`))
    .join('');
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
  // JSON has no infinity (`.inf`, `1e400`) or NaN (`.nan`): stringified they would read as null.
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return JSON.stringify(value) ?? String(value);
}

/**
 * Text that YAML read as a number or a boolean (`name: 2024`, `--set name=0x10`, which is 16): how to write it as
 * text, in the file and in a flag.
 */
function textHint(expected: string, value: unknown, path: readonly (string | number)[]): string {
  if (expected !== 'a string' || (typeof value !== 'number' && typeof value !== 'boolean')) return '';
  const key = path[path.length - 1];
  const inFile = typeof key === 'string' ? `${key}: "…"` : '"…"';
  const inFlag = `--set '${pathToString(path)}="…"'`;
  return `; YAML reads unquoted numbers, true and false as such: quote text (${inFile}, or ${inFlag})`;
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
 * `oneOf`) is dropped in favour of one message per place. With the schema the errors came from (`rootSchema`), a key
 * that the chosen branch of a discriminated section refuses but another branch accepts (`model.experts` on
 * hard-sharing, `strategy.c` under equal) is reported as an option of those branches rather than as unknown.
 */
export function problemsFromAjv(errors: readonly ErrorObject[], rootSchema?: object): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  // A value that is neither of the type nor one of the listed values is one mistake: the list says what to write.
  const typeProblems = new Set<ConfigProblem>();
  const enumPaths = new Set<string>();
  const add = (problem: ConfigProblem): void => {
    const key = `${pathToString(problem.path)}|${problem.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      problems.push(problem);
    }
  };
  const describe = (error: ErrorObject, insideChosenBranch: boolean): void => {
    // Errors inside a oneOf branch describe an alternative the user did not choose, and the oneOf message says it
    // better, unless the value clearly took that branch (see chosenBranchErrors).
    if (!insideChosenBranch && error.schemaPath.includes('/oneOf/')) return;
    const path = parsePointer(error.instancePath);
    const params = error.params as Record<string, unknown>;
    switch (error.keyword) {
      case 'if':
      case 'allOf':
      case 'anyOf':
        break;
      case 'oneOf': {
        const inner = chosenBranchErrors(error, errors);
        if (inner.length > 0) for (const e of inner) describe(e, true);
        else add({ path, message: oneOfMessage(path) });
        break;
      }
      case 'required':
        add({ path, message: `missing required field "${String(params['missingProperty'])}"` });
        break;
      case 'additionalProperties': {
        const key = String(params['additionalProperty']);
        const known = Object.keys(
          ((error.parentSchema as Record<string, unknown> | undefined)?.['properties'] as Record<string, unknown>) ??
            {},
        );
        const elsewhere = rootSchema ? otherBranchesWithKey(error, key, rootSchema) : undefined;
        if (elsewhere) {
          const field = pathToString([...path, elsewhere.discriminator]);
          const [only, ...more] = elsewhere.values;
          const readers = more.length === 0 ? `"${only}"` : `one of ${elsewhere.values.join(', ')}`;
          add({
            path: [...path, key],
            atKey: true,
            message:
              `"${key}" has no effect when ${field} is "${elsewhere.chosen}"; it is read only when ${field} is ` +
              `${readers}. Choose ${more.length === 0 ? 'that' : 'one of those'}, or remove "${key}".`,
          });
          break;
        }
        const hint = suggest(key, known);
        add({
          path: [...path, key],
          atKey: true,
          message:
            `unknown field "${key}"${hint ? `; did you mean "${hint}"?` : '.'}` +
            `${known.length ? ` Allowed here: ${known.join(', ')}.` : ''}`,
        });
        break;
      }
      case 'enum': {
        const allowed = (params['allowedValues'] as unknown[]).map(String);
        const hint = typeof error.data === 'string' ? suggest(error.data, allowed) : undefined;
        enumPaths.add(pathToString(path));
        add({
          path,
          message:
            `${describeValue(error.data)} is not allowed${hint ? `; did you mean "${hint}"?` : '.'} Expected ` +
            `one of: ${allowed.join(', ')}.`,
        });
        break;
      }
      case 'const':
        break;
      case 'type': {
        // A value YAML reads as a number but JSON cannot hold (Infinity, NaN): the number wanted is a finite one.
        const finite = typeof error.data === 'number' && !Number.isFinite(error.data) ? 'finite ' : '';
        const expected = String(params['type'])
          .split(',')
          .map((t) =>
            t === 'number' || t === 'integer' ? `a ${finite}${humanType[t]?.slice(2)}` : (humanType[t] ?? t),
          )
          .join(' or ');
        const problem = {
          path,
          message: `expected ${expected}, got ${describeValue(error.data)}${textHint(expected, error.data, path)}`,
        };
        typeProblems.add(problem);
        add(problem);
        break;
      }
      case 'uniqueItems': {
        // The two equal entries, counted from 0 as in the field paths (`seeds[1]`).
        const [i, j] = [Number(params['i']), Number(params['j'])];
        const [first, second] = [Math.min(i, j), Math.max(i, j)];
        const value = Array.isArray(error.data) ? describeValue(error.data[second]) : 'a value';
        add({ path, message: `${value} is listed twice (entries ${first} and ${second}); list each value once` });
        break;
      }
      case 'minItems':
        if (Array.isArray(error.data) && error.data.length === 0) {
          add({ path, message: 'is an empty list; give at least one entry, or remove the field' });
          break;
        }
        add({ path, message: `${error.message ?? 'is invalid'} (got ${describeValue(error.data)})` });
        break;
      default:
        add({ path, message: `${error.message ?? 'is invalid'} (got ${describeValue(error.data)})` });
    }
  };
  for (const error of errors) describe(error, false);
  return problems.filter((p) => !(typeProblems.has(p) && enumPaths.has(pathToString(p.path))));
}

/**
 * The errors of the oneOf branch a value clearly took: the one branch whose required fields are all present (e.g.
 * `split: { train: 0.8, val: 0.2, test: 0 }` took the fractions branch, so "test must be > 0" is the useful message,
 * not "expected a column or fractions"); else, where one branch is a mapping and one is not, the one of the
 * value's kind. Empty when no branch or several qualify.
 */
function chosenBranchErrors(oneOf: ErrorObject, all: readonly ErrorObject[]): ErrorObject[] {
  const branches = oneOf.schema as Array<{ required?: string[]; type?: unknown }> | undefined;
  const value = oneOf.data;
  if (!Array.isArray(branches)) return [];
  const isMapping = value !== null && typeof value === 'object' && !Array.isArray(value);
  // A name-or-mapping field (`backend: wasm` or `backend: { … }`): the value's kind picks the branch.
  const sameKind = branches.map((b, i) => ((b.type === 'object') === isMapping ? i : -1)).filter((i) => i >= 0);
  const byKind = branches.some((b) => b.type === 'object') && sameKind.length === 1 ? sameKind : [];
  const keys = new Set(isMapping ? Object.keys(value) : []);
  const byRequired = branches
    .map((b, i) => ((b.required ?? []).length > 0 && (b.required ?? []).every((k) => keys.has(k)) ? i : -1))
    .filter((i) => i >= 0);
  const taken = byRequired.length > 0 ? byRequired : byKind;
  if (taken.length !== 1) return [];
  const prefix = `${oneOf.schemaPath}/${taken[0]}/`;
  return all.filter((e) => e.schemaPath.startsWith(prefix) && !e.schemaPath.slice(prefix.length).includes('/oneOf/'));
}

function oneOfMessage(path: readonly (string | number)[]): string {
  const where = path[path.length - 1];
  if (where === 'data') return 'expected either "dataset: <built-in name>" or "csv: <file path>" (exactly one of them)';
  if (where === 'split') return 'expected either "column: <split column>" or fractions "train", "val", "test"';
  return 'expected either one form or the other of this field, not both or neither';
}

/** A section told apart by one key: `allOf: [{ if: { properties: { <key>: { const: X } } }, then: {…} }, …]`. */
interface DiscriminatedBranch {
  if?: { properties?: Record<string, { const?: unknown }> };
  then?: { properties?: Record<string, unknown> };
}

/**
 * For a key that the chosen `then` branch of a discriminated section refuses: the discriminator, the value chosen
 * and the values whose branches accept the key; undefined when the key belongs to no other branch.
 */
function otherBranchesWithKey(
  error: ErrorObject,
  key: string,
  rootSchema: object,
): { discriminator: string; chosen: string; values: string[] } | undefined {
  const match = /^#(.*)\/allOf\/(\d+)\/then\/additionalProperties$/.exec(error.schemaPath);
  if (!match) return undefined;
  const section = schemaAt(rootSchema, match[1] ?? '');
  const branches = section?.['allOf'];
  if (!Array.isArray(branches)) return undefined;
  const chosenBranch = branches[Number(match[2])] as DiscriminatedBranch | undefined;
  const discriminator = Object.keys(chosenBranch?.if?.properties ?? {})[0];
  if (discriminator === undefined) return undefined;
  const values = (branches as DiscriminatedBranch[])
    .filter((branch) => branch !== chosenBranch && branch.then?.properties?.[key] !== undefined)
    .map((branch) => String(branch.if?.properties?.[discriminator]?.const));
  if (values.length === 0) return undefined;
  const chosen = String(chosenBranch?.if?.properties?.[discriminator]?.const);
  return { discriminator, chosen, values };
}

/** The schema node at a JSON pointer (`/properties/model`), or undefined. */
function schemaAt(root: object, pointer: string): Record<string, unknown> | undefined {
  let node: unknown = root;
  for (const segment of parsePointer(pointer)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[segment];
  }
  return node !== null && typeof node === 'object' ? (node as Record<string, unknown>) : undefined;
}
