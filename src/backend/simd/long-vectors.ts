/**
 * The two passes over the P-long task gradients that every gradient method makes, in WebAssembly SIMD with float64
 * sums, bit-identical to numerics/vectors.ts (test/long-vectors.test.ts; the kernels and their arithmetic are in
 * long-vector-kernels.ts):
 *
 * - the Gram matrix G = [g_iᵀ g_j] (numerics/gram.ts), T(T+1)/2 products per step. In plain JS that was the largest
 *   cost of a gradient method beyond the backward passes as T grows (T = 16, P = 234k: ~50 ms a step);
 * - the combination Σ_i w_i g_i as float32 (`linearCombination`), T·P multiply-adds.
 *
 * Vectors are copied into this module's own memory (not the TF.js heap), except the step's task gradients, which the
 * trainer writes straight into a second memory (the arena) that the kernels read in place. A combination of those
 * gradients is left where the kernel wrote it, in the arena, and lives as long as they do (to the next step): the
 * step copies it into the shared variables' gradient tensors at once, and a fresh megabyte per step cost W2 more than
 * its copy (V8 collects such buffers on its helper threads, which share this machine's two cores).
 */
import { COMBINE_FUNCTION, combineName, dotsName, emitLongVectorKernels, WIDTH } from './long-vector-kernels.js';
import { ModuleBuilder } from './module-builder.js';
import { wasmApi, type WasmMemory } from './wasm-api.js';

const PAGE = 65536;

interface GrowableMemory extends WasmMemory {
  grow(pages: number): number;
}

type DotsFunction = (...args: number[]) => void;

/** One instance of the compiled kernels and the memory it works in. */
class Bank {
  readonly memory: GrowableMemory;
  readonly dots: DotsFunction[];
  readonly combine: DotsFunction;
  /** combine_c for c = 1 … WIDTH, at index c − 1. */
  readonly combineFixed: DotsFunction[];

  constructor(compiled: object) {
    const api = wasmApi as unknown as { Memory: new (d: { initial: number }) => GrowableMemory };
    this.memory = new api.Memory({ initial: 1 });
    const instance = new wasmApi.Instance(compiled, { env: { memory: this.memory } });
    this.dots = Array.from({ length: WIDTH }, (_, i) => instance.exports[dotsName(i + 1)] as DotsFunction);
    this.combine = instance.exports[COMBINE_FUNCTION] as DotsFunction;
    this.combineFixed = Array.from({ length: WIDTH }, (_, i) => instance.exports[combineName(i + 1)] as DotsFunction);
  }

  /** Room for `bytes` bytes; the buffer changes (views of the old one are emptied) when the memory grows. */
  reserve(bytes: number): ArrayBuffer | SharedArrayBuffer {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / PAGE));
    return this.memory.buffer;
  }
}

/** Bytes from one vector's start to the next's: 16-byte aligned, so every block is one v128 load. */
function strideOf(length: number): number {
  return Math.ceil((length * 4) / 16) * 16;
}

/** Bytes of lane sums at the start of the scratch space (aligned, as everything after them). */
const LANE_BYTES = 16 * WIDTH;

/**
 * Combinations of the arena's vectors that keep a place of their own until the next `allocate` (a method takes one
 * per step); one more is the place a further combination is written to and copied out of.
 */
const ARENA_OUTPUTS = 2;

/** Bytes from the scratch space's start to its first output: lane sums, then the weights and pointers of a call. */
function tablesBytes(count: number): number {
  return LANE_BYTES + Math.ceil((8 * count + 4 * count) / 16) * 16;
}

/** Bytes after the vectors: lane sums, a call's weights and pointers, and `outputs` combinations. */
function scratchBytes(count: number, length: number, outputs = 1): number {
  return tablesBytes(count) + outputs * strideOf(length);
}

/** Where a call's vectors are: their bank, byte pointers, and the start of the scratch space after them. */
interface Placement {
  bank: Bank;
  pointers: number[];
  scratch: number;
}

