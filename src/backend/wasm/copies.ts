/**
 * Data movement (`Slice`, `SplitV`, `Unpack`, `GatherV2`, `Identity`) for the TF.js wasm backend.
 *
 * Slicing (`Slice`, and `SplitV` / `Unpack`, which the stock backend builds on its slice): the stock wasm slice
 * reads its input with `backend.readSync`, which copies the WHOLE input tensor out of the wasm heap, before
 * copying the requested part. Taking 64 rows of a 4,200-row training split (the trainer's per-batch `tf.slice`)
 * therefore copies all 4,200 rows; MMoE's backward pass unstacks a [512, 8, 64] tensor per task into 8 slices,
 * copying it 8 times (measured: 1.5–6 ms per `Unpack` in a W3 step, ~0.25 ms with the override; the quickstart
 * epoch spent ~10 % of its time in those whole-input copies). The override copies only the requested elements, straight
 * from a view of the heap, one `copyWithin` per contiguous run. Pure data movement: results are bit-identical. String
 * tensors go to the stock kernels.
 *
 * Gathering (`GatherV2`): the stock kernel's C++ loop recomputes strided offsets per element (gathering the
 * quickstart's 4,200 × 96 training inputs in a shuffled order: 22 ms, once per epoch, ~8 % of the epoch); the
 * override copies each gathered slice with one `copyWithin` (~0.3 ms). Bit-identical; an index out of range goes
 * to the stock kernel, which throws its own error.
 *
 * Copies (`Identity`, which `tf.clone` runs; the gradient tape clones every tensor it saves for the backward pass,
 * e.g. the input batch and each weight matrix): the stock wasm kernel copies the buffer. Tensors are immutable, so
 * the override shares it and counts a reference, as the wasm `Reshape` kernel and the cpu backend's `Identity` do
 * (W1: ~25 copies per step, the largest 256×784 and 784×256). String tensors go to the stock kernel.
 */
import { tf } from '../../tf.js';
import { heapOffset, ORIGINAL, simdOf, sizeOf, type FastKernelFunc, type WasmBackendLike } from './backend.js';

type HeapArray = Float32Array | Int32Array | Uint8Array;

/**
 * Copies the box [begin, begin + size) of `x` into the new tensor `out` (both on the wasm heap, same dtype), one
 * `copyWithin` on the heap per contiguous run (trailing dimensions taken whole merge into one run).
 */
function copyBox(
  x: tf.TensorInfo,
  begin: readonly number[],
  size: readonly number[],
  out: tf.TensorInfo,
  backend: WasmBackendLike,
): void {
  const total = sizeOf(size);
  if (total === 0) return;
  const rank = x.shape.length;
  const src = backend.typedArrayFromHeap(x) as HeapArray;
  const dst = backend.typedArrayFromHeap(out) as HeapArray;
  const Ctor = src.constructor as new (buffer: ArrayBufferLike) => HeapArray;
  const heap = new Ctor(src.buffer);
  const srcBase = src.byteOffset / src.BYTES_PER_ELEMENT;
  let dstPos = dst.byteOffset / dst.BYTES_PER_ELEMENT;
  if (rank === 0) {
    heap[dstPos] = heap[srcBase]!;
    return;
  }
  const strides = new Array<number>(rank);
  for (let d = rank - 1, s = 1; d >= 0; d--) {
    strides[d] = s;
    s *= x.shape[d]!;
  }
  // The run starts at dimension r: every dimension after r is taken whole.
  let r = rank - 1;
  while (r > 0 && begin[r] === 0 && size[r] === x.shape[r]) r--;
  const run = size[r]! * strides[r]!;
  const runStart = begin[r]! * strides[r]!;
  const outer = size.slice(0, r);
  const count = sizeOf(outer);
  const index = new Array<number>(r).fill(0);
  for (let i = 0; i < count; i++) {
    let from = srcBase + runStart;
    for (let d = 0; d < r; d++) from += (begin[d]! + index[d]!) * strides[d]!;
    if (run >= 16) {
      heap.copyWithin(dstPos, from, from + run);
    } else {
      for (let k = 0; k < run; k++) heap[dstPos + k] = heap[from + k]!;
    }
    dstPos += run;
    for (let d = r - 1; d >= 0; d--) {
      if (++index[d]! < outer[d]!) break;
      index[d] = 0;
    }
  }
}

/** The slice the stock kernels compute, without copying the whole input first. Caller checks the dtype. */
function sliceOf(x: tf.TensorInfo, begin: number[], size: number[], backend: WasmBackendLike): tf.TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  copyBox(x, begin, size, out, backend); // heap views are taken after the allocation (a malloc may grow the heap)
  return out;
}

