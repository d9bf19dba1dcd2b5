import { tf } from '../tf.js';
import { gatherBatches, regatherBatches } from '../ops/gather-batches.js';
import type { Batch } from './step.js';
import type { SplitTensors } from './tensors.js';

/**
 * An epoch's training batches: the split's inputs and every task's targets in `permutation`'s row order, cut into
 * batches of `batchSize` rows. The caller disposes them (disposing a batch twice is harmless).
 */
export function shuffledBatches(split: SplitTensors, permutation: Int32Array, batchSize: number): Batch[] {
  const index = tf.tensor1d(permutation, 'int32');
  try {
    const xs = gatherBatches(split.x, index, batchSize);
    const targets = Object.entries(split.targets).map(
      ([name, t]) => [name, gatherBatches(t, index, batchSize)] as const,
    );
    return xs.map((x, b) => {
      const batch: Batch = { x, targets: Object.fromEntries(targets.map(([name, parts]) => [name, parts[b]!])) };
      if (split.labelled) batch.labelled = labelledInBatch(split.labelled, permutation, b * batchSize, x.shape[0]);
      return batch;
    });
  } finally {
    index.dispose();
  }
}

/**
 * The next epoch's batches ({@link shuffledBatches} of `permutation`), written into `previous`, the epoch before's,
 * where the backend can do that in place (ops/gather-batches.ts `regatherBatches`: wasm, each tensor alive and its
 * data its own) and the batches have the same sizes; otherwise `previous` is disposed and fresh batches are made.
 * Either way the values are the same. The trainer keeps its batches from one epoch to the next for this: making and
 * disposing each batch's tensors every epoch was ~0.3–0.7 ms of the quickstart's ~2.7 ms per epoch outside the
 * training steps (bench W4).
 */
export function reshuffledBatches(
  previous: readonly Batch[] | undefined,
  split: SplitTensors,
  permutation: Int32Array,
  batchSize: number,
): Batch[] {
  if (previous && sameSizes(previous, permutation.length, batchSize)) {
    const index = tf.tensor1d(permutation, 'int32');
    try {
      const sources = [
        { x: split.x, batches: previous.map((batch) => batch.x) },
        ...Object.entries(split.targets).map(([name, t]) => ({
          x: t,
          batches: previous.map((batch) => batch.targets[name]).filter((target) => target !== undefined),
        })),
      ];
      if (regatherBatches(sources, index)) {
        return previous.map((batch, b) => {
          const next: Batch = { x: batch.x, targets: batch.targets };
          if (split.labelled)
            next.labelled = labelledInBatch(split.labelled, permutation, b * batchSize, batch.x.shape[0]);
          return next;
        });
      }
    } finally {
      index.dispose();
    }
  }
  for (const batch of previous ?? []) disposeBatch(batch);
  return shuffledBatches(split, permutation, batchSize);
}

/** Whether `batches` are the cut of `rows` rows into batches of `batchSize` (the last one shorter). */
function sameSizes(batches: readonly Batch[], rows: number, batchSize: number): boolean {
  if (batches.length !== Math.ceil(rows / batchSize)) return false;
  return batches.every((batch, b) => batch.x.shape[0] === Math.min(batchSize, rows - b * batchSize));
}

/** Disposes a batch's tensors (a second time is harmless). */
export function disposeBatch(batch: Batch): void {
  batch.x.dispose();
  for (const t of Object.values(batch.targets)) t.dispose();
}

/**
 * Per task with missing labels, the positions in the batch (rows start … start + size − 1 of the epoch's order) of
 * the rows that have its label: what the masked loss gathers (train/losses.ts).
 */
export function labelledInBatch(
  labelled: Readonly<Record<string, Uint8Array>>,
  order: Int32Array,
  start: number,
  size: number,
): Record<string, Int32Array> {
  const out: Record<string, Int32Array> = {};
  for (const [task, mask] of Object.entries(labelled)) {
    const positions: number[] = [];
    for (let i = 0; i < size; i++) if (mask[order[start + i]!] === 1) positions.push(i);
    out[task] = Int32Array.from(positions);
  }
  return out;
}
