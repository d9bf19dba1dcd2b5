import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { errnoCode } from './fs-errors.js';

/**
 * `mkdir -p`: `dir` and every missing folder above it. Node's own `mkdirSync(dir, { recursive: true })` spins for
 * ever where `mkdir` answers ENOENT under a parent that exists (procfs and sysfs: `--runs-dir /proc/x`), inside native
 * code, so not even SIGTERM reaches the process's handlers. Here each missing folder is made on its own, from the
 * nearest one that exists, and such a folder fails with the system's error.
 */
export function makeDirectories(dir: string): void {
  const missing: string[] = [];
  let current = path.resolve(dir);
  while (!existsSync(current)) {
    missing.push(current);
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  // A file where the folder should be fails as Node's recursive mkdir does (EEXIST).
  if (missing.length === 0 && !statSync(current).isDirectory()) mkdirSync(current);
  for (const folder of missing.reverse()) {
    try {
      mkdirSync(folder);
    } catch (error) {
      // Another process made it meanwhile: it is there, which is all that is asked.
      if (errnoCode(error) === 'EEXIST') continue;
      // ENOENT under a parent that exists: the file system makes no folders there. "It does not exist" would
      // send the user looking for a typo.
      if (errnoCode(error) === 'ENOENT' && existsSync(path.dirname(folder))) {
        throw Object.assign(new Error(`mkdir ${folder}: the file system makes no folders here`), { code: 'ENOTSUP' });
      }
      throw error;
    }
  }
}
