/**
 * `weighted-average` as a strategy: the combiner of src/strategies/gradient/weighted-average.ts (fixed `weights`),
 * or, with `weights_from: { name: <loss weighting>, …its options }`, the weights of any loss-weighting method:
 *
 *     g = Σ_i c_i g_i,   c_i = ∂F/∂L_i,   F = the method's weighted loss at the batch's losses,
 *
 * (seed 003 §4.1.2's g = Σ w_i g_i with w from the method; see scaled-combiner.ts for what c is per method). The
 * method runs in full inside: its epoch and batch hooks, its learned variables (trained on ∂F/∂φ), its state in
 * checkpoints. The weights are the method's own, not renormalised, so on either target the update is the one the
 * method makes as loss weighting (its `scale` option, where it has one, sets their sum). What it adds is the view
 * of the T task gradients (their cosines in the run log) at T backward passes per step.
 */
import { UsageError } from '../errors.js';
import { linearCombination } from '../numerics/index.js';
import { suggest } from '../util/suggest.js';
import type { ConfigProblem } from '../config/errors.js';
import { gradientStrategy } from './gradient-strategy.js';
import { weightedAverage } from './gradient/weighted-average.js';
import { scaledByLossWeighting } from './scaled-combiner.js';
import type {
  GradientStrategy,
  LossWeightingStrategy,
  Strategy,
  StrategyCreateContext,
  StrategyDefinition,
} from './types.js';

const fixedWeights = gradientStrategy(weightedAverage);

/** The options without `weights_from` (what the fixed-weights strategy reads). */
function withoutSource(options: Record<string, unknown>): Record<string, unknown> {
  const { weights_from: _source, ...rest } = options;
  return rest;
}

/** A problem of the inner method at `strategy.X`, moved to `strategy.weights_from.X`. */
function reroot(problem: ConfigProblem): ConfigProblem {
  const [head, ...rest] = problem.path;
  return { ...problem, path: head === 'strategy' ? ['strategy', 'weights_from', ...rest] : problem.path };
}

/** The inner method's options and definition, or a problem saying what is wrong with `weights_from`. */
function innerMethod(
  options: Record<string, unknown>,
  lossWeightings: () => StrategyDefinition[],
): { definition: StrategyDefinition; options: Record<string, unknown> } | ConfigProblem | undefined {
  const source = options['weights_from'];
  if (source === null || source === undefined) return undefined;
  const at = ['strategy', 'weights_from'];
  const known = lossWeightings().map((d) => d.name);
  if (typeof source !== 'object' || Array.isArray(source)) {
    return {
      path: at,
      message: `expected a loss-weighting method { name: …, …options }, got ${JSON.stringify(source)}`,
    };
  }
  const sourceOptions = source as Record<string, unknown>;
  const name = sourceOptions['name'];
  const definition = lossWeightings().find((d) => d.name === name);
  if (!definition) {
    const hint = typeof name === 'string' ? suggest(name, known) : undefined;
    return {
      path: [...at, 'name'],
      message:
        `expected the name of a loss-weighting method, got ${JSON.stringify(name)}` +
        `${hint ? `; did you mean "${hint}"?` : '.'} Known: ${known.join(', ')}.`,
    };
  }
  if (definition.usesLastSharedLayer) {
    return {
      path: [...at, 'name'],
      message:
        `"${definition.name}" learns its weights from task gradient norms that only its own loss step measures, so ` +
        `weights_from cannot run it; use strategy: ${definition.name}`,
    };
  }
  const weights = options['weights'];
  if (weights !== null && weights !== undefined) {
    return {
      path: ['strategy', 'weights'],
      message: 'give either weights or weights_from, not both (weights_from takes every weight from the method)',
    };
  }
  return { definition, options: sourceOptions };
}

function isProblem(value: unknown): value is ConfigProblem {
  return typeof value === 'object' && value !== null && 'message' in value && 'path' in value;
}

