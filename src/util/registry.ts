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
 * What a registered name may be: lower-case words of letters and digits joined by hyphens, as every built-in name is
 * (`cross-entropy`, `conv2d`). Configs, `--set` flags and messages quote these names, where a space, a capital or a
 * dot would read as something else (or need quoting) in one of them.
 */
const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** The nearest name of that form, to offer where a name is refused; undefined when there is none (`"--"`). */
function kebab(name: string): string | undefined {
  const candidate = name
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return NAME.test(candidate) ? candidate : undefined;
}

/**
 * Definitions by name: architectures, strategies, task kinds, losses, layers (the metrics are a fixed map). Built-in
 * definitions are listed in each concept's registry file; code outside the package adds its own with `register` (one
 * definition object, as the built-in ones are), after which configs, the schema and validation know the name.
 */
export class Registry<T extends { readonly name: string }> extends Map<string, T> {
  /**
   * `what` names the concept in errors: `Unknown ${what} "x"`. `check` returns what is wrong with a definition
   * beyond its name (e.g. a loss that fits a task type nobody registered), or undefined; `register` refuses it then.
   */
  constructor(
    readonly what: string,
    definitions: Iterable<T> = [],
    private readonly check?: (definition: T) => string | undefined,
  ) {
    super();
    for (const definition of definitions) this.register(definition);
  }

  /**
   * Adds a definition. A taken name is refused, not replaced: configs and saved runs refer to a definition by its
   * name alone, so replacing one would change what every existing config means. The errors are UsageErrors: the
   * caller is user code extending mtl, and the message says what to change.
   */
  register(definition: T): T {
    const name: unknown = definition.name;
    const shown = typeof name === 'string' ? `"${name}"` : String(name);
    if (typeof name !== 'string' || !NAME.test(name)) {
      const hint = typeof name === 'string' ? kebab(name) : undefined;
      throw new UsageError(
        `Cannot register ${this.what} ${shown}: a name is lower-case letters and digits in words joined by hyphens, ` +
          `starting with a letter (as ${this.what} "${this.names()[0] ?? 'my-name'}"), because configs refer to ` +
          `it by that name. ${hint ? `Name it "${hint}".` : 'Give it a name of that form.'}`,
      );
    }
    if (super.has(name)) {
      throw new UsageError(
        `Cannot register ${this.what} "${name}": the name is taken (by a built-in ${this.what} or an earlier ` +
          `register call), and configs refer to definitions by name alone. Give yours another name, e.g. ` +
          `"my-${name}"; known: ${this.names().join(', ')}.`,
      );
    }
    const problem = this.check?.(definition);
    if (problem !== undefined) throw new UsageError(`Cannot register ${this.what} "${name}": ${problem}`);
    super.set(name, definition);
    generation++;
    return definition;
  }

  /**
   * Removes a registration (code unloading its extension, a test undoing its own); configs, the schema and validation
   * no longer know the name. Runs that used it keep their stored config but cannot be resumed or evaluated until it
   * is registered again.
   */
  override delete(name: string): boolean {
    const removed = super.delete(name);
    if (removed) generation++;
    return removed;
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
