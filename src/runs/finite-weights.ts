import type { tf } from '../tf.js';
import { ExitCode, MtlError } from '../errors.js';

/**
 * Refuses a checkpoint whose float weights are not all finite. Such a file is well formed (mtl wrote it), but the
 * model it holds diverged before it was saved: every prediction from it is NaN or meaningless, so evaluating it would
 * report numbers that are no result. Exit 1, as a run that diverged. Checked on the raw buffer before any tensor
 * exists: one pass over the bytes, no backend work.
 */
export function checkFiniteWeights(
  buffer: ArrayBuffer,
  specs: readonly tf.io.WeightsManifestEntry[],
  dir: string,
): void {
  const bad: string[] = [];
  let badValues = 0;
  let offset = 0;
  for (const spec of specs) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    if (spec.dtype === 'float32') {
      // A bool weight before this one can leave the offset unaligned for a Float32Array view: copy then.
      const values =
        offset % 4 === 0
          ? new Float32Array(buffer, offset, count)
          : new Float32Array(buffer.slice(offset, offset + count * 4));
      let notFinite = 0;
      for (const value of values) if (!Number.isFinite(value)) notFinite++;
      if (notFinite > 0) bad.push(spec.name);
      badValues += notFinite;
    }
    offset += count * (spec.dtype === 'bool' ? 1 : 4);
  }
  if (bad.length === 0) return;
  const shown = bad.slice(0, 3).map((name) => `"${name}"`);
  throw new MtlError(
    `Checkpoint ${dir} holds ${badValues} non-finite weights (NaN or ±Infinity) in ${shown.join(', ')}` +
      `${bad.length > 3 ? ` and ${bad.length - 3} more` : ''}: the model had diverged when it was saved.`,
    {
      exitCode: ExitCode.runFailed,
      details: [
        'evaluate the other checkpoint (--checkpoint best or last), or train again with a lower training.lr or ' +
          'with training.grad_clip_norm',
      ],
    },
  );
}
