import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { buildExperimentSchema } from '../src/config/schema.js';
import {
  compileValidator,
  loadPrecompiledValidator,
  validatorKey,
  writePrecompiledValidator,
} from '../src/config/precompiled-validator.js';
import { architectureRegistry } from '../src/model/registry.js';
import { strategyRegistry } from '../src/strategies/registry.js';
import { tempDir } from './helpers.js';
import { root } from './helpers/cli.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function shippedConfigs(dir = path.join(root, 'configs')): Json[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return shippedConfigs(file);
    return entry.name.endsWith('.yaml') ? [parseYaml(readFileSync(file, 'utf8')) as Json] : [];
  });
}

/** Each leaf replaced by a value of another type and by an out-of-range number, and an unknown key in each mapping. */
function mutations(value: Json, at: (replacement: Json) => Json = (r) => r): Json[] {
  if (Array.isArray(value))
    return value.flatMap((item, i) => mutations(item, (r) => at(value.map((old, j) => (j === i ? r : old)))));
  if (value !== null && typeof value === 'object') {
    return [
      at({ ...value, unknown_field: 1 }),
      ...Object.entries(value).flatMap(([key, item]) => mutations(item, (r) => at({ ...value, [key]: r }))),
    ];
  }
  return [at(typeof value === 'string' ? 7 : 'text'), at(-1), at(null)];
}

function outcome(validate: ReturnType<typeof compileValidator>, config: Json): unknown {
  const data = structuredClone(config);
  const valid = validate(data);
  // `data` too: the validator fills defaults in place (useDefaults).
  return { valid, errors: validate.errors ?? null, data };
}

describe('the validator compiled at build time (src/config/precompiled-validator.ts)', () => {
  const schema = buildExperimentSchema();
  // The compiled code requires ajv's runtime helpers, found from where the file lies (dist/config/ in the package).
  const dir = tempDir();
  symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  const file = path.join(dir, 'experiment-validator.cjs');
  writePrecompiledValidator(schema, file);

  it('loads for the schema it was compiled from', () => {
    expect(loadPrecompiledValidator(schema, file)).toBeTypeOf('function');
  });

  it('answers every config, good or bad, as the validator compiled at run time does: errors, defaults filled', () => {
    const precompiled = loadPrecompiledValidator(schema, file);
    if (!precompiled) throw new Error('the precompiled validator did not load');
    const compiled = compileValidator(schema);
    const quickstart = shippedConfigs().find((c) => (c as { name?: string }).name === 'quickstart') as {
      [key: string]: Json;
    };
    const corpus: Json[] = [
      ...shippedConfigs(),
      ...[...strategyRegistry.keys()].map((name) => ({ ...quickstart, strategy: { name } })),
      ...[...architectureRegistry.keys()].map((name) => ({
        ...quickstart,
        model: { ...(quickstart['model'] as { [key: string]: Json }), architecture: name },
      })),
    ];
    const cases = [...corpus, ...shippedConfigs().flatMap((config) => mutations(config))];
    expect(cases.length).toBeGreaterThan(1000);
    let invalid = 0;
    for (const config of cases) {
      const expected = outcome(compiled, config);
      expect(outcome(precompiled, config)).toEqual(expected);
      if (!(expected as { valid: boolean }).valid) invalid += 1;
    }
    // The corpus exercises the error paths, not only the happy one.
    expect(invalid).toBeGreaterThan(cases.length / 2);
  });

  it('is not used for another schema (a definition registered since, another ajv), nor absent or cut short', () => {
    const other = { ...schema, title: 'another schema' };
    expect(validatorKey(other)).not.toBe(validatorKey(schema));
    expect(loadPrecompiledValidator(other, file)).toBeUndefined();
    expect(loadPrecompiledValidator(schema, path.join(tempDir(), 'absent.cjs'))).toBeUndefined();
    const stale = path.join(dir, 'stale.cjs');
    writeFileSync(
      stale,
      readFileSync(file, 'utf8').replace(/module\.exports\.key = "[0-9a-f]+"/, 'module.exports.key = "0"'),
    );
    expect(loadPrecompiledValidator(schema, stale)).toBeUndefined();
    const cut = path.join(dir, 'cut.cjs');
    writeFileSync(cut, readFileSync(file, 'utf8').slice(0, 5000));
    expect(loadPrecompiledValidator(schema, cut)).toBeUndefined();
  });

  it('the built package uses it: dist/config/experiment-validator.cjs fits the schema of the built registries', () => {
    // As `mtl` runs: the schema built by dist/, so a schema that came out differently at each start (an unstable key
    // order) would show here as a validator never used.
    const script =
      "const { buildExperimentSchema } = await import('./dist/config/schema.js');" +
      "const { loadPrecompiledValidator } = await import('./dist/config/precompiled-validator.js');" +
      'process.stdout.write(String(loadPrecompiledValidator(buildExperimentSchema()) !== undefined));';
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('true');
  });
});
