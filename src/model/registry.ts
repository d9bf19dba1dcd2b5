import { UsageError } from '../errors.js';
import { suggest } from '../util/suggest.js';
import { hardSharing } from './architectures/hard-sharing.js';
import type { ArchitectureDefinition } from './types.js';

/** Every architecture a config can name. Adding one = one file under architectures/ + one line here. */
const definitions: ArchitectureDefinition[] = [hardSharing];

export const architectureRegistry: ReadonlyMap<string, ArchitectureDefinition> = new Map(
  definitions.map((definition) => [definition.name, definition]),
);

export function getArchitecture(name: string): ArchitectureDefinition {
  const definition = architectureRegistry.get(name);
  if (!definition) {
    const hint = suggest(name, [...architectureRegistry.keys()]);
    throw new UsageError(
      `Unknown architecture "${name}".${hint ? ` Did you mean "${hint}"?` : ''} Known: ${[...architectureRegistry.keys()].join(', ')}.`,
    );
  }
  return definition;
}
