/**
 * Every gradient combiner by config name, and `combineGradients`, the same machinery as a plain library call on
 * number arrays (for notebooks, tests and the docs' worked examples).
 */
import { UsageError } from '../../errors.js';
import { alignedMtl } from './aligned-mtl.js';
import { cagrad } from './cagrad.js';
import { graddrop } from './graddrop.js';
import { gradvac } from './gradvac.js';
import { imtlG } from './imtl-g.js';
import { mgda } from './mgda.js';
import { mtadam } from './mtadam.js';
import { nashMtl } from './nash-mtl.js';
import { pcgrad } from './pcgrad.js';
import { projection } from './projection.js';
import type { CombinerDefinition } from './types.js';
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

/**
 * Combines one set of task gradients with a named method. `seed` (default 0) drives the random choices, `losses`
 * feeds the methods that use them; every other key is a method option, missing ones taking the schema default.
 * Each call starts from fresh state, so stateful methods (GradVac's EMA, Nash-MTL's warm start) act as on their
 * first step.
 */
export function combineGradients(
  method: string,
  taskGrads: number[][],
  options: Record<string, unknown> & { seed?: number; losses?: number[] } = {},
): { combined: number[]; weights?: number[] } {
  const definition = getGradientCombiner(method);
  const { seed = 0, losses, ...methodOptions } = options;
  const known = Object.keys((definition.optionsSchema['properties'] ?? {}) as object);
  const unknown = Object.keys(methodOptions).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw new UsageError(
      `Unknown option(s) ${unknown.map((k) => `"${k}"`).join(', ')} for gradient method "${method}".` +
        ` Known: ${known.length > 0 ? known.join(', ') : 'none'}.`,
    );
  }
  const length = taskGrads[0]?.length ?? 0;
  if (taskGrads.length === 0 || taskGrads.some((g) => g.length !== length)) {
    throw new UsageError('combineGradients needs at least one task gradient, all of the same length.');
  }
  if (losses !== undefined && losses.length !== taskGrads.length) {
    throw new UsageError(`combineGradients got ${losses.length} losses for ${taskGrads.length} task gradients.`);
  }
  const resolved = { ...schemaDefaults(definition.optionsSchema), ...methodOptions };
  const combiner = definition.create(resolved, seed, taskGrads.length);
  const result = combiner.combine({ grads: taskGrads.map((g) => Float32Array.from(g)), ...(losses ? { losses } : {}) });
  return {
    combined: Array.from(result.combined),
    ...(result.weights ? { weights: [...result.weights] } : {}),
  };
}
