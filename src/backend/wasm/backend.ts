/**
 * What the wasm kernel overrides in this folder share: the parts of the wasm backend they use, the marker on the
 * kernels they install, kernel lookup, the switch for the project's SIMD kernels (../simd/) and heap offsets.
 */
import { tf } from '../../tf.js';
import { relaxedSimdSupported, simdKernelsFor, simdSupported, type SimdKernels } from '../simd/module.js';
import type { WasmMemory } from '../simd/wasm-api.js';

export const WASM = 'wasm';
/** Property on our wrapper kernelFunc that holds the stock kernel config it wraps (also the "installed" marker). */
export const ORIGINAL = Symbol.for('mtl.wasm-kernels.original');

export type FastKernelFunc = tf.KernelFunc & { [ORIGINAL]?: tf.KernelConfig };

/** The parts of the wasm backend (BackendWasm) these kernels use. */
export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: tf.TensorInfo['dataId'], force?: boolean): boolean;
  incRef(dataId: tf.TensorInfo['dataId']): void;
  dataIdMap: { get(dataId: tf.TensorInfo['dataId']): { memoryOffset: number } | undefined };
  wasm?: { asm?: { memory?: WasmMemory } };
}

let simdAvailable: boolean | undefined;
let simdEnabled = true;
let relaxedAvailable: boolean | undefined;
/** Off until backend/select.ts turns it on (config `backend.fma`), so tests and benchmarks get the plain kernels. */
let fmaEnabled = false;

/** Whether this runtime validates relaxed SIMD, which the FMA kernels need (checked once). */
export function fmaKernelsAvailable(): boolean {
  relaxedAvailable ??= relaxedSimdSupported();
  return relaxedAvailable;
}

/**
 * Turns the FMA variant of the matrix-product kernels (simd/gemm.ts, `f32x4.relaxed_madd`) on or off; on where the
 * runtime lacks relaxed SIMD is an error (the caller checks {@link fmaKernelsAvailable}). Returns the previous setting.
 */
export function setFmaKernelsEnabled(enabled: boolean): boolean {
  if (enabled && !fmaKernelsAvailable()) throw new Error('wasm-kernels: relaxed SIMD is not available here');
  const previous = fmaEnabled;
  fmaEnabled = enabled;
  return previous;
}

/** Whether the SIMD kernels in use are the FMA variant. */
export function fmaKernelsActive(): boolean {
  return fmaEnabled && simdKernelsActive();
}

/**
 * Turns the project's SIMD kernels (backend/simd/) on or off for the overrides here; off, matrix products go the
 * transpose-then-XNNPACK way and Adam runs its JS loop. For tests that compare the two paths and for benchmarks.
 * Returns the previous setting.
 */
export function setSimdKernelsEnabled(enabled: boolean): boolean {
  const previous = simdEnabled;
  simdEnabled = enabled;
  return previous;
}

/** Whether the overrides use the project's SIMD kernels (enabled, and this runtime validates WebAssembly SIMD). */
export function simdKernelsActive(): boolean {
  simdAvailable ??= simdSupported();
  return simdEnabled && simdAvailable;
}

/** The project's SIMD kernels (backend/simd/) on this backend's heap, or undefined where they cannot run. */
export function simdOf(backend: WasmBackendLike): SimdKernels | undefined {
  if (!simdEnabled) return undefined;
  const memory = backend.wasm?.asm?.memory;
  if (memory === undefined || backend.dataIdMap === undefined) return undefined;
  simdAvailable ??= simdSupported();
  return simdAvailable ? simdKernelsFor(memory, fmaEnabled) : undefined;
}

/** Byte offset of a tensor's data in the wasm heap. */
export function heapOffset(backend: WasmBackendLike, info: tf.TensorInfo): number {
  const entry = backend.dataIdMap.get(info.dataId);
  if (entry === undefined) throw new Error('wasm-kernels: tensor data not on the wasm heap');
  return entry.memoryOffset;
}

export function lookupKernel(name: string): tf.KernelConfig | undefined {
  // getKernel is typed as always returning a config, but returns undefined when none is registered.
  return tf.getKernel(name, WASM) as tf.KernelConfig | undefined;
}

export function sizeOf(shape: readonly number[]): number {
  let s = 1;
  for (const d of shape) s *= d;
  return s;
}

/** Runs the wasm Transpose kernel swapping the last two axes of `x`; the caller frees the result. */
export function transposeLastTwo(x: tf.TensorInfo, backend: WasmBackendLike): tf.TensorInfo {
  const transpose = lookupKernel('Transpose');
  if (transpose === undefined) throw new Error("wasm-kernels: the wasm 'Transpose' kernel is not registered");
  const rank = x.shape.length;
  const perm: number[] = [];
  for (let i = 0; i < rank - 2; i++) perm.push(i);
  perm.push(rank - 1, rank - 2);
  return transpose.kernelFunc({ inputs: { x }, backend, attrs: { perm } }) as tf.TensorInfo;
}
