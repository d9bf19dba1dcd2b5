import { markExplicitSplitOf } from './data-source-rules.js';
import path from 'node:path';
import type { ValidateFunction } from 'ajv';
import { isSeq, parse as parseYamlValue, parseDocument, type Document } from 'yaml';
import { UsageError } from '../errors.js';
import { registryGeneration } from '../util/registry.js';
import { buildExperimentSchema } from './schema.js';
import { compileValidator, loadPrecompiledValidator } from './precompiled-validator.js';
import { parseYamlDocument, readUserFile } from './yaml-file.js';
import { LineCounter, positionOf } from './positions.js';
import { pathToString, problemsFromAjv, type ConfigProblem } from './errors.js';
import { applicabilityProblems } from './applicability.js';
import { checkSemantics, markExplicitSplit } from './semantics.js';
import type { BackendChoice, FmaChoice, ResolvedConfig } from './types.js';

export interface LoadedConfig {
  config: ResolvedConfig;
  /** Absolute path of the config file, or undefined for an in-memory config. */
  file: string | undefined;
  /** The config's name in messages (the path as given, as its problems name it); absent: `file`. */
  displayName?: string;
  /** The YAML text as given (stored in the run next to the resolved config). */
  sourceText: string;
  /** The `--set` overrides that were applied, as given. */
  overrides: string[];
  /**
   * Choices that are valid but not what the method's paper does (e.g. an explicit gradient target the paper does not
   * define the method on), located like problems (`file:line:col: field: message`); absent when there are none.
   */
  notes?: string[];
}

let cached: { validate: ValidateFunction; schema: object; generation: number } | undefined;
/**
 * The experiment schema's validator: the one compiled at build time while it fits the schema, else compiled now; again
 * when a definition was registered since (the schema lists them).
 */
function validator(): { validate: ValidateFunction; schema: object } {
  if (cached?.generation !== registryGeneration()) {
    const schema = buildExperimentSchema();
    const validate = loadPrecompiledValidator(schema) ?? compileValidator(schema);
    cached = { validate, schema, generation: registryGeneration() };
  }
  return cached;
}

/**
 * Parses `a.b.0.c=value` (or `a.b[0].c=value`, the form error messages print); the value is read as YAML so numbers,
 * booleans and lists keep their type.
 */
export function parseOverride(override: string): { path: (string | number)[]; value: unknown } {
  const eq = override.indexOf('=');
  if (eq <= 0) {
    throw new UsageError(`--set "${override}": expected path.to.key=value, e.g. --set training.lr=0.003`);
  }
  const keyPath = override.slice(0, eq).trim();
  const segments = keyPath
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  if (segments.some((s) => s === '')) {
    throw new UsageError(
      `--set "${override}": "${keyPath}" has an empty segment; use dots between keys, e.g. training.lr`,
    );
  }
  let value: unknown;
  try {
    value = parseYamlValue(override.slice(eq + 1));
  } catch {
    value = override.slice(eq + 1);
  }
  return { path: segments, value: value ?? null };
}

/** Reads, overrides, validates and resolves a config file. Throws UsageError listing every problem found. */
export function loadConfig(file: string, overrides: string[] = []): LoadedConfig {
  const text = readUserFile(file, 'config', 'Pass the path of a YAML experiment config, e.g. configs/quickstart.yaml.');
  return parseConfigText(text, { file: path.resolve(file), displayName: file, overrides });
}

