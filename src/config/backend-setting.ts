import type { BackendChoice, BackendSetting, FmaChoice } from './types.js';

export const BACKEND_NAMES: readonly BackendChoice[] = ['auto', 'tensorflow', 'wasm', 'cpu'];
export const FMA_CHOICES: readonly FmaChoice[] = ['auto', 'on', 'off'];

/** A config's `backend` as `{ name, fma }`: a bare name (every config before issue #20) means `fma: auto`. */
export function backendSetting(backend: BackendChoice | BackendSetting): BackendSetting {
  return typeof backend === 'string' ? { name: backend, fma: 'auto' } : backend;
}