export function makeFastSlice(stock: tf.KernelConfig): FastKernelFunc {
  const fast: FastKernelFunc = (args) => {
    const x = args.inputs['x'];
    const attrs = args.attrs as { begin?: number | number[]; size?: number | number[] } | undefined;
    if (x === undefined || x.dtype === 'string' || attrs?.begin === undefined) return stock.kernelFunc(args);
    const [begin, size] = tf.slice_util.parseSliceParams(x, attrs.begin, attrs.size);
    if (begin === undefined || size === undefined) return stock.kernelFunc(args);
    return sliceOf(x, begin, size, args.backend as WasmBackendLike);
  };
  fast[ORIGINAL] = stock;
  return fast;
}

export function makeFastSplitV(stock: tf.KernelConfig): FastKernelFunc {
  const fast: FastKernelFunc = (args) => {
    const x = args.inputs['x'];
    const attrs = args.attrs as { numOrSizeSplits?: number | number[]; axis?: number | number[] } | undefined;
    if (x === undefined || x.dtype === 'string' || attrs?.numOrSizeSplits === undefined || attrs.axis === undefined)
      return stock.kernelFunc(args);
    const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0]!;
    const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, attrs.numOrSizeSplits, axis);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((s) => {
      const size = [...x.shape];
      size[axis] = s;
      const piece = sliceOf(x, begin, size, args.backend as WasmBackendLike);
      begin[axis]! += s;
      return piece;
    });
  };
  fast[ORIGINAL] = stock;
  return fast;
}

export function makeFastUnpack(stock: tf.KernelConfig): FastKernelFunc {
  const fast: FastKernelFunc = (args) => {
    const value = args.inputs['value'];
    const attrs = args.attrs as { axis?: number } | undefined;
    if (value === undefined || value.dtype === 'string' || attrs?.axis === undefined) return stock.kernelFunc(args);
    const rank = value.shape.length;
    const axis = attrs.axis < 0 ? attrs.axis + rank : attrs.axis;
    const outShape = value.shape.filter((_, d) => d !== axis);
    const begin = new Array<number>(rank).fill(0);
    const size = [...value.shape];
    size[axis] = 1;
    const outs: tf.TensorInfo[] = [];
    for (let i = 0; i < value.shape[axis]!; i++) {
      begin[axis] = i;
      const piece = sliceOf(value, begin, size, args.backend as WasmBackendLike);
      outs.push({ dataId: piece.dataId, dtype: piece.dtype, shape: outShape });
    }
    return outs;
  };
  fast[ORIGINAL] = stock;
  return fast;
}

export function makeFastGather(stock: tf.KernelConfig): FastKernelFunc {
  const fast: FastKernelFunc = (args) => {
    const x = args.inputs['x'];
    const indices = args.inputs['indices'];
    const attrs = args.attrs as { axis?: number; batchDims?: number } | undefined;
    const backend = args.backend as WasmBackendLike;
    if (
      x === undefined ||
      indices === undefined ||
      attrs?.axis === undefined ||
      x.dtype === 'string' ||
      indices.dtype !== 'int32'
    ) {
      return stock.kernelFunc(args);
    }
    const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0]!;
    const axisDim = x.shape[axis]!;
    let index = backend.typedArrayFromHeap(indices) as Int32Array;
    for (let i = 0; i < index.length; i++) {
      const k = index[i]!;
      if (!(k >= 0 && k <= axisDim - 1)) return stock.kernelFunc(args); // the stock kernel reports it
    }
    const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(
      x as unknown as tf.Tensor,
      indices as unknown as tf.Tensor,
      axis,
      attrs.batchDims ?? 0,
    );
    const out = backend.makeOutput(info.outputShape, x.dtype);
    // From the shape, not from `index`: the view above is detached if makeOutput grew the heap.
    const perBatch = sizeOf(indices.shape) / info.batchSize;
    if (sizeOf(x.shape) === 0 || sizeOf(info.outputShape) === 0) return out;
    const simd = simdOf(backend);
    if (simd !== undefined && info.batchSize === 1 && info.outerSize === 1) {
      // Whole rows along axis 0: copied in wasm, 16 bytes at a time (backend/simd/gather.ts).
      const elementBytes = backend.typedArrayFromHeap(x).BYTES_PER_ELEMENT;
      simd.gatherRows({
        x: heapOffset(backend, x),
        index: heapOffset(backend, indices),
        count: perBatch,
        rowBytes: info.sliceSize * elementBytes,
        out: heapOffset(backend, out),
      });
      return out;
    }
    // Views after the allocation (a malloc may grow the heap).
    index = backend.typedArrayFromHeap(indices) as Int32Array;
    const src = backend.typedArrayFromHeap(x) as HeapArray;
    const dst = backend.typedArrayFromHeap(out) as HeapArray;
    const heap = new (src.constructor as new (buffer: ArrayBufferLike) => HeapArray)(src.buffer);
    const srcBase = src.byteOffset / src.BYTES_PER_ELEMENT;
    let at = dst.byteOffset / dst.BYTES_PER_ELEMENT;
    const { batchSize, outerSize, dimSize, sliceSize } = info;
    for (let b = 0; b < batchSize; b++) {
      for (let o = 0; o < outerSize; o++) {
        const base = srcBase + (b * outerSize + o) * dimSize * sliceSize;
        for (let j = 0; j < perBatch; j++) {
          const from = base + index[b * perBatch + j]! * sliceSize;
          if (sliceSize >= 16) heap.copyWithin(at, from, from + sliceSize);
          else for (let e = 0; e < sliceSize; e++) heap[at + e] = heap[from + e]!;
          at += sliceSize;
        }
      }
    }
    return out;
  };
  fast[ORIGINAL] = stock;
  return fast;
}