export function parseConfigText(
  text: string,
  options: { file?: string; displayName?: string; overrides?: string[] } = {},
): LoadedConfig {
  const displayName = options.displayName ?? options.file ?? '<config>';
  const overrides = options.overrides ?? [];
  const { doc, lineCounter } = parseYamlDocument(text, displayName);
  if (doc.contents === null) {
    throw new UsageError(`${displayName} is empty: expected a mapping with at least "data" and "tasks".`);
  }

  // Each override, keyed by the part of the document it wrote: the path it set, or the first key on that path it
  // had to create, so a problem anywhere in what the flag added is blamed on the flag, not on the file.
  const overridden = new Map<string, string>();
  for (const override of overrides) {
    const { path: keyPath, value } = parseOverride(override);
    widenScalarBackend(doc, keyPath);
    const written = firstMissing(doc, keyPath, override) ?? keyPath;
    try {
      doc.setIn(keyPath, doc.createNode(value));
    } catch (error) {
      throw new UsageError(`--set "${override}": cannot set ${pathToString(keyPath)}: ${(error as Error).message}`);
    }
    overridden.set(pathToString(written), override);
  }

  const raw = doc.toJS() as unknown;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new UsageError(`${displayName}: expected a mapping at the top level (name:, data:, tasks:, …).`);
  }
  const given: unknown = structuredClone(raw);
  const givenData = (raw as { data?: { split?: unknown } }).data;
  if (givenData && typeof givenData === 'object' && givenData.split !== undefined) markExplicitSplit(raw);
  markTaskSplits(raw);
  positiveLabelsAsText(raw);
  const { validate, schema } = validator();
  const problems: ConfigProblem[] = validate(raw) ? [] : problemsFromAjv(validate.errors ?? [], schema);
  const notes: ConfigProblem[] = [];
  if (problems.length === 0) {
    fillBackendSetting(raw);
    problems.push(
      ...checkSemantics(raw as ResolvedConfig, {
        configDir: options.file ? path.dirname(options.file) : process.cwd(),
        notes,
      }),
      ...applicabilityProblems(raw as ResolvedConfig, given),
    );
  }
  if (problems.length > 0) {
    throw new UsageError(
      `${displayName} has ${problems.length} problem${problems.length === 1 ? '' : 's'}:`,
      problems.map((problem) => locate(problem, doc, lineCounter, displayName, overridden)),
    );
  }
  const located = notes.map((note) => locate(note, doc, lineCounter, displayName, overridden));
  return {
    config: deepFreeze(raw as ResolvedConfig),
    file: options.file,
    displayName,
    sourceText: text,
    overrides,
    ...(located.length > 0 ? { notes: located } : {}),
  };
}

/**
 * The shortest prefix of `keyPath` that the document lacks (what setting it creates), or undefined when the whole
 * path exists. An index past the end of a list is refused: the list would be padded with empty entries.
 */
function firstMissing(doc: Document, keyPath: (string | number)[], override: string): (string | number)[] | undefined {
  for (let depth = 1; depth <= keyPath.length; depth++) {
    const prefix = keyPath.slice(0, depth);
    if (doc.hasIn(prefix)) continue;
    const parent = depth === 1 ? doc.contents : doc.getIn(keyPath.slice(0, depth - 1), true);
    const index = keyPath[depth - 1];
    if (isSeq(parent) && typeof index === 'number' && index > parent.items.length) {
      const last = parent.items.length - 1;
      throw new UsageError(
        `--set "${override}": ${pathToString(keyPath.slice(0, depth - 1))} has ${parent.items.length} entries ` +
          `(indices 0 to ${last}); index ${index} is past the end. Use an index up to ${last}, or ` +
          `${parent.items.length} to add an entry.`,
      );
    }
    return prefix;
  }
  return undefined;
}

function locate(
  problem: ConfigProblem,
  doc: Document,
  lineCounter: LineCounter,
  displayName: string,
  overridden: Map<string, string>,
): string {
  const field = pathToString(problem.path);
  // The flag that wrote the most specific part holding the field (`model.k` over `model`, which an earlier flag
  // created); of equal ones, the later flag, which is the one that took effect.
  let blamed: { setPath: string; override: string } | undefined;
  for (const [setPath, override] of overridden) {
    const holds = field === setPath || field.startsWith(`${setPath}.`) || field.startsWith(`${setPath}[`);
    if (holds && setPath.length >= (blamed?.setPath.length ?? 0)) blamed = { setPath, override };
  }
  if (blamed) return `--set ${blamed.override}: ${field}: ${problem.message}`;
  const position = positionOf(doc, lineCounter, problem.path, { key: problem.atKey ?? false });
  const where = position ? `${displayName}:${position.line}:${position.column}` : displayName;
  return `${where}: ${field}: ${problem.message}`;
}

