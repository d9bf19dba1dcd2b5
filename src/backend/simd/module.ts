/**
 * The project's own WebAssembly SIMD kernels, compiled once per wasm-backend memory and run on that memory: the
 * module imports the backend's `WebAssembly.Memory`, so tensors are read and written where the backend keeps them,
 * with no copies. Generated at run time by simd/assembler.ts (a few kB, compiled in a few ms).
 *
 * Two variants per memory: the plain module (multiply then add, everywhere), and the FMA module, compiled only where
 * the runtime validates relaxed SIMD ({@link relaxedSimdSupported}), whose GEMM vector tiles use `f32x4.relaxed_madd`
 * (simd/gemm.ts). The epilogue (add and max, no multiply), the ReLU gradient (products by 1 or 0, exact) and Adam
 * (elementwise and memory-bound: fusing its few multiply-adds would change the optimizer's numbers for no measurable
 * time) are the same code in both.
 */
import { ModuleBuilder } from './module-builder.js';
import { adamFunctionName, emitAdamFunctions, type AdamHyperparameters } from './adam.js';
import { EPILOGUE_FUNCTION, emitEpilogue } from './epilogue.js';
import { GATHER_ROWS_FUNCTION, emitGatherRows } from './gather.js';
import { RELU_GRAD_FUNCTION, emitReluGrad } from './relu-grad.js';
import { emitGemm, makeGemm, type GemmArgs } from './gemm.js';
import {
  COL2IM_FUNCTION,
  emitPatches,
  geometryArguments,
  IM2COL_FUNCTION,
  MAX_POOL_GRAD_FUNCTION,
  type PatchGeometry,
} from './patches.js';
import { wasmApi, type WasmMemory } from './wasm-api.js';

export interface AdamArgs extends AdamHyperparameters {
  /** Byte offsets of the variable, gradient and moments, and of the three outputs (may equal the inputs). */
  w: number;
  g: number;
  m: number;
  v: number;
  outW: number;
  outM: number;
  outV: number;
  size: number;
}

export interface SimdKernels {
  gemm(args: GemmArgs): void;
  adam(args: AdamArgs): void;
  /** out[i] = x[index[i]] for `count` rows of `rowBytes` bytes (pointers in bytes; index: int32; no range check). */
  gatherRows(args: { x: number; index: number; count: number; rowBytes: number; out: number }): void;
  /** In place on C[rows×n]: c = act(c + bias), bias one value per column or (scalarBias) one for all; bias 0 = none. */
  biasActivation(args: { c: number; bias: number; rows: number; n: number; scalarBias: boolean; relu: boolean }): void;
  /** out = dy ⊙ step(y) over the first 4·blocks floats (simd/relu-grad.ts); pointers in bytes. */
  reluGrad(args: { dy: number; y: number; out: number; blocks: number }): void;
  /** A convolution's patch rows from x (simd/patches.ts); pointers in bytes. */
  im2col(x: number, patches: number, geometry: PatchGeometry): void;
  /** Adds patch rows back into dx at the pixels they came from (simd/patches.ts). */
  col2im(patches: number, dx: number, geometry: PatchGeometry): void;
  /** dx (zeroed) += each pooling window's dy at its maximum (simd/patches.ts). */
  maxPoolGrad(x: number, dy: number, dx: number, geometry: PatchGeometry): void;
}

type AdamFunction = (...args: number[]) => void;

const compiled = new WeakMap<WasmMemory, SimdKernels>();
const compiledFma = new WeakMap<WasmMemory, SimdKernels>();

/** Whether this runtime validates WebAssembly SIMD (Node ≥ 16.4 does). */
export function simdSupported(): boolean {
  try {
    const module = new ModuleBuilder(false);
    module.function('probe', [], []).v128Const0().f32x4Sqrt().drop();
    return wasmApi.validate(module.encode());
  } catch {
    return false;
  }
}

/**
 * Whether this runtime validates WebAssembly relaxed SIMD (`f32x4.relaxed_madd`): Node ≥ 22 by default, Node 20 only
 * with `--experimental-wasm-relaxed-simd`.
 */
