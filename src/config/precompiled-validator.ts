/**
 * The experiment schema's validator, compiled when the package is built instead of at every start. Compiling the 56 KB
 * schema with ajv took ~230 ms of every `mtl train`, `mtl validate` and sweep worker start; loading the compiled code
 * takes ~50 ms. The build writes `experiment-validator.cjs` beside this module (scripts/precompile-validator.mjs); it
 * is used only while its key, a hash of the schema, the ajv options and ajv's version, matches the schema built now. A
 * definition registered at run time changes the schema, so the key no longer matches and ajv compiles as before.
 */
import { createHash } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Ajv, type Options, type ValidateFunction } from 'ajv';
import standalone = require('ajv/dist/standalone');

const requireFromHere = createRequire(import.meta.url);

/** What the validator is compiled with, at build time and at run time alike (the key covers them). */
export const EXPERIMENT_VALIDATOR_OPTIONS: Options = {
  allErrors: true,
  useDefaults: true,
  strict: true,
  strictRequired: false,
  strictTypes: false,
  verbose: true,
};

/** Where the build writes the compiled validator: beside this module (dist/config/). */
export const PRECOMPILED_VALIDATOR_FILE: string = fileURLToPath(new URL('./experiment-validator.cjs', import.meta.url));

/** The key a compiled validator is valid for: the schema, the options and ajv's version. */
export function validatorKey(schema: object): string {
  const ajvVersion = (requireFromHere('ajv/package.json') as { version: string }).version;
  return createHash('sha256')
    .update(JSON.stringify({ ajvVersion, options: EXPERIMENT_VALIDATOR_OPTIONS, schema }))
    .digest('hex');
}

/** Compiles `schema` as parseConfigText always did: at run time, without ajv's optimising passes. */
export function compileValidator(schema: object): ValidateFunction {
  // The validator checks one config per command: the optimising passes cost more at run time (~90 ms) than they
  // could ever save. At build time they run (precompiledValidatorSource), which makes the code smaller to load.
  return new Ajv({ ...EXPERIMENT_VALIDATOR_OPTIONS, code: { optimize: false } }).compile(schema);
}

/** The compiled validator of `schema` as a CommonJS module that also exports its key. */
export function precompiledValidatorSource(schema: object): string {
  const ajv = new Ajv({ ...EXPERIMENT_VALIDATOR_OPTIONS, code: { source: true, esm: false } });
  const code = standalone.default(ajv, ajv.compile(schema));
  return `${code}\nmodule.exports.key = ${JSON.stringify(validatorKey(schema))};\n`;
}

export function writePrecompiledValidator(schema: object, file: string = PRECOMPILED_VALIDATOR_FILE): void {
  writeFileSync(file, precompiledValidatorSource(schema));
}

/** The compiled validator in `file` when its key matches `schema`; undefined when absent or for another schema. */
export function loadPrecompiledValidator(
  schema: object,
  file: string = PRECOMPILED_VALIDATOR_FILE,
): ValidateFunction | undefined {
  if (!existsSync(file)) return undefined;
  let compiled: ValidateFunction & { key?: unknown };
  try {
    compiled = requireFromHere(file) as ValidateFunction & { key?: unknown };
  } catch {
    // A damaged build output costs the start-up time it would have saved, never the command.
    return undefined;
  }
  return compiled.key === validatorKey(schema) ? compiled : undefined;
}
