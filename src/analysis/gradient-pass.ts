/**
 * Gradient relatedness of a run: how the tasks' gradients of the shared parameters point relative to each other.
 *
 * - From the training log (`source: training-log`): gradient strategies log per epoch the mean cosine of the task
 *   gradients (on the target they train on) and the fraction of steps in conflict (cos < 0, train/diagnostics.ts).
 *   Over training: the mean over epochs weighted by the steps each measured (`gradientSteps`: every batch for a
 *   gradient strategy, affinity's measured steps where those stand in for a strategy that takes no gradients).
 * - From a checkpoint (`source: checkpoint-pass`), for runs whose strategy took no task gradients: one pass over the
 *   training split in row order, in batches of `training.batch_size`; per batch, for each task t the gradient
 *   g_t = ∇_{θ_s} L_t of the shared parameters θ_s, with the model in inference mode (no dropout, batch-norm on its
 *   moving statistics, so the pass is deterministic and changes nothing), the model run forward once per batch
 *   (model/tape.ts, model/kept-tape.ts). Per batch the cosine cos(g_a, g_b) =
 *   g_a·g_b / (‖g_a‖‖g_b‖) (0 where a gradient is 0, as the training log does); `meanCosine` is the mean over
 *   batches and `conflictFraction` the fraction of batches with cos < 0.
 */
import { tf } from '../tf.js';
import type { TaskConfig } from '../config/types.js';
import type { TaskGradientTape } from '../model/tape.js';
import type { MultiTaskModel } from '../model/types.js';
import type { EpochLogEntry } from '../runs/records.js';
import { cosineMatrix } from '../numerics/index.js';
import { labelledInBatch } from '../train/batches.js';
import { maskedTaskLoss } from '../train/losses.js';
import { recordTasks } from '../train/task-gradients.js';
import type { SplitTensors } from '../train/tensors.js';
import type { GradientRelatedness, PairValues } from './types.js';

function flatGradient(
  model: MultiTaskModel,
  tape: TaskGradientTape | undefined,
  x: tf.Tensor2D,
  target: tf.Tensor2D,
  task: TaskConfig,
  labelled: Record<string, Int32Array> | undefined,
): Float32Array {
  const shared = model.sharedVariables;
  // Rows without the task's label (data/labels.ts) are masked out, as in training.
  const batch = { targets: { [task.name]: target }, ...(labelled ? { labelled } : {}) };
  let grads: Record<string, tf.Tensor>;
  if (tape) {
    const recorded = tape.taskGradients(task.name, (output) => maskedTaskLoss(task, output, batch), [], shared);
    recorded.loss.dispose();
    grads = Object.fromEntries(recorded.shared);
  } else {
    const { value, grads: all } = tf.variableGrads(
      () => maskedTaskLoss(task, model.forward(x, false).outputs[task.name] as tf.Tensor2D, batch),
      shared,
    );
    value.dispose();
    grads = all;
  }
  const size = shared.reduce((n, v) => n + v.size, 0);
  const flat = new Float32Array(size);
  let offset = 0;
  for (const v of shared) {
    const g = grads[v.name];
    if (g) flat.set(g.dataSync(), offset);
    offset += v.size;
  }
  tf.dispose(Object.values(grads));
  return flat;
}

function symmetricPairs(tasks: readonly { name: string }[], sum: number[][], count: number): PairValues {
  const out: PairValues = {};
  tasks.forEach((a, i) =>
    tasks.forEach((b, j) => {
      if (j > i) out[`${a.name}|${b.name}`] = (sum[i]?.[j] ?? NaN) / count;
    }),
  );
  return out;
}

/** One pass over `split` in row order (see the file's head). The model has no shared variables: undefined. */
export function checkpointGradientPass(
  model: MultiTaskModel,
  split: SplitTensors,
  tasks: readonly TaskConfig[],
  batchSize: number,
  checkpoint: 'best' | 'last',
): GradientRelatedness | undefined {
  if (model.sharedVariables.length === 0 || split.rows === 0) return undefined;
  const n = tasks.length;
  const cosineSum = tasks.map(() => new Array<number>(n).fill(0));
  const conflicts = tasks.map(() => new Array<number>(n).fill(0));
  let steps = 0;
  const inOrder = Int32Array.from({ length: split.rows }, (_, i) => i);
  for (let start = 0; start < split.rows; start += batchSize) {
    const size = Math.min(batchSize, split.rows - start);
    const x = tf.slice(split.x, [start, 0], [size, -1]);
    const labelled = split.labelled && labelledInBatch(split.labelled, inOrder, start, size);
    // The model forward once per batch, as the training steps do.
    const tape = recordTasks(model, x, false);
    const grads = tasks.map((task) => {
      const target = tf.slice(split.targets[task.name] as tf.Tensor2D, [start, 0], [size, -1]);
      const flat = flatGradient(model, tape, x, target, task, labelled);
      target.dispose();
      return flat;
    });
    tape?.dispose();
    x.dispose();
    const cosines = cosineMatrix(grads);
    cosines.forEach((row, i) =>
      row.forEach((c, j) => {
        cosineSum[i]![j]! += c;
        if (c < 0) conflicts[i]![j]! += 1;
      }),
    );
    steps++;
  }
  return {
    source: 'checkpoint-pass',
    target: 'parameters',
    checkpoint,
    steps,
    meanCosine: symmetricPairs(tasks, cosineSum, steps),
    conflictFraction: symmetricPairs(tasks, conflicts, steps),
  };
}

/**
 * What a gradient strategy logged per epoch; undefined when no epoch logged cosines. `stepsOf` gives an epoch's
 * measured steps where its log predates `gradientSteps`.
 */
export function gradientsFromLog(
  epochs: readonly EpochLogEntry[],
  stepsOf: (epoch: EpochLogEntry) => number,
  target: GradientRelatedness['target'],
): GradientRelatedness | undefined {
  const logged = epochs.filter((e) => e.gradientCosines !== undefined);
  if (logged.length === 0) return undefined;
  const weights = logged.map((e) => e.gradientSteps ?? stepsOf(e));
  const steps = weights.reduce((a, b) => a + b, 0);
  const mean = (pick: (e: EpochLogEntry) => PairValues | undefined): PairValues => {
    const out: PairValues = {};
    const keys = Object.keys(pick(logged[0]!) ?? {});
    for (const key of keys) {
      out[key] = logged.reduce((s, e, i) => s + (pick(e)?.[key] ?? NaN) * weights[i]!, 0) / steps;
    }
    return out;
  };
  const withConflicts = logged.every((e) => e.gradientConflicts !== undefined);
  return {
    source: 'training-log',
    target,
    steps,
    meanCosine: mean((e) => e.gradientCosines),
    // Runs from before conflicts were logged have cosines only.
    conflictFraction: withConflicts ? mean((e) => e.gradientConflicts) : {},
    perEpoch: logged.map((e) => ({
      epoch: e.epoch,
      meanCosine: e.gradientCosines ?? {},
      ...(e.gradientConflicts ? { conflictFraction: e.gradientConflicts } : {}),
    })),
  };
}
