import { tf } from '../tf.js';
import type { ModelConfig } from '../config/types.js';
import { Registry } from '../util/registry.js';
import { attention } from './architectures/attention.js';
import { cgc } from './architectures/cgc.js';
import { crossStitch } from './architectures/cross-stitch.js';
import { dselectK } from './architectures/dselect-k.js';
import { hardSharing } from './architectures/hard-sharing.js';
import { mmoe } from './architectures/mmoe.js';
import { ple } from './architectures/ple.js';
import { sharedPrivate } from './architectures/shared-private.js';
import { softSharing } from './architectures/soft-sharing.js';
import type { ArchitectureDefinition, ModelBuildContext, MultiTaskModel } from './types.js';

/** Every architecture a config can name. Adding one = one file under architectures/ + one line here. */
const definitions: ArchitectureDefinition[] = [
  hardSharing,
  softSharing,
  crossStitch,
  mmoe,
  cgc,
  ple,
  attention,
  dselectK,
  sharedPrivate,
];

export const architectureRegistry = new Registry<ArchitectureDefinition>('architecture', definitions);

export function getArchitecture(name: string): ArchitectureDefinition {
  return architectureRegistry.lookup(name);
}

/**
 * Builds the model a config describes. When building fails (a layer that does not fit its input, a bad option), the
 * variables created so far are disposed, so their names are free again for the next model in this process.
 */
export function buildArchitecture(config: ModelConfig, context: ModelBuildContext): MultiTaskModel {
  const definition = getArchitecture(config.architecture);
  const before = new Set(Object.keys(tf.engine().registeredVariables));
  try {
    return definition.build(config, context);
  } catch (error) {
    for (const [name, variable] of Object.entries(tf.engine().registeredVariables))
      if (!before.has(name)) variable.dispose();
    throw error;
  }
}
