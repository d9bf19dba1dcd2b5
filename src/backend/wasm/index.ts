/**
 * Faster (and, for convolutions, missing or corrected) kernels for the TF.js wasm backend.
 *
 * Measured on this project's machine, Node 20, tfjs 4.22, wasm + SIMD, one thread (every figure in this folder).
 *
 * One file per kernel family, each with a comment on why its kernels are overridden, what was measured and which
 * stock bugs they work around:
 *  - matmul.ts: `BatchMatMul`, `_FusedMatMul` (the project's SIMD kernels, else transpose-then-XNNPACK);
 *  - copies.ts: `Slice`, `SplitV`, `Unpack`, `GatherV2`, `Identity`, `MtlGatherBatches` (added);
 *  - sum.ts: `Sum` over leading axes;
 *  - adam.ts: `MtlAdamUpdate` (added);
 *  - relu-grad.ts: `MtlReluGrad` (added);
 *  - conv.ts: `Conv2DBackpropFilter` (added), `Conv2DBackpropInput`, `MaxPoolGrad`;
 *  - backend.ts: what they share (the wasm backend's interface, the installed-kernel marker, kernel lookup, the
 *    SIMD switch, heap offsets).
 * The generated WebAssembly SIMD kernels they run are in ../simd/.
 *
 * Only the kernels registered for the `wasm` backend are touched; `cpu`, `webgl` and `tensorflow` keep
 * theirs. The stock kernels' `setupFunc`/`disposeFunc` are kept, so installing before the wasm backend is
 * initialised also works.
 */
import { tf } from '../../tf.js';
import { adamUpdate, ADAM_UPDATE_KERNEL } from './adam.js';
import { ORIGINAL, WASM, lookupKernel, type FastKernelFunc } from './backend.js';
import {
  conv2dBackpropFilter,
  CONV2D_FILTER_GRAD_KERNEL,
  makeFastConv2D,
  makeFastConv2DBackpropInput,
} from './conv.js';
import { makeFastMaxPoolGrad } from './max-pool-grad.js';
import {
  gatherBatches,
  GATHER_BATCHES_KERNEL,
  makeFastGather,
  makeFastIdentity,
  makeFastSlice,
  makeFastSplitV,
  makeFastUnpack,
} from './copies.js';
import { makeFastMatMul } from './matmul.js';
import { reluGrad, RELU_GRAD_KERNEL } from './relu-grad.js';
import { makeFastSum } from './sum.js';

export { ADAM_KERNEL_MAX_SIZE, ADAM_UPDATE_KERNEL, fusedAdamMaxSize, type AdamUpdateAttrs } from './adam.js';
export {
  fmaKernelsActive,
  fmaKernelsAvailable,
  setFmaKernelsEnabled,
  setSimdKernelsEnabled,
  simdKernelsActive,
} from './backend.js';
export { CONV2D_FILTER_GRAD_KERNEL } from './conv.js';
export { GATHER_BATCHES_KERNEL, type GatherBatchesAttrs } from './copies.js';
export { RELU_GRAD_KERNEL } from './relu-grad.js';
export { shouldSplit, shouldTranspose } from './matmul.js';

/** Kernels this module replaces (or, for {@link ADAM_UPDATE_KERNEL}, adds) on the wasm backend. */
export const FAST_WASM_KERNEL_NAMES: readonly string[] = [
  'BatchMatMul',
  '_FusedMatMul',
  'Slice',
  'SplitV',
  'Unpack',
  'GatherV2',
  'Sum',
  'Identity',
  'MaxPoolGrad',
  'Conv2DBackpropInput',
  'Conv2D',
  ADAM_UPDATE_KERNEL,
  'Conv2DBackpropFilter',
  GATHER_BATCHES_KERNEL,
  RELU_GRAD_KERNEL,
];

/** Marks a kernel this module added (there is no stock kernel to put back). */
const ADDED: tf.KernelConfig = {
  kernelName: '',
  backendName: WASM,
  kernelFunc: () => {
    throw new Error('wasm-kernels: placeholder');
  },
};

/** The wrapper for each replaced kernel, given the stock config it wraps. */
const FACTORIES: Record<string, (stock: tf.KernelConfig) => FastKernelFunc> = {
  BatchMatMul: (stock) => makeFastMatMul(stock, false),
  _FusedMatMul: (stock) => makeFastMatMul(stock, true),
  Slice: makeFastSlice,
  SplitV: makeFastSplitV,
  Unpack: makeFastUnpack,
  GatherV2: makeFastGather,
  Sum: makeFastSum,
  Identity: makeFastIdentity,
  MaxPoolGrad: makeFastMaxPoolGrad,
  Conv2DBackpropInput: makeFastConv2DBackpropInput,
  Conv2D: makeFastConv2D,
};

