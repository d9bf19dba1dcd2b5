/**
 * Every gradient combiner by config name, and `combineGradients`, the same machinery as a plain library call on
 * number arrays (for notebooks, tests and the docs' worked examples).
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { pathToString, problemsFromAjv } from '../../config/errors.js';
import { UsageError } from '../../errors.js';
import { alignedMtl } from './aligned-mtl.js';
import { cagrad } from './cagrad.js';
import { dbMtl } from './db-mtl.js';
import { excessMtl } from './excess-mtl.js';
import { config } from './config.js';
import { dualproj } from './dualproj.js';
import { fairgrad } from './fairgrad.js';
import { graddrop } from './graddrop.js';
import { gradvac } from './gradvac.js';
import { imtlG } from './imtl-g.js';
import { mgda } from './mgda.js';
import { modo } from './modo.js';
import { moco } from './moco.js';
import { mtadam } from './mtadam.js';
import { nashMtl } from './nash-mtl.js';
import { pcgrad } from './pcgrad.js';
import { projection } from './projection.js';
import { sdmgrad } from './sdmgrad.js';
import type { CombinerDefinition } from './types.js';
import { upgrad } from './upgrad.js';
import { weightedAverage } from './weighted-average.js';

const definitions: CombinerDefinition[] = [
  projection,
  weightedAverage,
  pcgrad,
  mgda,
  cagrad,
  gradvac,
  graddrop,
  imtlG,
  alignedMtl,
  nashMtl,
  mtadam,
  dbMtl,
  excessMtl,
  sdmgrad,
  modo,
  upgrad,
  dualproj,
  config,
  fairgrad,
  moco,
];

export const gradientCombiners: ReadonlyMap<string, CombinerDefinition> = new Map(
  definitions.map((definition) => [definition.name, definition]),
);

export function getGradientCombiner(method: string): CombinerDefinition {
  const definition = gradientCombiners.get(method);
  if (!definition) {
    throw new UsageError(`Unknown gradient method "${method}". Known: ${[...gradientCombiners.keys()].join(', ')}.`);
  }
  return definition;
}

/** The `default` of every property of an options schema. */
export function schemaDefaults(schema: Record<string, unknown>): Record<string, unknown> {
  const properties = (schema['properties'] ?? {}) as Record<string, { default?: unknown }>;
  const defaults: Record<string, unknown> = {};
  for (const [key, property] of Object.entries(properties)) {
    if (property.default !== undefined) defaults[key] = structuredClone(property.default);
  }
  return defaults;
}

/** What `combineGradients` takes besides the method's options. */
export interface CombineCallInput {
  /** Drives the random choices (default 0). */
  seed?: number;
  /** Per-task loss values, for the methods that use them. */
  losses?: number[];
  /**
   * The shared activation the gradients are taken at, flat in the same layout as each task gradient (`rows` rows,
   * row-major), with its row count: GradDrop's batch marginalisation reads them. Without them GradDrop takes each
   * vector as its per-unit G_i (one row, positive activations).
   */
  activations?: number[];
  rows?: number;
  /**
   * The task gradients on further independent samples, for the methods that need them (SDMGrad and MoDo with
   * `sampling: independent`: two more sets of T gradients; see their files for the roles).
   */
  extraSamples?: number[][][];
}

/**
 * Options a config's `strategy:` takes that mean nothing for one call on given vectors, with why and what to pass
 * instead; undefined for the others.
 */
function trainingOnlyOption(method: string, key: string): string | undefined {
  if (key === 'grad_target') {
    return (
      'grad_target picks which gradients training takes (of the shared parameters or of the shared ' +
      'representation); combineGradients combines the vectors it is given, so leave it out'
    );
  }
  if (key === 'weights_from' && method === 'weighted-average') {
    return (
      'weights_from takes the weights from a loss-weighting method as it runs through training (its state over ' +
      'steps and epochs, its learned variables, the losses of every step), which one call on given vectors does ' +
      'not have. Pass the weights themselves instead: { weights: [w_1, …, w_T] }, one per task (e.g. those the ' +
      'run logged for the step); they are normalised to sum 1, so the direction is the same, the scale may not be'
    );
  }
  return undefined;
}

const optionsAjv = new Ajv({ allErrors: true, strict: false, verbose: true });
const optionValidators = new Map<CombinerDefinition, ValidateFunction>();

/**
 * What the method's own options schema, the one a config's `strategy:` section is checked against, says of these
 * options: a config is refused for the same values (`c: -1`, `max_norm: -1`), in the same words.
 */
function schemaProblems(definition: CombinerDefinition, options: Record<string, unknown>): string[] {
  let validate = optionValidators.get(definition);
  if (!validate) {
    validate = optionsAjv.compile(definition.optionsSchema);
    optionValidators.set(definition, validate);
  }
  if (validate(options)) return [];
  return problemsFromAjv(validate.errors ?? []).map(
    (problem) => `${pathToString(['strategy', ...problem.path])}: ${problem.message}`,
  );
}

/**
 * Checks one set of T task gradients as a caller outside the types may pass them (plain JavaScript, numbers read
 * from a file): a NaN would otherwise come out as `null` in `combined` and a ragged list as garbage, silently.
 * `what` names a set in messages (`task gradient` or `extraSamples[0] task gradient`). Returns P.
 */
