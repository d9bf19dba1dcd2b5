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
