import { createRequire } from 'node:module';
import { tf } from '../tf.js';
import { backendSetting } from '../config/backend-setting.js';
import type { BackendChoice, BackendSetting, FmaChoice } from '../config/types.js';
import { UsageError } from '../errors.js';
import { entryPointFromHere } from '../util/paths.js';
import {
  fmaKernelsActive,
  fmaKernelsAvailable,
  installFastWasmKernels,
  setFmaKernelsEnabled,
  simdKernelsActive,
} from './wasm/index.js';

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
  /** Which matrix-product kernels ran: fused multiply-add or not, and why (issue #20). */
  fma: FmaReport;
}

/**
 * `path`: `fma` the SIMD products used relaxed SIMD's multiply-add (one rounding per step where the CPU fuses it);
 * `plain` multiply then add (the kernels of every run before issue #20); `not-applicable` the backend does not run the
 * project's SIMD kernels (tensorflow, cpu, or SIMD unavailable), so `fma` was ignored.
 */
export interface FmaReport {
  requested: FmaChoice;
  path: 'fma' | 'plain' | 'not-applicable';
  reason: string;
}

/**
 * The two ways to get relaxed SIMD, for the error of `fma: on` and for the report. The flag goes on node's command
 * line (NODE_OPTIONS refuses it, so `npx mtl` cannot pass it): the command names this mtl's own entry point.
 */
export function relaxedSimdHow(): string {
  const command = `node --experimental-wasm-relaxed-simd ${entryPointFromHere()} …`;
  return `use Node ≥ 22, or run Node 20 with the flag: \`${command}\``;
}

function chooseFma(requested: FmaChoice, name: BackendName, pinnedBy: string | undefined): FmaReport {
  if (name !== 'wasm' || !simdKernelsActive()) {
    setFmaKernelsEnabled(false);
    const reason =
      name === 'wasm'
        ? "the project's SIMD kernels are off (WebAssembly SIMD unavailable, or switched off)"
        : `the ${name} backend does not run the project's SIMD kernels`;
    return { requested, path: 'not-applicable', reason };
  }
  const available = fmaKernelsAvailable();
  if (requested === 'on' && !available && pinnedBy !== undefined) {
    throw new UsageError(
      `${pinnedBy}, but this runtime (Node ${process.version}) has no WebAssembly relaxed SIMD, which they need: on ` +
        'the plain kernels its numbers would change.',
      [relaxedSimdHow()],
    );
  }
  if (requested === 'on' && !available) {
    throw new UsageError(
      `backend.fma is "on" but this runtime (Node ${process.version}) has no WebAssembly relaxed SIMD, which the ` +
        'fused multiply-add kernels need.',
      [relaxedSimdHow(), 'or set backend.fma to auto (FMA where available) or off (the plain kernels)'],
    );
  }
  const use = requested === 'on' || (requested === 'auto' && available);
  setFmaKernelsEnabled(use);
  if (!fmaKernelsActive() && use) throw new Error('backend: FMA kernels did not switch on');
  if (requested === 'off') return { requested, path: 'plain', reason: pinnedBy ?? 'backend.fma is off' };
  const validates = `relaxed SIMD (f32x4.relaxed_madd) validates in Node ${process.version}`;
  if (use) return { requested, path: 'fma', reason: pinnedBy ? `${pinnedBy}; ${validates}` : validates };
  return {
    requested,
    path: 'plain',
    reason: `no relaxed SIMD in Node ${process.version} (to get it: ${relaxedSimdHow()})`,
  };
}

const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

let current: BackendReport | undefined;
let currentPinnedBy: string | undefined;

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
    // `require`, not `import`: an import makes Node scan the 450 KB CommonJS bundle for export names first (~70 ms).
    createRequire(import.meta.url)('@tensorflow/tfjs-backend-wasm');
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
 * pure-JS cpu backend; an explicit choice that cannot load is a usage error naming the reason. On wasm, `fma` (the
 * option, else the setting's, else `auto`) picks the matrix-product kernels: see {@link FmaReport}; `on` where relaxed
 * SIMD does not validate is a usage error (`pinnedBy`: the run whose recorded path it is, backend/run-kernels.ts).
 * Calling it again with the same choice reuses the backend already set.
 */
export async function initBackend(
  backend: BackendChoice | BackendSetting,
  options: { fma?: FmaChoice; pinnedBy?: string } = {},
): Promise<BackendReport> {
  const setting = backendSetting(backend);
  const requested = setting.name;
  const fma = options.fma ?? setting.fma;
  // The report is reused only for the same question (a pinned replay's reason is its own) and while the backend and
  // the kernels it names are still the ones in place.
  if (
    current &&
    currentPinnedBy === options.pinnedBy &&
    current.requested === requested &&
    current.fma.requested === fma &&
    tf.getBackend() === current.name &&
    fmaKernelsActive() === (current.fma.path === 'fma')
  )
    return current;
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
  const fmaReport = chooseFma(fma, name, options.pinnedBy);
  current = {
    requested,
    name,
    provider,
    attempts,
    tfjsVersion: tf.version.tfjs,
    kernelOverrides,
    simdKernels: name === 'wasm' && simdKernelsActive(),
    fma: fmaReport,
  };
  currentPinnedBy = options.pinnedBy;
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
