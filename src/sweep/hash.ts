import { createHash } from 'node:crypto';

/**
 * Trial and sweep identities. A trial's hash is sha256 over the canonical JSON (keys sorted at every level) of
 * `{ config, data }`: its resolved config (every default filled, so `lr: 0.001` written or defaulted is one trial) and
 * the sha256 of the CSV it reads (null for a built-in dataset, which the config fully describes). The folder and id
 * take its first {@link TRIAL_HASH_LENGTH} hex digits. A sweep's id is its name, slugged, and the first 8 hex digits of
 * the sha256 of the sweep file's text.
 */
export const TRIAL_HASH_LENGTH = 12;

/** JSON with object keys sorted, so equal values give equal text whatever order their keys were written in. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function trialHash(config: unknown, dataSha256: string | undefined): string {
  return sha256Hex(canonicalJson({ config, data: dataSha256 ?? null })).slice(0, TRIAL_HASH_LENGTH);
}

export function sweepId(slug: string, sweepText: string): string {
  return `${slug}-${sha256Hex(sweepText).slice(0, 8)}`;
}
