import type { tf } from '../tf.js';
import type { ModelConfig } from '../config/types.js';
import { kernelLayers } from './experts.js';
import type { LayerStack } from './layers/stack.js';

/**
 * GradNorm's W (Chen et al. 2018, §3.2): "the last shared layer of weights", where the task gradient norms are
 * measured. Here it is the last layer with a kernel (dense or conv2d, with its bias) of the shared trunk; for expert
 * architectures, that layer of every shared expert (the experts together are the last shared layer, since every
 * task's mixture reads all of them). Normalisation layers after it hold per-feature scales, not a layer of weights.
 */

/** The kernel and bias of the last dense or conv2d layer of each stack. */
export function lastKernelLayerVariables(stacks: readonly LayerStack[]): tf.Variable[] {
  return stacks.flatMap((stack) => kernelLayers(stack).at(-1)?.trainable ?? []);
}

/** The config entry of the trunk's last dense or conv2d layer, or why a model built from it has no shared layer. */
export function lastKernelLayerOfTrunk(config: ModelConfig, built: string): { layer: string } | { missing: string } {
  for (let index = config.trunk.length - 1; index >= 0; index--) {
    const type = config.trunk[index]!.type;
    if (type === 'dense' || type === 'conv2d') return { layer: `model.trunk[${index}] (${type}) ${built}` };
  }
  return {
    missing:
      `model.trunk has no dense or conv2d layer, so ${config.architecture} has no shared layer of weights; ` +
      'add a dense layer to model.trunk',
  };
}
