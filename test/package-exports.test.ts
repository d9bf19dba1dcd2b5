/**
 * What a project that installs mtl reaches through the package's name: the library, and the shipped configs the
 * README's Library example loads (`import.meta.resolve('mtl/configs/quickstart.yaml')`), which the exports map used
 * to hide.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from './helpers/cli.js';

describe('the package as another project installs it', () => {
  it('resolves the shipped configs by the package name, and ships the docs the README links', () => {
    // Self-reference: Node resolves a package's own name through its exports map, as an installing project does.
    const program =
      "import { fileURLToPath } from 'node:url'; " +
      "process.stdout.write(fileURLToPath(import.meta.resolve('mtl/configs/quickstart.yaml')));";
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', program], { cwd: root, encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(child.stdout).toBe(path.join(root, 'configs', 'quickstart.yaml'));
    const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { files: string[] };
    expect(manifest.files).toEqual(expect.arrayContaining(['dist', 'configs', 'datasets', 'schema', 'docs']));
  });

  it("carries its TypeScript sources inside dist's source maps (src/ is not in the package)", () => {
    // A stack trace or a debugger mapped through dist/*.js.map shows our source, which the package does not ship.
    const map = JSON.parse(readFileSync(path.join(root, 'dist', 'api', 'train.js.map'), 'utf8')) as {
      sources: string[];
      sourcesContent?: string[];
    };
    expect(map.sources).toEqual(['../../src/api/train.ts']);
    expect(map.sourcesContent?.[0]).toBe(readFileSync(path.join(root, 'src', 'api', 'train.ts'), 'utf8'));
  });
});
