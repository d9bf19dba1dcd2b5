/**
 * Which folders of src/ may import which: the project's kernels are reached from model/ and train/ through src/ops/
 * only, never by importing src/backend/ (ops/ may; docs/architecture.md, "Speed and where it is measured").
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const src = path.resolve(import.meta.dirname, '..', 'src');

/** Every .ts/.js file under `folder`, recursively. */
function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(ts|js)$/.test(entry.name))
    .map((entry) => path.join(entry.parentPath, entry.name));
}

/** The files of src/ that `file` imports (static, type-only, re-exports and dynamic imports), as paths under src/. */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return importedFiles
    .map((imported) => imported.fileName)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) =>
      path
        .relative(src, path.resolve(path.dirname(file), specifier))
        .split(path.sep)
        .join('/'),
    );
}

const RULES: { folders: string[]; mayNotImport: string; because: string }[] = [
  { folders: ['model', 'train'], mayNotImport: 'backend/', because: 'kernels are reached through src/ops/' },
];

describe('import boundaries between the folders of src/', () => {
  for (const { folders, mayNotImport, because } of RULES) {
    it(`${folders.join(' and ')} never import ${mayNotImport} (${because})`, () => {
      const files = folders.flatMap((folder) => sourceFiles(path.join(src, folder)));
      const imports = files.flatMap((file) =>
        importsOf(file).map((target) => `${path.relative(src, file)} → ${target}`),
      );
      expect(imports.length).toBeGreaterThan(50); // the scan sees the folders' imports
      expect(imports.filter((line) => line.split(' → ')[1]!.startsWith(mayNotImport))).toEqual([]);
    });
  }

  it('the layer and training code reach the fast paths through src/ops/', () => {
    expect(importsOf(path.join(src, 'model', 'layers', 'dense.ts'))).toContain('ops/dense.js');
    expect(importsOf(path.join(src, 'tasks', 'losses', 'cross-entropy.ts'))).toContain('ops/cross-entropy.js');
    expect(importsOf(path.join(src, 'train', 'batches.ts'))).toContain('ops/gather-batches.js');
    expect(importsOf(path.join(src, 'train', 'optimizers.ts'))).toContain('ops/adam.js');
  });
});