function checkTaskGradients(method: string, what: string, grads: unknown, length?: number): number {
  const at = `combineGradients("${method}")`;
  if (!Array.isArray(grads) || grads.length === 0) {
    throw new UsageError(
      `${at} needs at least one ${what} (a list of number lists, one per task), got ${shortJson(grads)}.`,
    );
  }
  const isList = (g: unknown): g is ArrayLike<unknown> => Array.isArray(g) || ArrayBuffer.isView(g);
  const first: unknown = grads[0];
  const p = length ?? (isList(first) ? first.length : 0);
  grads.forEach((g: unknown, i) => {
    if (!isList(g)) throw new UsageError(`${at}: ${what} ${i} is not a list of numbers, got ${shortJson(g)}.`);
    if (g.length !== p) {
      throw new UsageError(
        `${at}: ${what} ${i} has ${g.length} coordinates, expected ${p} (as task gradient 0): every task ` +
          'gradient is over the same shared parameters, so pass lists of one length.',
      );
    }
    for (let j = 0; j < g.length; j++) {
      const v = g[j];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new UsageError(
          `${at}: ${what} ${i} has ${shortJson(v)} at coordinate ${j}; every entry must be a finite ` +
            'number (a NaN or an infinity usually means the loss it came from diverged).',
        );
      }
    }
  });
  if (p === 0) throw new UsageError(`${at}: the task gradients have no coordinates; pass at least one per task.`);
  return p;
}

/** A value as the caller wrote it, cut short; numbers as written, since JSON has no NaN or infinity. */
function shortJson(value: unknown): string {
  const text = typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Combines one set of task gradients with a named method. The keys of {@link CombineCallInput} are inputs; every
 * other key is a method option, missing ones taking the schema default. Options and inputs are checked as a config
 * and training check them (UsageErrors naming the option, task and coordinate). Each call starts from fresh state, so
 * stateful methods (GradVac's EMA, Nash-MTL's warm start) act as on their first step.
 */
export function combineGradients(
  method: string,
  taskGrads: number[][],
  options: Record<string, unknown> & CombineCallInput = {},
): { combined: number[]; weights?: number[]; taskScales?: number[] } {
  const definition = getGradientCombiner(method);
  const { seed = 0, losses, activations, rows, extraSamples, ...methodOptions } = options;
  for (const key of Object.keys(methodOptions)) {
    const why = trainingOnlyOption(method, key);
    if (why) throw new UsageError(`combineGradients("${method}") does not take ${key}: ${why}.`);
  }
  const known = Object.keys((definition.optionsSchema['properties'] ?? {}) as object);
  const unknown = Object.keys(methodOptions).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw new UsageError(
      `Unknown option(s) ${unknown.map((k) => `"${k}"`).join(', ')} for gradient method "${method}".` +
        ` Known: ${known.length > 0 ? known.join(', ') : 'none'}.`,
    );
  }
  const length = checkTaskGradients(method, 'task gradient', taskGrads);
  if (losses !== undefined) {
    if (!Array.isArray(losses) || losses.length !== taskGrads.length) {
      const got = Array.isArray(losses) ? `${losses.length} losses` : shortJson(losses);
      throw new UsageError(`combineGradients got ${got} for ${taskGrads.length} task gradients.`);
    }
    const bad = losses.findIndex((loss: unknown) => typeof loss !== 'number' || !Number.isFinite(loss));
    if (bad >= 0) {
      throw new UsageError(
        `combineGradients("${method}"): losses[${bad}] is ${shortJson(losses[bad])}; pass one finite loss per task.`,
      );
    }
  }
  const resolved = { ...schemaDefaults(definition.optionsSchema), ...methodOptions };
  // The method's readers run first (in `create`): where they check an option, their "expected …, got …" is what
  // training says too. The schema then refuses what they let through, as a config's validation would.
  const combiner = definition.create(resolved, seed, taskGrads.length);
  const problems = schemaProblems(definition, resolved);
  if (problems.length > 0) {
    throw new UsageError(
      `combineGradients("${method}"): ${problems.join('; ')}. A config's strategy section refuses the same ` +
        `values; the allowed ones are under "${method}" in schema/experiment.schema.json.`,
    );
  }
  const needed = (combiner.independentSamples ?? 1) - 1;
  const extra = extraSamples ?? [];
  if (!Array.isArray(extra) || extra.length !== needed || extra.some((set) => set.length !== taskGrads.length)) {
    throw new UsageError(
      `combineGradients("${method}") needs ${needed} extra sample(s) of ${taskGrads.length} task gradients of ` +
        `length ${length} in \`extraSamples\`, got ${Array.isArray(extra) ? extra.length : shortJson(extra)}` +
        (needed > 0 ? ' (or pass sampling: "single-batch").' : '.'),
    );
  }
  extra.forEach((set, k) => checkTaskGradients(method, `extraSamples[${k}] task gradient`, set, length));
  const result = combiner.combine({
    grads: taskGrads.map((g) => Float32Array.from(g)),
    ...(losses ? { losses } : {}),
    ...(activations ? { activations: Float32Array.from(activations) } : {}),
    ...(rows !== undefined ? { rows } : {}),
    ...(needed > 0 ? { extraSamples: extra.map((set) => set.map((g) => Float32Array.from(g))) } : {}),
  });
  return {
    combined: Array.from(result.combined),
    ...(result.weights ? { weights: [...result.weights] } : {}),
    ...(result.taskScales ? { taskScales: [...result.taskScales] } : {}),
  };
}
