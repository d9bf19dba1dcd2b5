import * as tf from '@tensorflow/tfjs';
import type { BackendChoice } from '../config/types.js';
import { UsageError } from '../errors.js';
import { installFastWasmKernels, simdKernelsActive } from './wasm/index.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface BackendAttempt {
  backend: string;
  ok: boolean;
  /** Why it was skipped or failed (missing package, no native library, …). */
  reason?: string;
}

/** What ran, and why the others did not: stored in every run's meta.json. */
export interface BackendReport {
  requested: BackendChoice;
  name: BackendName;
  /** The package that provided it, e.g. "@tensorflow/tfjs-node-gpu". */
  provider: string;
  attempts: BackendAttempt[];
  tfjsVersion: string;
  /** Kernel overrides installed for speed (wasm). */
  kernelOverrides: string[];
  /** Whether matrix products and Adam ran on the project's WebAssembly SIMD kernels (backend/simd/; wasm only). */
  simdKernels: boolean;
}

const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

let current: BackendReport | undefined;

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/Cannot find (module|package)/.test(message)) return 'not installed (optional dependency)';
  return message.split('\n')[0] ?? message;
}

async function tryNative(attempts: BackendAttempt[]): Promise<string | undefined> {
  for (const pkg of NATIVE_PACKAGES) {
    try {
      await import(pkg);
      if (await tf.setBackend('tensorflow')) {
        attempts.push({ backend: pkg, ok: true });
        return pkg;
      }
      attempts.push({ backend: pkg, ok: false, reason: 'loaded but the tensorflow backend did not initialise' });
    } catch (error) {
      attempts.push({ backend: pkg, ok: false, reason: describe(error) });
    }
  }
  return undefined;
}

async function tryWasm(attempts: BackendAttempt[]): Promise<boolean> {
  try {
    await import('@tensorflow/tfjs-backend-wasm');
    if (await tf.setBackend('wasm')) {
      attempts.push({ backend: 'wasm', ok: true });
      return true;
    }
    attempts.push({ backend: 'wasm', ok: false, reason: 'the wasm backend did not initialise' });
  } catch (error) {
    attempts.push({ backend: 'wasm', ok: false, reason: describe(error) });
  }
  return false;
}

/**
 * Chooses and initialises the TF.js backend. `auto` tries native TensorFlow (GPU build first), then wasm, then the
 * pure-JS cpu backend; an explicit choice that cannot load is a usage error naming the reason.
 * Calling it again with the same choice reuses the backend already set.
 */
export async function initBackend(requested: BackendChoice): Promise<BackendReport> {
  if (current && current.requested === requested && tf.getBackend() === current.name) return current;
  const attempts: BackendAttempt[] = [];
  let name: BackendName | undefined;
  let provider = '';
  if (requested === 'auto' || requested === 'tensorflow') {
    const pkg = await tryNative(attempts);
    if (pkg) {
      name = 'tensorflow';
      provider = pkg;
    } else if (requested === 'tensorflow') {
      throw new UsageError('backend "tensorflow" is not available here:', [
        ...attempts.map((a) => `${a.backend}: ${a.reason ?? 'failed'}`),
        'install @tensorflow/tfjs-node (CPU) or @tensorflow/tfjs-node-gpu (CUDA), or use --backend wasm',
      ]);
    }
  }
  if (!name && (requested === 'auto' || requested === 'wasm')) {
    if (await tryWasm(attempts)) {
      name = 'wasm';
      provider = '@tensorflow/tfjs-backend-wasm';
    } else if (requested === 'wasm') {
      throw new UsageError(
        'backend "wasm" is not available here:',
        attempts.map((a) => `${a.backend}: ${a.reason ?? 'failed'}`),
      );
    }
  }
  if (!name) {
    await tf.setBackend('cpu');
    attempts.push({ backend: 'cpu', ok: true });
    name = 'cpu';
    provider = '@tensorflow/tfjs-backend-cpu';
  }
  await tf.ready();
  const kernelOverrides = name === 'wasm' ? installFastWasmKernels().installed : [];
  current = {
    requested,
    name,
    provider,
    attempts,
    tfjsVersion: tf.version.tfjs,
    kernelOverrides,
    simdKernels: name === 'wasm' && simdKernelsActive(),
  };
  return current;
}

/** What each backend would do here, without keeping any of them: for `mtl doctor`. */
export async function probeBackends(): Promise<BackendAttempt[]> {
  const attempts: BackendAttempt[] = [];
  const before = tf.getBackend();
  await tryNative(attempts);
  await tryWasm(attempts);
  attempts.push({ backend: 'cpu', ok: await tf.setBackend('cpu') });
  if (before) await tf.setBackend(before);
  return attempts;
}