/**
 * A field of a loaded config (a path in the resolved config) as the config writes it, for errors found after loading
 * (a data source's problems): `field` names it as written (a task's resolved `targets[0]` is its `target` where the
 * task gives no `targets`: it wrote `target`, or nothing and the column is its name); `at` is where it is written,
 * `file:line:col` (the nearest enclosing field that is written), or `--set …` when a flag wrote it; undefined for an
 * in-memory config without a file.
 */
export function locateConfigField(
  loaded: LoadedConfig,
  fieldPath: readonly (string | number)[],
): { field: string; at: string | undefined } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(loaded.sourceText, { lineCounter });
  // The flags too: whether a task gives `targets` may be a flag's doing. What they add has no place in the file, and
  // is blamed on them below.
  for (const override of loaded.overrides) {
    const { path: keyPath, value } = parseOverride(override);
    widenScalarBackend(doc, keyPath);
    doc.setIn(keyPath, doc.createNode(value));
  }
  const written = writtenPath(doc, fieldPath);
  const field = pathToString(written);
  const flag = [...loaded.overrides].reverse().find((override) => {
    const set = pathToString(parseOverride(override).path);
    return field === set || field.startsWith(`${set}.`) || field.startsWith(`${set}[`);
  });
  if (flag) return { field, at: `--set ${flag}` };
  if (loaded.file === undefined) return { field, at: undefined };
  const name = loaded.displayName ?? loaded.file;
  const position = positionOf(doc, lineCounter, written);
  return { field, at: position ? `${name}:${position.line}:${position.column}` : name };
}

/** A path of the resolved config as the document writes it: `tasks[i].target` for `targets[0]` without `targets`. */
function writtenPath(doc: Document, fieldPath: readonly (string | number)[]): (string | number)[] {
  const [section, index, key, column] = fieldPath;
  const target =
    fieldPath.length === 4 && section === 'tasks' && typeof index === 'number' && key === 'targets' && column === 0;
  return target && !doc.hasIn(['tasks', index, 'targets']) ? ['tasks', index, 'target'] : [...fieldPath];
}

/** `--set backend.fma=off` on a config whose backend is a bare name: the name becomes `backend.name` first. */
function widenScalarBackend(doc: Document, keyPath: readonly (string | number)[]): void {
  if (keyPath[0] !== 'backend' || keyPath.length < 2) return;
  const current: unknown = doc.get('backend');
  if (typeof current === 'string') doc.set('backend', doc.createNode({ name: current }));
}

/** A valid `backend: { … }` without `name` or `fma` gets `auto` for it (defaults inside oneOf are not applied). */
function fillBackendSetting(raw: object): void {
  const config = raw as { backend?: unknown };
  const backend = config.backend;
  if (typeof backend !== 'object' || backend === null) return;
  const given = backend as { name?: BackendChoice; fma?: FmaChoice };
  config.backend = { name: given.name ?? 'auto', fma: given.fma ?? 'auto' };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** The entries of the config's `tasks` list that are mappings, as written (before validation). */
function writtenTasks(raw: object): object[] {
  const tasks = 'tasks' in raw ? raw.tasks : undefined;
  if (!Array.isArray(tasks)) return [];
  return tasks.filter((task: unknown): task is object => typeof task === 'object' && task !== null);
}

/**
 * `positive: 1` (or `true`) as YAML reads it for a 0/1 (true/false) target: labels are matched as text, so the number
 * is the label "1". Without this it was refused as "expected a string, got 1".
 */
function positiveLabelsAsText(raw: object): void {
  for (const task of writtenTasks(raw)) {
    const positive: unknown = 'positive' in task ? task.positive : undefined;
    if (typeof positive === 'number' || typeof positive === 'boolean') {
      Object.assign(task, { positive: String(positive) });
    }
  }
}

/** Marks each task's own data source (multi-input MTL) whose split the user wrote, before defaults fill it. */
function markTaskSplits(raw: object): void {
  for (const task of writtenTasks(raw)) {
    const data: unknown = 'data' in task ? task.data : undefined;
    if (typeof data === 'object' && data !== null && 'split' in data) markExplicitSplitOf(data);
  }
}
