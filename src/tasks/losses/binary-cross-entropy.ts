import { sigmoidCrossEntropy } from '../../ops/cross-entropy.js';
import { sigmoidCrossEntropyOnHost } from '../../ops/cross-entropy-host.js';
import type { LossDefinition } from '../types.js';

/**
 * Sigmoid cross-entropy, for 0/1 targets t and logits z, per element:
 *
 *   L = mean_elements max(z, 0) − z·t + log(1 + exp(−|z|))
 *
 * One fused kernel each way in training on wasm and cpu (ops/cross-entropy.ts); the same pass on the host in
 * evaluation.
 */
export const binaryCrossEntropy: LossDefinition = {
  name: 'binary-cross-entropy',
  description: 'sigmoid cross-entropy: mean over elements of max(z, 0) − z·t + log(1 + exp(−|z|))',
  fits: ['binary', 'multilabel'],
  tensor: (output, target) => sigmoidCrossEntropy(target, output),
  host: ({ values }, targets) => sigmoidCrossEntropyOnHost(values, targets).loss,
};
