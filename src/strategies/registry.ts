import { Registry } from '../util/registry.js';
import type { StrategyDefinition } from './types.js';
import { gradientStrategies } from './gradient-strategy.js';
import { equal } from './weighting/equal.js';
import { staticWeighting } from './weighting/static.js';
import { accuracyWeighting } from './weighting/accuracy.js';
import { dwa } from './weighting/dwa.js';
import { famo } from './weighting/famo.js';
import { gls } from './weighting/gls.js';
import { gradnorm } from './weighting/gradnorm.js';
import { imtlL } from './weighting/imtl-l.js';
import { lossRatio } from './weighting/loss-ratio.js';
import { rlw } from './weighting/rlw.js';
import { stch } from './weighting/stch.js';
import { uncertainty } from './weighting/uncertainty.js';
import { imtl } from './imtl.js';
import { weightedAverageStrategy } from './weights-from.js';

/** Every strategy a config can name. Adding a method = one file + one line here. */
const definitions: StrategyDefinition[] = [
  equal,
  staticWeighting,
  lossRatio,
  accuracyWeighting,
  uncertainty,
  dwa,
  rlw,
  gls,
  famo,
  imtlL,
  gradnorm,
  stch,
];

/**
 * The gradient methods: each combiner as a strategy, `weighted-average` with its `weights_from` (any loss-weighting
 * method of this registry), and the full `imtl` after its gradient half `imtl-g`.
 */
const gradientDefinitions: StrategyDefinition[] = gradientStrategies.flatMap((definition): StrategyDefinition[] => {
  if (definition.name === 'weighted-average') return [weightedAverageStrategy(lossWeightings)];
  return definition.name === 'imtl-g' ? [definition, imtl] : [definition];
});

export const strategyRegistry = new Registry<StrategyDefinition>('strategy', [...definitions, ...gradientDefinitions]);

function lossWeightings(): StrategyDefinition[] {
  return [...strategyRegistry.values()].filter((definition) => definition.family === 'loss-weighting');
}

export function getStrategy(name: string): StrategyDefinition {
  return strategyRegistry.lookup(name);
}
