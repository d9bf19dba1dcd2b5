import path from 'node:path';
import { tf } from '../tf.js';
import { UsageError } from '../errors.js';
import type { RngState } from '../util/rng.js';
import { DamagedCheckpointError } from './checkpoint.js';
import { encodeVariables } from './encode-weights.js';
import { JsonFields, readJsonFile } from './json.js';
import { TRAINING_STATE_JSON } from './layout.js';
import type { EpochRecord } from './records.js';

/**
 * Where the trainer is, with everything that is not a model weight, so that a run continued from it draws, steps and
 * decides exactly what the uninterrupted run would have. The `last` checkpoint stores it next to the weights
 * (`training-state.json` + `optimizer.bin`). Taken at the end of every epoch (`batch` 0 of the next), and mid-epoch
 * where a run is interrupted and after every `training.checkpoint_every_steps`-th step (then `partial` holds what the
 * epoch has summed so far, so its record comes out as if it had never stopped). It lives here, not in train/, so the
 * run files do not depend on the trainer.
 */
export interface TrainerSnapshot {
  /** The 0-based epoch to continue in and the batch of its shuffled order to continue at. */
  epoch: number;
  batch: number;
  /** The global step the next batch gets (the model's StepClock, the strategies' step). */
  step: number;
  /** The batch-order generator as it was at the start of `epoch`, before that epoch's permutation was drawn. */
  batchRng: RngState;
  /** The strategies' generator (context.rng: RLW's weights) as it is now. */
  strategyRng: RngState;
  /** Updates the optimizer applied (its slots are stored as tensors). */
  optimizerUpdates: number;
  /** Updates of the frozen parameters' own optimizer (train/fine-tuning.ts); absent where nothing is frozen. */
  frozenOptimizerUpdates?: number;
  /** Early stopping and the best checkpoint: the best monitored value, its epoch, epochs since it improved. */
  best: number;
  bestEpoch: number;
  sinceImproved: number;
  /** The records of the epochs completed so far (they rebuild the logs when a run is resumed). */
  records: EpochRecord[];
  /** The epoch so far when taken mid-epoch. */
  partial?: PartialEpoch;
  /** `strategy.state()` at the same moment. */
  strategyState: unknown;
  /**
   * The divergence rule's scale and count (train/divergence.ts): the first batch's task losses and the exploding
   * epochs in a row. Absent in checkpoints from before the rule, which resume with the next step's losses as scale.
   */
  divergence?: { initialLosses?: number[]; explodingEpochs: number[] };
  /**
   * A feature adversary's generator and update count (adversarial/feature-adversary.ts); its variables and slots are
   * in optimizer.bin with the others. Absent where the run has none.
   */
  adversary?: { rng: RngState; updates: number };
}

/**
 * A mid-epoch snapshot's epoch so far: per step its task losses and rows, the gradient-cosine sums and conflict counts,
 * the affinity sums (train/diagnostics.ts), its time.
 */
export interface PartialEpoch {
  stepLosses: number[][];
  stepSizes: number[];
  cosineSum?: number[][];
  conflictCount?: number[][];
  cosineSteps: number;
  affinitySum?: number[][];
  affinitySteps?: number;
  seconds: number;
}

export const OPTIMIZER_BIN = 'optimizer.bin';

/** A checkpoint's training state: a `last` checkpoint without it cannot be resumed (an mtl without --resume). */
export function trainingStateFile(dir: string): string {
  return path.join(dir, TRAINING_STATE_JSON);
}

/**
 * JSON has no NaN, ±Infinity or −0, and a value that comes back different is a resumed run that is not exact (the
 * best value starts at ±Infinity, a strategy state may hold NaN): those are stored as `{"$float": "NaN"}`.
 */
function encodeFloats(_key: string, value: unknown): unknown {
  if (typeof value !== 'number' || (Number.isFinite(value) && !Object.is(value, -0))) return value;
  return { $float: Object.is(value, -0) ? '-0' : String(value) };
}

function decodeFloats(_key: string, value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== '$float') return value;
  const text: unknown = Object.values(value)[0];
  return text === '-0' ? -0 : Number(text);
}

/** The files a snapshot adds to a checkpoint folder; the slot values are read now. */
export async function trainingStateFiles(
  snapshot: TrainerSnapshot,
  optimizerSlots: readonly tf.Variable[],
): Promise<{ files: Record<string, string | Uint8Array>; buffers: ArrayBuffer[] }> {
  const { data, specs } = await encodeVariables(optimizerSlots);
  const json = { snapshot, optimizerWeights: specs };
  return {
    files: {
      [TRAINING_STATE_JSON]: `${JSON.stringify(json, encodeFloats)}\n`,
      [OPTIMIZER_BIN]: new Uint8Array(data),
    },
    buffers: [data],
  };
}

/**
 * training-state.json as JSON. With checksums a file cut short is found before this (`verifyCheckpointFiles`); in a
 * checkpoint from before them, one that does not parse is still a damaged checkpoint, not a missing one.
 */
function readStateJson(dir: string, file: string): unknown {
  try {
    return readJsonFile(file);
  } catch (error) {
    if (error instanceof UsageError) throw new DamagedCheckpointError(dir, error.message);
    throw error;
  }
}

/**
 * Reads a checkpoint's training state (checksums checked by the caller, `verifyCheckpointFiles`). The optimizer
 * slots come back as tensors the caller disposes.
 */
export function readTrainingState(
  dir: string,
  readBinary: (file: string) => ArrayBuffer,
): { snapshot: TrainerSnapshot; optimizerSlots: Record<string, tf.Tensor> } {
  const file = trainingStateFile(dir);
  const raw = JSON.parse(JSON.stringify(readStateJson(dir, file)), decodeFloats) as unknown;
  const fields = JsonFields.of(raw, file);
  const snapshot = fields.object('snapshot');
  for (const key of ['epoch', 'batch', 'step', 'optimizerUpdates', 'bestEpoch', 'sinceImproved']) {
    const value = snapshot.number(key);
    if (!Number.isInteger(value) || value < (key === 'bestEpoch' ? -1 : 0))
      throw snapshot.problem(key, 'a whole number');
  }
  snapshot.number('best');
  snapshot.array('records');
  snapshot.object('batchRng').number('counter');
  snapshot.object('strategyRng').number('counter');
  const specs = fields.objects('optimizerWeights').map((spec) => ({
    name: spec.string('name'),
    shape: spec.numbers('shape'),
    dtype: spec.oneOf('dtype', ['float32']),
  }));
  const buffer = readBinary(OPTIMIZER_BIN);
  const expected = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * 4, 0);
  if (buffer.byteLength !== expected) {
    throw new DamagedCheckpointError(
      dir,
      `${path.join(dir, OPTIMIZER_BIN)} holds ${buffer.byteLength} bytes but ${TRAINING_STATE_JSON} describes ` +
        `${expected}; the checkpoint is damaged.`,
    );
  }
  // The fields were checked above; the records are the trainer's own, written by trainingStateFiles.
  return { snapshot: snapshot.value as unknown as TrainerSnapshot, optimizerSlots: tf.io.decodeWeights(buffer, specs) };
}
