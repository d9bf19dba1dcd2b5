import { tf } from '../tf.js';
import type { EncodedRows, Preprocessing } from '../data/preprocess.js';
import { kindOf } from '../tasks/registry.js';
import type { TargetEncoding } from '../tasks/types.js';

/** One split on the backend: inputs, and each task's targets in the form its loss reads. */
export interface SplitTensors {
  rows: number;
  x: tf.Tensor2D;
  targets: Record<string, tf.Tensor2D>;
  /** Per task with rows missing its label: 1 where the row has it (host side; EncodedRows.labelled). */
  labelled?: Record<string, Uint8Array>;
}

/** A task's targets in the form its loss trains on (one-hot, 0/1, standardised values, …): its kind's. */
function trainingTargets(encoding: TargetEncoding, values: Float32Array, rows: number): tf.Tensor2D {
  return tf.tidy(() => kindOf(encoding).trainingTargets(encoding, values, rows));
}

export function toSplitTensors(encoded: EncodedRows, preprocessing: Preprocessing): SplitTensors {
  const targets: Record<string, tf.Tensor2D> = {};
  for (const encoding of preprocessing.tasks) {
    targets[encoding.name] = trainingTargets(encoding, encoded.targets[encoding.name] as Float32Array, encoded.rows);
  }
  const x = tf.tensor2d(encoded.x, [encoded.rows, preprocessing.inputSize]);
  return encoded.labelled
    ? { rows: encoded.rows, x, targets, labelled: encoded.labelled }
    : { rows: encoded.rows, x, targets };
}

export function disposeSplit(split: SplitTensors): void {
  split.x.dispose();
  for (const t of Object.values(split.targets)) t.dispose();
}