/** Kernels this module adds where the wasm backend has none, by name. */
const ADDED_KERNELS: Record<
  string,
  (args: {
    inputs: tf.NamedTensorInfoMap;
    backend: unknown;
    attrs?: tf.NamedAttrMap;
  }) => tf.TensorInfo | tf.TensorInfo[]
> = {
  [ADAM_UPDATE_KERNEL]: adamUpdate,
  [CONV2D_FILTER_GRAD_KERNEL]: conv2dBackpropFilter,
  [GATHER_BATCHES_KERNEL]: gatherBatches,
  [RELU_GRAD_KERNEL]: reluGrad,
};

/**
 * Replaces the wasm backend's `BatchMatMul` and `_FusedMatMul` kernels with versions that avoid the
 * backend's slow matMul loop; `Slice`, `SplitV`, `Unpack`, `GatherV2`, `Identity` and leading-axis `Sum` with
 * versions that copy less; and adds `MtlAdamUpdate` (see each kernel file's module comment for the measurements).
 * Matrix products are the same up to float32 rounding order; everything else is bit-identical.
 *
 * Idempotent: calling it again leaves the installed kernels in place. Safe to call whether or not the wasm
 * backend is the active one, or initialised yet; it needs `@tensorflow/tfjs-backend-wasm` to have been
 * imported (which registers the kernels) and does nothing for kernels that are not registered.
 *
 * @returns the kernel names whose fast version is active after the call (empty when the wasm backend's
 *   kernels are not registered).
 */
export function installFastWasmKernels(): { installed: string[] } {
  const installed: string[] = [];
  if (lookupKernel('Transpose') === undefined) return { installed };
  for (const name of FAST_WASM_KERNEL_NAMES) {
    const current = lookupKernel(name);
    const addedFunc = ADDED_KERNELS[name];
    if (addedFunc !== undefined) {
      if (current === undefined) {
        const added = addedFunc as unknown as FastKernelFunc;
        added[ORIGINAL] = ADDED;
        tf.registerKernel({ kernelName: name, backendName: WASM, kernelFunc: added });
      } else if ((current.kernelFunc as FastKernelFunc)[ORIGINAL] === undefined) {
        continue; // a later tfjs-backend-wasm has its own: keep it
      }
      installed.push(name);
      continue;
    }
    if (current === undefined) continue;
    if ((current.kernelFunc as FastKernelFunc)[ORIGINAL] !== undefined) {
      installed.push(name);
      continue;
    }
    const config: tf.KernelConfig = {
      kernelName: name,
      backendName: WASM,
      kernelFunc: (FACTORIES[name] as (stock: tf.KernelConfig) => FastKernelFunc)(current),
    };
    if (current.setupFunc !== undefined) config.setupFunc = current.setupFunc;
    if (current.disposeFunc !== undefined) config.disposeFunc = current.disposeFunc;
    tf.unregisterKernel(name, WASM);
    tf.registerKernel(config);
    installed.push(name);
  }
  return { installed };
}

/**
 * Puts the stock wasm kernels back (for tests and benchmarks comparing both): all of them, or only `names`.
 * @returns the kernel names that were restored.
 */
export function uninstallFastWasmKernels(names: readonly string[] = FAST_WASM_KERNEL_NAMES): { restored: string[] } {
  const restored: string[] = [];
  for (const name of FAST_WASM_KERNEL_NAMES.filter((n) => names.includes(n))) {
    const current = lookupKernel(name);
    const stock = current === undefined ? undefined : (current.kernelFunc as FastKernelFunc)[ORIGINAL];
    if (stock === undefined) continue;
    tf.unregisterKernel(name, WASM);
    if (stock !== ADDED) tf.registerKernel(stock);
    restored.push(name);
  }
  return { restored };
}

/** Whether the fast version of `kernelName` is the one registered for the wasm backend. */
export function isFastWasmKernelInstalled(kernelName: string): boolean {
  const current = lookupKernel(kernelName);
  return current !== undefined && (current.kernelFunc as FastKernelFunc)[ORIGINAL] !== undefined;
}
