import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A fresh temp folder for a test's configs, CSVs and run store. */
export function tempDir(prefix = 'mtl-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function writeFile(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}
