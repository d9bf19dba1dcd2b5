/**
 * Model-based relatedness, by linear CKA (analysis/cka.ts; Kornblith et al. 2019):
 *
 * - Parameters: each task's task-specific kernels in variable order (a head's first layer, …, its output layer; a
 *   soft-sharing tower's layers), a conv kernel [kh, kw, c_in, c_out] read as the matrix [kh·kw·c_in × c_out]. The
 *   k-th kernels of two tasks compare as [inputs × units] matrices — the input dimensions are the "examples", so heads
 *   of different widths compare, and the measure ignores a rotation or rescaling of a head's units. Pairs whose k-th
 *   kernels have different input sizes are left out.
 * - Representations: a task's representation is its raw output on the validation split (logits for classification,
 *   the standardised value for regression), the model in inference mode. The input of a task's output layer is not
 *   exposed by the model interface for every architecture, and for hard sharing without head layers it would be the
 *   same shared representation for every task (CKA 1 by construction); the output is task-specific everywhere.
 */
import { tf } from '../tf.js';
import type { TaskConfig } from '../config/types.js';
import type { MultiTaskModel } from '../model/types.js';
import type { SplitTensors } from '../train/tensors.js';
import { linearCka, type RowMatrix } from './cka.js';
import type { PairValues } from './types.js';

export const TASK_REPRESENTATION =
  "the task's raw output on the validation split (logits for classification, standardised values for regression), " +
  'in inference mode';

function kernels(model: MultiTaskModel, task: string): { name: string; matrix: RowMatrix }[] {
  return (model.taskVariables[task] ?? [])
    .filter((v) => v.shape.length >= 2 && v.name.endsWith('kernel'))
    .map((v) => {
      const cols = v.shape[v.shape.length - 1] ?? 1;
      return { name: v.name.replace(`/${task}/`, '/*/'), matrix: { rows: v.size / cols, cols, data: v.dataSync() } };
    });
}

function pairKey(a: string, b: string): string {
  return `${a}|${b}`;
}

export function parameterSimilarity(
  model: MultiTaskModel,
  tasks: readonly TaskConfig[],
): { layer: string; cka: PairValues }[] {
  const perTask = tasks.map((t) => kernels(model, t.name));
  const layers = Math.max(0, ...perTask.map((k) => k.length));
  const out: { layer: string; cka: PairValues }[] = [];
  for (let k = 0; k < layers; k++) {
    const cka: PairValues = {};
    let layer = '';
    tasks.forEach((a, i) =>
      tasks.forEach((b, j) => {
        const ka = perTask[i]?.[k];
        const kb = perTask[j]?.[k];
        if (j <= i || !ka || !kb || ka.matrix.rows !== kb.matrix.rows) return;
        layer ||= ka.name;
        cka[pairKey(a.name, b.name)] = linearCka(ka.matrix, kb.matrix);
      }),
    );
    if (layer) out.push({ layer, cka });
  }
  return out;
}

/** The tasks' outputs on `split` in batches of `batchSize`, one row-major matrix per task. */
function taskOutputs(
  model: MultiTaskModel,
  split: SplitTensors,
  tasks: readonly TaskConfig[],
  batchSize: number,
): RowMatrix[] {
  const parts: Float32Array[][] = tasks.map(() => []);
  const widths = tasks.map(() => 0);
  for (let start = 0; start < split.rows; start += batchSize) {
    const size = Math.min(batchSize, split.rows - start);
    tf.tidy(() => {
      const { outputs } = model.forward(tf.slice(split.x, [start, 0], [size, -1]), false);
      tasks.forEach((task, i) => {
        const output = outputs[task.name];
        if (!output) return;
        widths[i] = output.shape[1] ?? 1;
        parts[i]!.push(output.dataSync() as Float32Array);
      });
    });
  }
  return tasks.map((_, i) => {
    const data = new Float32Array(split.rows * widths[i]!);
    let offset = 0;
    for (const part of parts[i]!) {
      data.set(part, offset);
      offset += part.length;
    }
    return { rows: split.rows, cols: widths[i]!, data };
  });
}

export function representationSimilarity(
  model: MultiTaskModel,
  split: SplitTensors,
  tasks: readonly TaskConfig[],
  batchSize: number,
): PairValues {
  const outputs = taskOutputs(model, split, tasks, batchSize);
  const out: PairValues = {};
  tasks.forEach((a, i) =>
    tasks.forEach((b, j) => {
      if (j > i) out[pairKey(a.name, b.name)] = linearCka(outputs[i]!, outputs[j]!);
    }),
  );
  return out;
}
