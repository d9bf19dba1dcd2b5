import path from 'node:path';
import { Ajv } from 'ajv';
import { pathToString, problemsFromAjv, type ConfigProblem } from '../config/errors.js';
import { parseYamlDocument, readUserFile } from '../config/load.js';
import { positionOf } from '../config/positions.js';
import { UsageError } from '../errors.js';

/**
 * A sweep file (`mtl sweep SWEEP.yaml`, issue #16): a base config, a space over its config paths, the seeds, the
 * task subsets and the search. It has its own JSON Schema ({@link SWEEP_SCHEMA}) and the configs' errors:
 * `file:line:col: field: message`.
 *
 *   base: configs/quickstart.yaml        # relative to the sweep file
 *   search: grid                         # or random (then trials: N, seed: S)
 *   space:
 *     training.lr: [0.001, 0.003]        # a list: every value (grid) or one drawn uniformly (random)
 *     strategy.name: { choice: [equal, pcgrad] }
 *     training.batch_size: { min: 16, max: 128, log: true, integer: true }   # random search only
 *   seeds: [0, 1]                        # each configuration trained once per seed (default: the base's seed)
 *   tasks: all                           # all | all-pairs | leave-one-out | [[a, b], [a]]
 */

/** What one config path of the space takes. */
export type SpaceDomain =
  | { kind: 'values'; values: readonly unknown[] }
  | { kind: 'range'; min: number; max: number; log: boolean; integer: boolean };

export type TaskSubsets = 'all' | 'all-pairs' | 'leave-one-out' | readonly (readonly string[])[];

export interface SweepSpec {
  /** Absolute path of the sweep file. */
  file: string;
  /** The file as the user named it, for messages. */
  displayName: string;
  /** Its text (the sweep id hashes it). */
  text: string;
  /** Absolute path of the base config. */
  base: string;
  /** `name:`, else the file's name without its extension. */
  name: string;
  search: 'grid' | 'random';
  /** Random search: how many configurations are drawn, and from which seed. */
  trials: number | undefined;
  searchSeed: number;
  /** The training seeds; undefined: the base config's own seed. */
  seeds: readonly number[] | undefined;
  tasks: TaskSubsets;
  /** In the file's order. */
  space: readonly (readonly [string, SpaceDomain])[];
  /** `file:line:col` of a field of the sweep file (the closest existing ancestor when it is absent). */
  where(fieldPath: readonly (string | number)[]): string;
}

const SUBSET_KINDS = ['all', 'all-pairs', 'leave-one-out'] as const;

export const SWEEP_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'mtl sweep file',
  type: 'object',
  additionalProperties: false,
  required: ['base'],
  properties: {
    name: { type: 'string', minLength: 1 },
    base: { type: 'string', minLength: 1, description: 'the base experiment config, relative to this file' },
    search: { enum: ['grid', 'random'], default: 'grid' },
    trials: { type: 'integer', minimum: 1, description: 'random search: how many configurations to draw' },
    seed: { type: 'integer', minimum: 0, description: 'random search: the seed of the draws' },
    seeds: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'integer', minimum: 0 } },
    tasks: {
      oneOf: [
        { enum: [...SUBSET_KINDS] },
        {
          type: 'array',
          minItems: 1,
          items: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', minLength: 1 } },
        },
      ],
    },
    space: {
      type: 'object',
      additionalProperties: {
        oneOf: [
          { type: 'array', minItems: 1 },
          {
            type: 'object',
            additionalProperties: false,
            required: ['choice'],
            properties: { choice: { type: 'array', minItems: 1 } },
          },
          {
            type: 'object',
            additionalProperties: false,
            required: ['min', 'max'],
            properties: {
              min: { type: 'number' },
              max: { type: 'number' },
              log: { type: 'boolean' },
              integer: { type: 'boolean' },
            },
          },
        ],
      },
    },
  },
} as const;

const validateSweep = new Ajv({ allErrors: true, strict: true, verbose: true }).compile(SWEEP_SCHEMA);

/** Keys the space may not sweep: the sweep file has its own fields for them. */
const OWN_FIELDS: Record<string, string> = {
  seed: 'list the seeds in "seeds:" of the sweep file',
  seeds: 'list the seeds in "seeds:" of the sweep file',
  tasks: 'choose task subsets with "tasks:" of the sweep file (all, all-pairs, leave-one-out or lists of names)',
};

