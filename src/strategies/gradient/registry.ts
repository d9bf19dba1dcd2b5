/**
 * Every gradient combiner by config name, and `combineGradients`, the same machinery as a plain library call on
 * number arrays (for notebooks, tests and the docs' worked examples).
 */
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
 * Combines one set of task gradients with a named method. The keys of {@link CombineCallInput} are inputs; every
 * other key is a method option, missing ones taking the schema default. Each call starts from fresh state, so
 * stateful methods (GradVac's EMA, Nash-MTL's warm start) act as on their first step.
 */
export function combineGradients(
  method: string,
  taskGrads: number[][],
  options: Record<string, unknown> & CombineCallInput = {},
): { combined: number[]; weights?: number[]; taskScales?: number[] } {
  const definition = getGradientCombiner(method);
  const { seed = 0, losses, activations, rows, extraSamples, ...methodOptions } = options;
  const known = Object.keys((definition.optionsSchema['properties'] ?? {}) as object);
  const unknown = Object.keys(methodOptions).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw new UsageError(
      `Unknown option(s) ${unknown.map((k) => `"${k}"`).join(', ')} for gradient method "${method}".` +
        ` Known: ${known.length > 0 ? known.join(', ') : 'none'}.`,
    );
  }
  const length = taskGrads[0]?.length ?? 0;
  const wrongLength = (g: readonly number[]): boolean => g.length !== length;
  if (taskGrads.length === 0 || taskGrads.some(wrongLength)) {
    throw new UsageError('combineGradients needs at least one task gradient, all of the same length.');
  }
  if (losses !== undefined && losses.length !== taskGrads.length) {
    throw new UsageError(`combineGradients got ${losses.length} losses for ${taskGrads.length} task gradients.`);
  }
  const resolved = { ...schemaDefaults(definition.optionsSchema), ...methodOptions };
  const combiner = definition.create(resolved, seed, taskGrads.length);
  const needed = (combiner.independentSamples ?? 1) - 1;
  const extra = extraSamples ?? [];
  if (extra.length !== needed || extra.some((set) => set.length !== taskGrads.length || set.some(wrongLength))) {
    throw new UsageError(
      `combineGradients("${method}") needs ${needed} extra sample(s) of ${taskGrads.length} task gradients of ` +
        `length ${length} in \`extraSamples\`, got ${extra.length}` +
        (needed > 0 ? ' (or pass sampling: "single-batch").' : '.'),
    );
  }
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
