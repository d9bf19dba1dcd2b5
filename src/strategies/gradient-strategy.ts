import { enumOption, optionProblems, type Options } from '../util/options.js';
import { gradientCombiners } from './gradient/registry.js';
import type { CombinerDefinition } from './gradient/types.js';
import type { GradientStrategy, ModelCapabilities, StrategyDefinition } from './types.js';

const gradTargets = ['auto', 'params', 'representation'] as const;

/** Where a gradient method reads the task gradients from. */
export type GradTarget = (typeof gradTargets)[number];

const gradTargetSchema = {
  enum: [...gradTargets],
  default: 'auto',
  description:
    'Task gradients of the shared parameters (params: T backward passes through the trunk) or of the shared ' +
    'representation (representation: heads only, then one trunk backward); auto picks representation when the ' +
    'architecture has one.',
};

/** Representation gradients when asked for, or on `auto` when the model has a shared representation. */
function gradientNeeds(options: Options, model: ModelCapabilities): GradientStrategy['needs'] {
  const target = enumOption(options, 'strategy.grad_target', gradTargets, 'auto');
  const useRepresentation = target === 'representation' || (target === 'auto' && model.hasSharedRepresentation);
  return useRepresentation ? 'representation-gradients' : 'parameter-gradients';
}

/** The options the combiner reads: all but `grad_target` (and the config's `name`). */
function methodOptions(options: Options): Record<string, unknown> {
  const { grad_target: _target, ...method } = options;
  return method;
}

/**
 * Wraps a pure gradient combiner (src/strategies/gradient/) as a training strategy: the trainer computes the T task
 * gradients on the chosen target, reads them into arrays, and the combiner's numerics — the same that
 * `combineGradients` exposes — decide the shared update. Task parameters always get their own task's gradient.
 */
export function gradientStrategy(definition: CombinerDefinition): StrategyDefinition<GradientStrategy> {
  const methodProperties = (definition.optionsSchema['properties'] ?? {}) as Record<string, Record<string, unknown>>;
  return {
    name: definition.name,
    family: 'gradient-manipulation',
    paper: definition.paper,
    cost: 'params: T trunk backwards; representation: 1 trunk backward + T head backwards',
    optionsSchema: { grad_target: gradTargetSchema, ...methodProperties },
    needs: gradientNeeds,
    checkOptions: (options, { tasks }) =>
      optionProblems(() => definition.checkOptions?.(methodOptions(options), tasks.length)),
    create(options, { tasks, seed, hasSharedRepresentation }) {
      const combiner = definition.create(methodOptions(options), seed, tasks.length);
      let weights = tasks.map(() => 1);
      return {
        name: definition.name,
        needs: gradientNeeds(options, { hasSharedRepresentation: hasSharedRepresentation !== false }),
        combiner: {
          combine(input) {
            const result = combiner.combine(input);
            if (result.weights) weights = [...result.weights];
            return result;
          },
          state: () => combiner.state(),
          restore: (state) => combiner.restore(state),
        },
        currentWeights: () => weights,
        state: () => ({ combiner: combiner.state(), weights }),
        restore(state) {
          const saved = state as { combiner?: unknown; weights?: number[] };
          if (saved.combiner !== undefined) combiner.restore(saved.combiner);
          if (saved.weights) weights = saved.weights;
        },
      };
    },
  };
}

export const gradientStrategies: StrategyDefinition<GradientStrategy>[] = [...gradientCombiners.values()].map(
  gradientStrategy,
);