/**
 * The compiled products, in two banks. `copies`: vectors from anywhere, copied in per call. `arena`: the step's task
 * gradients, written there by the trainer (`stepVectors`), so that the Gram matrix and the combination read them in
 * place; a P-long gradient is ~1 MB, and copying it in twice and allocating it afresh every step cost W2 (PCGrad,
 * T = 2) about 1 ms of its 15.
 */
class LongVectors {
  private readonly compiled: object;
  private readonly copies: Bank;
  private arena: Bank | undefined;
  private arenaLayout = { count: 0, length: 0, scratch: 0 };
  /** Combinations of the arena's current vectors given out in places of their own (up to ARENA_OUTPUTS). */
  private arenaOutputs = 0;

  constructor() {
    const module = new ModuleBuilder(false);
    emitLongVectorKernels(module);
    this.compiled = new wasmApi.Module(module.encode());
    this.copies = new Bank(this.compiled);
  }

  /** `count` vectors of `length` in the arena, valid until the next call, then empty (contents unspecified). */
  allocate(count: number, length: number): Float32Array[] {
    if (!this.arena) this.arena = new Bank(this.compiled);
    const bank = this.arena;
    const stride = strideOf(length);
    const scratch = stride * count;
    bank.reserve(scratch + scratchBytes(count, length, ARENA_OUTPUTS + 1));
    // Growing by nothing still detaches the old buffer: every vector handed out before is now empty, so one kept past
    // its step reads as nothing rather than as another step's gradients.
    bank.memory.grow(0);
    const buffer = bank.memory.buffer;
    this.arenaLayout = { count, length, scratch };
    this.arenaOutputs = 0;
    return Array.from({ length: count }, (_, i) => new Float32Array(buffer, i * stride, length));
  }

  /** The arena's places of `vectors` when all of them are its current vectors, else undefined. */
  private resident(vectors: readonly Float32Array[]): Placement | undefined {
    const bank = this.arena;
    const { count, length, scratch } = this.arenaLayout;
    if (!bank || vectors.length > count) return undefined;
    const buffer = bank.memory.buffer;
    const inPlace = vectors.every(
      (v) => v.buffer === buffer && v.length === length && v.byteOffset % 16 === 0 && v.byteOffset < scratch,
    );
    return inPlace ? { bank, pointers: vectors.map((v) => v.byteOffset), scratch } : undefined;
  }

  /** The vectors' places: in the arena where they live there, else copied into the `copies` bank. */
  private place(vectors: readonly Float32Array[]): Placement {
    const resident = this.resident(vectors);
    if (resident) return resident;
    const t = vectors.length;
    const n = vectors[0]?.length ?? 0;
    const stride = strideOf(n);
    const scratch = stride * t;
    const floats = new Float32Array(this.copies.reserve(scratch + scratchBytes(t, n)));
    vectors.forEach((v, i) => floats.set(v, (i * stride) / 4));
    return { bank: this.copies, pointers: vectors.map((_, i) => i * stride), scratch };
  }