/** Creates the inner method, with its errors naming `strategy.weights_from.…`. */
function createInner(
  definition: StrategyDefinition,
  options: Record<string, unknown>,
  context: StrategyCreateContext,
): LossWeightingStrategy {
  const problem = definition.checkOptions?.(options, { tasks: context.tasks })[0];
  if (problem) throw new UsageError(`${pathText(reroot(problem).path)}: ${problem.message}`);
  let inner: Strategy;
  try {
    inner = definition.create(options, context);
  } catch (error) {
    if (error instanceof UsageError && error.message.startsWith('strategy.')) {
      throw new UsageError(`strategy.weights_from.${error.message.slice('strategy.'.length)}`);
    }
    throw error;
  }
  if (inner.needs !== 'losses') {
    throw new UsageError(`strategy.weights_from: "${definition.name}" is not a loss-weighting method.`);
  }
  return inner;
}

function pathText(path: readonly (string | number)[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.');
}

/** The JSON Schema of `weights_from`: null, or one of the loss-weighting methods with its own options checked. */
function sourceSchema(lossWeightings: StrategyDefinition[]): Record<string, unknown> {
  const names = lossWeightings.map((d) => d.name);
  return {
    type: ['object', 'null'],
    default: null,
    description:
      'Take the weights from a loss-weighting method, e.g. { name: dwa, temperature: 2 }: g = Σ c_i g_i with ' +
      'c_i = ∂F/∂L_i of its weighted loss F, not renormalised. Null: the fixed `weights`.',
    required: ['name'],
    properties: { name: { enum: names } },
    allOf: lossWeightings.map((definition) => ({
      if: { properties: { name: { const: definition.name } }, required: ['name'] },
      then: { properties: { name: {}, ...definition.optionsSchema }, additionalProperties: false },
    })),
  };
}

/**
 * The `weighted-average` strategy; `lossWeightings` lists the methods `weights_from` may name (the registry's
 * loss-weighting family, read when asked, so methods registered later are known too).
 */
export function weightedAverageStrategy(
  lossWeightings: () => StrategyDefinition[],
): StrategyDefinition<GradientStrategy> {
  return {
    name: fixedWeights.name,
    family: fixedWeights.family,
    paper: `${fixedWeights.paper}; weights_from: any loss-weighting method`,
    cost: fixedWeights.cost,
    get optionsSchema() {
      return { ...fixedWeights.optionsSchema, weights_from: sourceSchema(lossWeightings()) };
    },
    needs: (options, model) => fixedWeights.needs(withoutSource(options), model),
    checkOptions(options, context) {
      const problems = [...(fixedWeights.checkOptions?.(withoutSource(options), context) ?? [])];
      const inner = innerMethod(options, lossWeightings);
      if (isProblem(inner)) return [...problems, inner];
      if (inner) problems.push(...(inner.definition.checkOptions?.(inner.options, context) ?? []).map(reroot));
      return problems;
    },
    notes: (options, model, training) => fixedWeights.notes?.(withoutSource(options), model, training) ?? [],
    taskWeightIgnored(options, task) {
      const inner = innerMethod(options, lossWeightings);
      if (!inner || isProblem(inner)) return 'without weights_from, weighted-average reads only strategy.weights';
      if (!inner.definition.taskWeightIgnored) return `weights_from method "${inner.definition.name}" does not read it`;
      return inner.definition.taskWeightIgnored(inner.options, task)?.replace(/^strategy\./, 'strategy.weights_from.');
    },
    create(options, context) {
      const found = innerMethod(options, lossWeightings);
      if (isProblem(found)) throw new UsageError(`${pathText(found.path)}: ${found.message}`);
      if (!found) return fixedWeights.create(withoutSource(options), context);
      const inner = createInner(found.definition, found.options, context);
      const count = context.tasks.length;
      const ones = new Array<number>(count).fill(1);
      const sum: GradientStrategy = {
        name: 'weighted-average',
        needs: fixedWeights.needs(withoutSource(options), {
          hasSharedRepresentation: context.hasSharedRepresentation !== false,
        }),
        combiner: {
          combine: ({ grads }) => ({ combined: linearCombination(grads, ones), weights: [...ones] }),
          state: () => null,
          restore: () => undefined,
        },
        currentWeights: () => ones,
        state: () => null,
        restore: () => undefined,
      };
      return scaledByLossWeighting(sum, inner, 'weighted-average', count);
    },
  };
}
