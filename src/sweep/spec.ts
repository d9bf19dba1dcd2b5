import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { pathToString, problemsFromAjv, type ConfigProblem } from '../config/errors.js';
import { parseYamlDocument, readUserFile } from '../config/yaml-file.js';
import { positionOf } from '../config/positions.js';
import { UsageError } from '../errors.js';

/**
 * A sweep file (`mtl sweep SWEEP.yaml`, issue #16): a base config, a space over its config paths, the seeds, the
 * task subsets and the search. It has its own JSON Schema ({@link SWEEP_SCHEMA}) and the configs' errors:
 * `file:line:col: field: message`.
 *
 *   base: configs/quickstart.yaml        # relative to the sweep file
 *   search: grid                         # or random (then trials: N, seed: S), or halving (then halving:)
 *   space:
 *     training.lr: [0.001, 0.003]        # a list: every value (grid) or one drawn uniformly (random)
 *     strategy.name: { choice: [equal, pcgrad] }
 *     training.batch_size: { min: 16, max: 128, log: true, integer: true }   # random search only
 *   seeds: [0, 1]                        # each configuration trained once per seed (default: the base's seed)
 *   tasks: all                           # all | all-pairs | leave-one-out | [[a, b], [a]]
 *   halving:                             # search: halving (successive halving, src/sweep/halving.ts)
 *     metric: y1/accuracy                # ranked on val, in the metric's direction
 *     min_epochs: 1                      # r: the first rung's budget
 *     max_epochs: 9                      # R (default the base's training.epochs): the last rung's budget
 *     eta: 3                             # η: the top ⌊n/η⌋ configurations go on to η times the epochs
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
  search: SearchKind;
  /** Successive halving's settings (search: halving). */
  halving: HalvingSettings | undefined;
  /** Random search (and halving over random draws): how many configurations are drawn, and from which seed. */
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

export type SearchKind = 'grid' | 'random' | 'halving';

/** The `halving:` block (search: halving); `maxEpochs` undefined: the base config's training.epochs. */
export interface HalvingSettings {
  metric: string;
  minEpochs: number;
  maxEpochs: number | undefined;
  eta: number;
  mode: 'sync' | 'asha';
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
    search: { enum: ['grid', 'random', 'halving'], default: 'grid' },
    trials: {
      type: 'integer',
      minimum: 1,
      description: 'random search (or halving over random draws): how many configurations to draw',
    },
    seed: { type: 'integer', minimum: 0, description: 'random search: the seed of the draws' },
    halving: {
      type: 'object',
      additionalProperties: false,
      required: ['metric', 'min_epochs'],
      description:
        'search: halving: successive halving with epochs as the budget (rungs of min_epochs·eta^k epochs, the top ' +
        '1/eta of the configurations promoted on the metric at each)',
      properties: {
        metric: {
          type: 'string',
          minLength: 1,
          description: 'ranked on val, as training.early_stopping.metric names it (loss, mean/loss, y1/accuracy)',
        },
        min_epochs: {
          type: 'integer',
          minimum: 1,
          description: 'r: the first rung trains every configuration this long',
        },
        max_epochs: { type: 'integer', minimum: 1, description: "R: the last rung's epochs (default the base's)" },
        eta: { type: 'integer', minimum: 2, default: 3, description: 'η: keep the top ⌊n/η⌋, train η times longer' },
        mode: {
          enum: ['sync', 'asha'],
          default: 'sync',
          description:
            'sync: a rung is decided once all its trials finished (results independent of completion order); ' +
            'asha: asynchronous promotions, one job at a time (results depend on the order trials finish in)',
        },
      },
    },
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

let compiledSweepSchema: ValidateFunction | undefined;
/** Compiled on first use, not when the CLI loads (~35 ms of every command's start). */
function sweepValidator(): ValidateFunction {
  compiledSweepSchema ??= new Ajv({ allErrors: true, strict: true, verbose: true }).compile(SWEEP_SCHEMA);
  return compiledSweepSchema;
}

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
  const validateSweep = sweepValidator();
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
    halving: sweep.halving && {
      metric: sweep.halving.metric,
      minEpochs: sweep.halving.min_epochs,
      maxEpochs: sweep.halving.max_epochs,
      eta: sweep.halving.eta ?? 3,
      mode: sweep.halving.mode ?? 'sync',
    },
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
  search?: SearchKind;
  trials?: number;
  halving?: { metric: string; min_epochs: number; max_epochs?: number; eta?: number; mode?: 'sync' | 'asha' };
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
  problems.push(...halvingProblems(sweep, search));
  // Halving enumerates the grid unless trials: N asks for random draws.
  const enumerates = search === 'grid' || (search === 'halving' && sweep.trials === undefined);
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
    if (enumerates) {
      problems.push({
        path: ['space', key],
        message:
          search === 'grid'
            ? 'a range cannot be enumerated by a grid: list the values ([a, b, c]) or use search: random'
            : 'a range cannot be enumerated: list the values ([a, b, c]), or give "trials: N" to draw N configurations',
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

/** What search: halving needs, and what only it reads. */
function halvingProblems(sweep: RawSweep, search: SearchKind): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const halving = sweep.halving;
  if (search !== 'halving') {
    if (halving !== undefined) {
      problems.push({ path: ['halving'], atKey: true, message: 'read only with search: halving' });
    }
    return problems;
  }
  if (halving === undefined) {
    problems.push({
      path: ['search'],
      message: 'search: halving needs a "halving:" block (metric: the val metric to rank by, min_epochs: r)',
    });
    return problems;
  }
  if (sweep.seed !== undefined && sweep.trials === undefined) {
    problems.push({
      path: ['seed'],
      message: 'without "trials: N" halving runs the grid and draws nothing; "seed" (of the draws) is read with trials',
    });
  }
  if (halving.max_epochs !== undefined && halving.max_epochs < halving.min_epochs) {
    problems.push({
      path: ['halving', 'max_epochs'],
      message: `expected max_epochs ≥ min_epochs (${halving.min_epochs})`,
    });
  }
  for (const key of Object.keys(sweep.space ?? {})) {
    if (key === 'training.epochs' || key === 'training') {
      problems.push({
        path: ['space', key],
        atKey: true,
        message: 'halving gives each configuration its epochs (its budget): set halving.max_epochs instead',
      });
    }
  }
  return problems;
}
