import { UsageError } from '../../errors.js';
import type { BuiltinDataset } from '../types.js';
import { adultIncome } from './adult-income.js';
import { multiDigits } from './multi-digits.js';
import { parkinsonsUpdrs } from './parkinsons-updrs.js';
import { penguins } from './penguins.js';
import { syntheticCorrelated } from './synthetic-correlated.js';

/** Every built-in dataset, by name (the value of `data.dataset` in a config). */
export const builtinDatasets: ReadonlyMap<string, BuiltinDataset> = new Map(
  [multiDigits, adultIncome, parkinsonsUpdrs, penguins, syntheticCorrelated].map((d) => [d.name, d] as const),
);

/** The built-in dataset called `name`; a UsageError listing the known names when there is none. */
export function getBuiltinDataset(name: string): BuiltinDataset {
  const found = builtinDatasets.get(name);
  if (found === undefined) {
    throw new UsageError(`unknown built-in dataset "${name}"`, [
      `known datasets: ${[...builtinDatasets.keys()].join(', ')}`,
    ]);
  }
  return found;
}

export { adultIncome } from './adult-income.js';
export { multiDigits, composeDigits, splitDigitPools, buildMultiDigits } from './multi-digits.js';
export { parkinsonsUpdrs } from './parkinsons-updrs.js';
export { penguins } from './penguins.js';
export { syntheticCorrelated, buildSyntheticCorrelated } from './synthetic-correlated.js';