  /**
   * Σ_i weights[i]·vectors[i] as float32 (vectors as long as the first; zero weights are the caller's to drop). Of the
   * arena's vectors, the first ARENA_OUTPUTS combinations are views of the arena, each in its own place, valid as long
   * as the vectors are (to the next `allocate`, which empties them); every other result is an array of its own.
   */
  combination(vectors: readonly Float32Array[], weights: readonly number[]): Float32Array {
    const t = vectors.length;
    const n = vectors[0]?.length ?? 0;
    const { bank, pointers, scratch } = this.place(vectors);
    const inArena = bank === this.arena;
    // In the arena, the k-th combination of its vectors in the k-th place; past those, in the last, copied out.
    const slot = inArena ? Math.min(this.arenaOutputs, ARENA_OUTPUTS) : 0;
    const kept = inArena && slot < ARENA_OUTPUTS;
    if (kept) this.arenaOutputs++;
    const weightBase = scratch + LANE_BYTES;
    const pointerBase = weightBase + 8 * t;
    const outBase = scratch + tablesBytes(inArena ? this.arenaLayout.count : t) + slot * strideOf(n);
    const buffer = bank.memory.buffer;
    new Float64Array(buffer, weightBase, t).set(weights);
    new Int32Array(buffer, pointerBase, t).set(pointers);
    const blocks = Math.floor(n / 4);
    const fixed = bank.combineFixed[t - 1];
    if (fixed) fixed(pointerBase, weightBase, blocks, outBase);
    else bank.combine(pointerBase, weightBase, t, blocks, outBase);
    const written = new Float32Array(buffer, outBase, n);
    const out = kept ? written : written.slice();
    for (let k = blocks * 4; k < n; k++) {
      let sum = 0;
      vectors.forEach((v, i) => {
        sum += weights[i]! * v[k]!;
      });
      out[k] = sum;
    }
    return out;
  }

  /** The symmetric matrix of products of `vectors` (all the same length), each as numerics/vectors.ts `dot`. */
  gram(vectors: readonly Float32Array[]): number[][] {
    const t = vectors.length;
    const n = vectors[0]?.length ?? 0;
    const { bank, pointers, scratch } = this.place(vectors);
    const laneBase = scratch;
    const lanes = new Float64Array(bank.memory.buffer, laneBase, 2 * WIDTH);
    const blocks = Math.floor(n / 4);
    const g: number[][] = Array.from({ length: t }, () => new Array<number>(t).fill(0));
    for (let i = 0; i < t; i++) {
      for (let j = i; j < t; j += WIDTH) {
        const count = Math.min(WIDTH, t - j);
        bank.dots[count - 1]!(pointers[i]!, ...pointers.slice(j, j + count), blocks, laneBase);
        for (let c = 0; c < count; c++) {
          let s0 = lanes[2 * c]!;
          let s1 = lanes[2 * c + 1]!;
          // The last 0–3 elements, in the order `dot` adds them: pairs to s0 and s1, an odd last one to s0.
          const x = vectors[i]!;
          const y = vectors[j + c]!;
          let k = blocks * 4;
          for (; k + 1 < n; k += 2) {
            s0 += x[k]! * y[k]!;
            s1 += x[k + 1]! * y[k + 1]!;
          }
          if (k < n) s0 += x[k]! * y[k]!;
          const value = s0 + s1;
          g[i]![j + c] = value;
          g[j + c]![i] = value;
        }
      }
    }
    return g;
  }
}

let compiled: LongVectors | null | undefined;

function longVectors(): LongVectors | undefined {
  if (compiled === undefined) {
    try {
      compiled = new LongVectors();
    } catch {
      compiled = null;
    }
  }
  return compiled ?? undefined;
}

/** The Gram matrix by the SIMD products, or undefined where this runtime has no WebAssembly SIMD. */
export function simdGram(vectors: readonly Float32Array[]): number[][] | undefined {
  return longVectors()?.gram(vectors);
}

/**
 * Σ_i w_i v_i as float32 by the SIMD kernel, or undefined where this runtime has no WebAssembly SIMD. When the vectors
 * are the step's ({@link simdArenaVectors}), the result lives beside them and is emptied with them.
 */
export function simdLinearCombination(
  vectors: readonly Float32Array[],
  weights: readonly number[],
): Float32Array | undefined {
  return longVectors()?.combination(vectors, weights);
}

/**
 * `count` float32 vectors of `length` that the two kernels above read in place, valid until the next call (the
 * memory is reused; the vectors are then empty; contents unspecified), or undefined where this runtime has no
 * WebAssembly SIMD.
 */
export function simdArenaVectors(count: number, length: number): Float32Array[] | undefined {
  return longVectors()?.allocate(count, length);
}