export function relaxedSimdSupported(): boolean {
  try {
    const module = new ModuleBuilder(false);
    module.function('probe', [], []).v128Const0().v128Const0().v128Const0().f32x4RelaxedMadd().drop();
    return wasmApi.validate(module.encode());
  } catch {
    return false;
  }
}

/**
 * The kernels on `memory`: `fma` the variant whose products use relaxed SIMD's multiply-add (throws where the runtime
 * does not validate relaxed SIMD; check {@link relaxedSimdSupported} first).
 */
export function simdKernelsFor(memory: WasmMemory, fma = false): SimdKernels {
  const cache = fma ? compiledFma : compiled;
  const cached = cache.get(memory);
  if (cached) return cached;
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const builder = new ModuleBuilder(shared);
  emitGemm(builder, fma);
  emitAdamFunctions(builder);
  emitEpilogue(builder);
  emitGatherRows(builder);
  emitReluGrad(builder);
  emitPatches(builder);
  const instance = new wasmApi.Instance(new wasmApi.Module(builder.encode()), { env: { memory } });
  const adamFunctions = new Map<string, AdamFunction>();
  for (const coupled of [false, true]) {
    for (const decoupled of [false, true]) {
      const name = adamFunctionName(coupled, decoupled);
      adamFunctions.set(name, instance.exports[name] as AdamFunction);
    }
  }
  const epilogue = instance.exports[EPILOGUE_FUNCTION] as (
    c: number,
    bias: number,
    rows: number,
    n: number,
    flags: number,
  ) => void;
  const gatherRows = instance.exports[GATHER_ROWS_FUNCTION] as (
    x: number,
    index: number,
    count: number,
    rowBytes: number,
    out: number,
  ) => void;
  const reluGrad = instance.exports[RELU_GRAD_FUNCTION] as (dy: number, y: number, out: number, blocks: number) => void;
  const im2col = instance.exports[IM2COL_FUNCTION] as (from: number, to: number, ...geometry: number[]) => void;
  const col2im = instance.exports[COL2IM_FUNCTION] as (from: number, to: number, ...geometry: number[]) => void;
  const maxPoolGrad = instance.exports[MAX_POOL_GRAD_FUNCTION] as (
    x: number,
    dy: number,
    dx: number,
    ...geometry: number[]
  ) => void;
  const kernels: SimdKernels = {
    gatherRows({ x, index, count, rowBytes, out }) {
      gatherRows(x, index, count, rowBytes, out);
    },
    gemm: makeGemm(instance.exports),
    adam(a) {
      const fn = adamFunctions.get(adamFunctionName(a.coupledDecay > 0, a.decoupledDecay > 0))!;
      // The f32 parameters: each JS number becomes the float32 scalar the op chain would make of it.
      fn(
        a.w,
        a.g,
        a.m,
        a.v,
        a.outW,
        a.outM,
        a.outV,
        a.size,
        a.beta1,
        1 - a.beta1,
        a.beta2,
        1 - a.beta2,
        a.stepSize,
        a.bias2,
        a.epsilon,
        a.coupledDecay,
        a.decoupledDecay,
      );
    },
    biasActivation({ c, bias, rows, n, scalarBias, relu }) {
      epilogue(c, bias, rows, n, (bias !== 0 ? 1 : 0) | (relu ? 2 : 0) | (scalarBias ? 4 : 0));
    },
    reluGrad({ dy, y, out, blocks }) {
      reluGrad(dy, y, out, blocks);
    },
    im2col(x, patches, geometry) {
      im2col(x, patches, ...geometryArguments(geometry));
    },
    col2im(patches, dx, geometry) {
      col2im(patches, dx, ...geometryArguments(geometry));
    },
    maxPoolGrad(x, dy, dx, geometry) {
      maxPoolGrad(x, dy, dx, ...geometryArguments(geometry));
    },
  };
  cache.set(memory, kernels);
  return kernels;
}