/** Reads and checks a sweep file; every problem is reported at once, with its line. */
export function loadSweepSpec(file: string): SweepSpec {
  const absolute = path.resolve(file);
  const text = readUserFile(file, 'sweep', 'Pass the path of a YAML sweep file (base:, space:, seeds:).');
  return parseSweepText(text, absolute, file);
}

export function parseSweepText(text: string, file: string, displayName: string): SweepSpec {
  const { doc, lineCounter } = parseYamlDocument(text, displayName);
  const raw: unknown = doc.toJS();
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new UsageError(`${displayName}: expected a mapping at the top level (base:, space:, seeds:, …).`);
  }
  const where = (fieldPath: readonly (string | number)[], atKey = false): string => {
    const position = positionOf(doc, lineCounter, fieldPath, { key: atKey });
    return position ? `${displayName}:${position.line}:${position.column}` : displayName;
  };
  const problems: ConfigProblem[] = validateSweep(raw) ? semanticProblems(raw as RawSweep) : [];
  if (problems.length === 0 && validateSweep.errors) {
    problems.push(...problemsFromAjv(validateSweep.errors, SWEEP_SCHEMA));
  }
  if (problems.length > 0) {
    throw new UsageError(
      `${displayName} has ${problems.length} problem${problems.length === 1 ? '' : 's'}:`,
      problems.map((p) => `${where(p.path, p.atKey)}: ${pathToString(p.path)}: ${p.message}`),
    );
  }
  const sweep = raw as RawSweep;
  return {
    file,
    displayName,
    text,
    base: path.resolve(path.dirname(file), sweep.base),
    name: sweep.name ?? path.basename(file).replace(/\.[^.]*$/, ''),
    search: sweep.search ?? 'grid',
    trials: sweep.trials,
    searchSeed: sweep.seed ?? 0,
    seeds: sweep.seeds,
    tasks: sweep.tasks ?? 'all',
    space: Object.entries(sweep.space ?? {}).map(([key, value]) => [key, domainOf(value)] as const),
    where: (fieldPath) => where(fieldPath),
  };
}

/** The file's fields as the schema lets them through. */
interface RawSweep {
  name?: string;
  base: string;
  search?: 'grid' | 'random';
  trials?: number;
  seed?: number;
  seeds?: number[];
  tasks?: TaskSubsets;
  space?: Record<string, unknown[] | { choice: unknown[] } | RawRange>;
}

interface RawRange {
  min: number;
  max: number;
  log?: boolean;
  integer?: boolean;
}

function domainOf(value: unknown[] | { choice: unknown[] } | RawRange): SpaceDomain {
  if (Array.isArray(value)) return { kind: 'values', values: value };
  if ('choice' in value) return { kind: 'values', values: value.choice };
  return { kind: 'range', min: value.min, max: value.max, log: value.log ?? false, integer: value.integer ?? false };
}

/** The rules the schema cannot say: what grid and random search need, ranges that are ranges. */
function semanticProblems(sweep: RawSweep): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const search = sweep.search ?? 'grid';
  if (search === 'random' && sweep.trials === undefined) {
    problems.push({ path: ['search'], message: 'random search needs "trials: N" (how many configurations to draw)' });
  }
  if (search === 'grid') {
    if (sweep.trials !== undefined) {
      problems.push({
        path: ['trials'],
        message: 'a grid trains every combination; "trials" is read only with search: random',
      });
    }
    if (sweep.seed !== undefined) {
      problems.push({
        path: ['seed'],
        message:
          'a grid draws nothing; "seed" (of the draws) is read only with search: random. Training seeds go ' +
          'in "seeds:"',
      });
    }
  }
  for (const [key, value] of Object.entries(sweep.space ?? {})) {
    const own = OWN_FIELDS[key.split('.')[0] ?? ''];
    if (own !== undefined) problems.push({ path: ['space', key], atKey: true, message: `not swept in space: ${own}` });
    if (Array.isArray(value) || 'choice' in value) continue;
    if (search === 'grid') {
      problems.push({
        path: ['space', key],
        message: 'a range cannot be enumerated by a grid: list the values ([a, b, c]) or use search: random',
      });
    }
    if (!(value.min < value.max)) {
      problems.push({ path: ['space', key, 'max'], message: `expected max > min (min is ${value.min})` });
    }
    if (value.log === true && value.min <= 0) {
      problems.push({ path: ['space', key, 'min'], message: 'a log-scale range needs min > 0' });
    }
    if (value.integer === true && (!Number.isInteger(value.min) || !Number.isInteger(value.max))) {
      problems.push({ path: ['space', key], message: 'an integer range needs whole numbers as min and max' });
    }
  }
  return problems;
}
