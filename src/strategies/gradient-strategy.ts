import { gradientCombiners } from './gradient/registry.js';
import type { CombinerDefinition } from './gradient/types.js';
import type { StrategyDefinition } from './types.js';

/** Where a gradient method reads the task gradients from. */
export type GradTarget = 'auto' | 'params' | 'representation';

const gradTargetSchema = {
  enum: ['auto', 'params', 'representation'],
  default: 'auto',
  description:
    'Task gradients of the shared parameters (params: T backward passes through the trunk) or of the shared representation (representation: heads only, then one trunk backward); auto picks representation when the architecture has one.',
};

/**
 * Wraps a pure gradient combiner (src/strategies/gradient/) as a training strategy: the trainer computes the T task
 * gradients on the chosen target, reads them into arrays, and the combiner's numerics — the same that
 * `combineGradients` exposes — decide the shared update. Task parameters always get their own task's gradient.
 */
export function gradientStrategy(definition: CombinerDefinition): StrategyDefinition {
  const methodProperties = (definition.optionsSchema['properties'] ?? {}) as Record<string, Record<string, unknown>>;
  return {
    name: definition.name,
    family: 'gradient-manipulation',
    paper: definition.paper,
    cost: 'params: T trunk backwards; representation: 1 trunk backward + T head backwards',
    optionsSchema: { grad_target: gradTargetSchema, ...methodProperties },
    create(options, { tasks, seed, hasSharedRepresentation }) {
      const { grad_target: target = 'auto', ...methodOptions } = options as { grad_target?: GradTarget } & Record<string, unknown>;
      const combiner = definition.create(methodOptions, seed, tasks.length);
      const useRepresentation = target === 'representation' || (target === 'auto' && hasSharedRepresentation !== false);
      let weights = tasks.map(() => 1);
      return {
        name: definition.name,
        needs: useRepresentation ? 'representation-gradients' : 'parameter-gradients',
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

export const gradientStrategies: StrategyDefinition[] = [...gradientCombiners.values()].map(gradientStrategy);
