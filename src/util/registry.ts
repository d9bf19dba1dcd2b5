import { UsageError } from '../errors.js';
import { suggest } from './suggest.js';

let generation = 0;

/**
 * How many registrations have happened in this process, across every registry. The experiment schema is generated
 * from the registries, so whatever caches a compiled schema recompiles when this changes (a method registered from
 * user code or a test after the first config was loaded).
 */
export function registryGeneration(): number {
  return generation;
}

/**
 * Definitions by name: architectures, strategies, task kinds, losses, layers, metrics. Built-in definitions are listed
 * in each concept's registry file; code outside the package adds its own with `register` (one definition object, as
 * the built-in ones are), after which configs, the schema and validation know the name.
 */
export class Registry<T extends { readonly name: string }> extends Map<string, T> {
  /** `what` names the concept in errors: `Unknown ${what} "x"`. */
  constructor(
    readonly what: string,
    definitions: Iterable<T> = [],
  ) {
    super();
    for (const definition of definitions) this.register(definition);
  }

  /** Adds a definition; a name that is taken is a programming error, not silently replaced. */
  register(definition: T): T {
    if (super.has(definition.name)) throw new Error(`${this.what} "${definition.name}" is registered already`);
    super.set(definition.name, definition);
    generation++;
    return definition;
  }

  /** The definition of `name`, or a UsageError naming the known ones and the closest match. */
  lookup(name: string): T {
    const definition = super.get(name);
    if (definition) return definition;
    const known = [...super.keys()];
    const hint = suggest(name, known);
    throw new UsageError(
      `Unknown ${this.what} "${name}".${hint ? ` Did you mean "${hint}"?` : ''} Known: ${known.join(', ')}.`,
    );
  }

  names(): string[] {
    return [...super.keys()];
  }
}
