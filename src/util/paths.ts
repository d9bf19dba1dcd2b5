import { fileURLToPath } from 'node:url';
import path from 'node:path';

/**
 * The package root (the folder holding package.json, datasets/, configs/, schema/). Both src/util/paths.ts (tests)
 * and dist/util/paths.js (the built CLI) sit two levels below it.
 */
export const packageRoot: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Absolute path of a file shipped under datasets/. */
export function datasetPath(...parts: string[]): string {
  return path.join(packageRoot, 'datasets', ...parts);
}

/**
 * This mtl's command-line entry point (bin/mtl.js) as a path from the working folder, with / between its parts:
 * `bin/mtl.js` in a clone, `node_modules/mtl/bin/mtl.js` where mtl is installed.
 */
export function entryPointFromHere(): string {
  return path
    .relative(process.cwd(), path.join(packageRoot, 'bin', 'mtl.js'))
    .split(path.sep)
    .join('/');
}
