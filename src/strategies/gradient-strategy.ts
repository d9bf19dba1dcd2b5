import { UsageError } from '../errors.js';
import { enumOption, optionProblems, type Options } from '../util/options.js';
import { gradientCombiners } from './gradient/registry.js';
import type { CombinerDefinition } from './gradient/types.js';
import { SubsetCombining } from './subset-combiner.js';
import type { GradientStrategy, ModelCapabilities, StrategyDefinition } from './types.js';

const gradTargets = ['auto', 'params', 'representation'] as const;

/** Where a gradient method reads the task gradients from. */
export type GradTarget = (typeof gradTargets)[number];

const gradTargetSchema = {
  enum: [...gradTargets],
  default: 'auto',
  description:
    'Task gradients of the shared parameters (params: T backward passes through the trunk) or of the shared ' +
    'representation (representation: heads only, then one trunk backward); auto picks the target the ' +
    "method's paper uses (params where the architecture has no shared representation).",
};

/**
 * The target a gradient method runs on: the one asked for, or on `auto` the paper's (see the method's
 * `gradTarget`), `params` where the model has no shared representation — unless the method refuses parameter
 * gradients (GradDrop): it stays on the representation, which validation then refuses on such a model.
 */
export function resolveGradTarget(
  definition: CombinerDefinition,
  options: Options,
  model: ModelCapabilities,
): 'params' | 'representation' {
  const target = enumOption(options, 'strategy.grad_target', gradTargets, 'auto');
  if (target !== 'auto') return target;
  const { paper, other } = definition.gradTarget;
  return paper === 'representation' && (model.hasSharedRepresentation || other === 'refused')
    ? 'representation'
    : 'params';
}

function gradientNeeds(
  definition: CombinerDefinition,
  options: Options,
  model: ModelCapabilities,
): GradientStrategy['needs'] {
  return resolveGradTarget(definition, options, model) === 'representation'
    ? 'representation-gradients'
    : 'parameter-gradients';
}

/** Why an explicit target is refused for the method, or undefined when it is not. */
function refusedTarget(definition: CombinerDefinition, options: Options): string | undefined {
  const target = enumOption(options, 'strategy.grad_target', gradTargets, 'auto');
  if (target === 'auto' || target === definition.gradTarget.paper || definition.gradTarget.other !== 'refused') {
    return undefined;
  }
  return `"${definition.name}" cannot run on ${target} gradients: ${definition.gradTarget.reason.replace(/\.$/, '')}`;
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
    needs: (options, model) => gradientNeeds(definition, options, model),
    checkOptions(options, { tasks, optimizer }) {
      const problems = optionProblems(() => definition.checkOptions?.(methodOptions(options), tasks.length));
      const refused = refusedTarget(definition, options);
      if (refused) {
        const hint = `use grad_target: ${definition.gradTarget.paper}`;
        problems.push({ path: ['strategy', 'grad_target'], message: `${refused}; ${hint}` });
      }
      const optimizers = definition.refusedOptimizers;
      if (optimizer !== undefined && optimizers?.names.includes(optimizer)) {
        problems.push({
          path: ['training', 'optimizer'],
          message: `optimizer "${optimizer}" with strategy "${definition.name}": ${optimizers.reason}`,
        });
      }
      return problems;
    },
    notes(options, model) {
      const target = resolveGradTarget(definition, options, model);
      if (target === definition.gradTarget.paper || definition.gradTarget.other !== 'not-in-paper') return [];
      if (enumOption(options, 'strategy.grad_target', gradTargets, 'auto') === 'auto') return [];
      return [
        {
          path: ['strategy', 'grad_target'],
          message:
            `"${definition.name}" runs on ${target} gradients as asked, but its paper defines it on ` +
            `${definition.gradTarget.paper} gradients only: ${definition.gradTarget.reason}`,
        },
      ];
    },
    create(options, { tasks, seed, hasSharedRepresentation }) {
      const refused = refusedTarget(definition, options);
      if (refused) throw new UsageError(`strategy.grad_target: ${refused}.`);
      const needs = gradientNeeds(definition, options, { hasSharedRepresentation: hasSharedRepresentation !== false });
      if (needs === 'representation-gradients' && hasSharedRepresentation === false) {
        throw new UsageError(
          `strategy.grad_target: "${definition.name}" on the representation needs a shared representation, which ` +
            'this model does not have (no encode/decode); use an architecture with one trunk shared by all tasks.',
        );
      }
      const combiner = definition.create(methodOptions(options), seed, tasks.length);
      const subsets = new SubsetCombining(combiner, (count) => definition.create(methodOptions(options), seed, count));
      let weights = tasks.map(() => 1);
      // Subset combiners' states join the saved state only once one ran: a run without them saves what it did before.
      const withSubsets = <T extends object>(state: T): T | (T & { subsets: Record<string, unknown> }) => {
        const saved = subsets.state();
        return saved ? { ...state, subsets: saved } : state;
      };
      return {
        name: definition.name,
        needs,
        combiner: {
          ...(combiner.independentSamples !== undefined ? { independentSamples: combiner.independentSamples } : {}),
          combine(input) {
            const result = subsets.combine(input);
            if (result.weights) weights = [...result.weights];
            return result;
          },
          state: () => combiner.state(),
          restore: (state) => combiner.restore(state),
        },
        currentWeights: () => weights,
        state: () => withSubsets({ combiner: combiner.state(), weights }),
        restore(state) {
          const saved = state as { combiner?: unknown; weights?: number[]; subsets?: Record<string, unknown> };
          if (saved.combiner !== undefined) combiner.restore(saved.combiner);
          if (saved.weights) weights = saved.weights;
          subsets.restore(saved.subsets);
        },
      };
    },
  };
}

export const gradientStrategies: StrategyDefinition<GradientStrategy>[] = [...gradientCombiners.values()].map(
  gradientStrategy,
);