export function makeFastIdentity(stock: tf.KernelConfig): FastKernelFunc {
  const fast: FastKernelFunc = (args) => {
    const x = args.inputs['x'];
    if (x === undefined || x.dtype === 'string') return stock.kernelFunc(args);
    (args.backend as WasmBackendLike).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
  fast[ORIGINAL] = stock;
  return fast;
}

/** Added kernel: the rows of `x` in `indices` order, cut into batches of `batchSize` rows (the last one shorter). */
export const GATHER_BATCHES_KERNEL = 'MtlGatherBatches';

export interface GatherBatchesAttrs {
  batchSize: number;
}

/**
 * `MtlGatherBatches`: out_b[i] = x[indices[b·batchSize + i]] for every batch b, each output its own tensor. The
 * trainer's shuffle is this, for the inputs and each task's targets, once per epoch. It was a gather of the whole
 * split followed by a split into batches, which writes every row twice and reads it twice; here each row is copied
 * once, straight into its batch (in wasm with the SIMD module, else a JS copy), and one kernel call gives all the
 * batches. Indices out of range are refused (a bad index must not read the heap beyond `x`).
 */
export function gatherBatches(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo[] {
  const backend = args.backend as WasmBackendLike;
  const x = args.inputs['x'] as tf.TensorInfo;
  const indices = args.inputs['indices'] as tf.TensorInfo;
  const { batchSize } = args.attrs as unknown as GatherBatchesAttrs;
  const rows = x.shape[0] ?? 0;
  const count = sizeOf(indices.shape);
  if (!(Number.isInteger(batchSize) && batchSize > 0))
    throw new Error(`${GATHER_BATCHES_KERNEL}: batchSize must be a positive integer, got ${batchSize}`);
  if (indices.dtype !== 'int32')
    throw new Error(`${GATHER_BATCHES_KERNEL}: indices must be int32, got ${indices.dtype}`);
  const check = backend.typedArrayFromHeap(indices) as Int32Array;
  for (let i = 0; i < count; i++) {
    const k = check[i]!;
    if (!(k >= 0 && k < rows))
      throw new Error(`${GATHER_BATCHES_KERNEL}: index ${k} at position ${i} is outside [0, ${rows})`);
  }
  const rowShape = x.shape.slice(1);
  const rowElements = sizeOf(rowShape);
  const elementBytes = backend.typedArrayFromHeap(x).BYTES_PER_ELEMENT;
  const simd = simdOf(backend);
  const outputs: tf.TensorInfo[] = [];
  for (let start = 0; start < count; start += batchSize) {
    const size = Math.min(batchSize, count - start);
    const out = backend.makeOutput([size, ...rowShape], x.dtype);
    outputs.push(out);
    if (size * rowElements === 0) continue;
    if (simd !== undefined) {
      // Offsets, not views: makeOutput may have grown (and so detached) the heap.
      simd.gatherRows({
        x: heapOffset(backend, x),
        index: heapOffset(backend, indices) + start * 4,
        count: size,
        rowBytes: rowElements * elementBytes,
        out: heapOffset(backend, out),
      });
      continue;
    }
    const index = backend.typedArrayFromHeap(indices) as Int32Array;
    const src = backend.typedArrayFromHeap(x) as HeapArray;
    const dst = backend.typedArrayFromHeap(out) as HeapArray;
    for (let i = 0; i < size; i++) {
      const from = index[start + i]! * rowElements;
      dst.set(src.subarray(from, from + rowElements), i * rowElements);
    }
  }
  return outputs;
}
