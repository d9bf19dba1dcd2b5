import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Writes a file so readers see the old or the new content, never half of it: temp file in the same folder + rename. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  writeFileSync(temp, data);
  renameSync(temp, file);
}

export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Replaces a whole folder at once: `fill` writes into a fresh temp folder, which then takes the target's place.
 * A crash leaves either the old folder or the new one (plus a temp folder to ignore), never a mix of both.
 */
export function replaceDirAtomic(target: string, fill: (dir: string) => void): void {
  const suffix = randomBytes(4).toString('hex');
  const temp = `${target}.${suffix}.tmp`;
  const trash = `${target}.${suffix}.old`;
  mkdirSync(temp, { recursive: true });
  try {
    fill(temp);
  } catch (error) {
    rmSync(temp, { recursive: true, force: true });
    throw error;
  }
  let moved = false;
  try {
    renameSync(target, trash);
    moved = true;
  } catch {
    // No previous folder.
  }
  renameSync(temp, target);
  if (moved) rmSync(trash, { recursive: true, force: true });
}
