import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from './paths.js';

/** This mtl's version, from its package.json ('unknown' when that cannot be read, e.g. in an unusual bundle). */
export function mtlVersion(): string {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'version' in parsed && typeof parsed.version === 'string')
      return parsed.version;
    return 'unknown';
  } catch {
    return 'unknown';
  }
}
