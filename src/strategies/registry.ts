import { UsageError } from '../errors.js';
import { suggest } from '../util/suggest.js';
import type { StrategyDefinition } from './types.js';
import { equal } from './weighting/equal.js';
import { staticWeighting } from './weighting/static.js';

/** Every strategy a config can name. Adding a method = one file + one line here. */
const definitions: StrategyDefinition[] = [equal, staticWeighting];

export const strategyRegistry: ReadonlyMap<string, StrategyDefinition> = new Map(
  definitions.map((definition) => [definition.name, definition]),
);

export function getStrategy(name: string): StrategyDefinition {
  const definition = strategyRegistry.get(name);
  if (!definition) {
    const hint = suggest(name, [...strategyRegistry.keys()]);
    throw new UsageError(
      `Unknown strategy "${name}".${hint ? ` Did you mean "${hint}"?` : ''} Known: ${[...strategyRegistry.keys()].join(', ')}.`,
    );
  }
  return definition;
}
