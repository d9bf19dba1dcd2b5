import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../errors.js';
import { checkpointVariables } from '../model/checkpoint.js';
import type { MultiTaskModel } from '../model/types.js';
import { replaceDirAtomic, replaceDirSteps, type BackgroundTasks } from './atomic.js';
import { checkFiniteWeights } from './finite-weights.js';
import { JsonFields } from './json.js';

export const CHECKPOINT_FORMAT = 'mtl-multitask-model';

const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';

/**
 * A checkpoint is the standard TF.js weights format: `model.json` with a `weightsManifest` plus `weights.bin`,
 * readable with stock `tf.io` (`tf.io.decodeWeights(readFile('weights.bin'), manifest[0].weights)`). The model's
 * shape lives in `modelTopology` (our architecture config), and run facts in `userDefinedMetadata`.
 */
export interface CheckpointMetadata {
  epoch: number;
  /** The monitored validation metric at this epoch, when there is one. */
  monitor?: { name: string; value: number };
  strategyState?: unknown;
  [key: string]: unknown;
}

/** model.json as read back (checked). */
export interface CheckpointJson {
  format: string;
  modelTopology: Record<string, unknown>;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  userDefinedMetadata: CheckpointMetadata;
}

/**
 * Writes a checkpoint folder, replacing any previous one at once (see `replaceDirAtomic`). The weights and metadata
 * are taken when this is called. Without `background` the checkpoint is on disk when the promise resolves; with it,
 * the writing is queued there (beside training: ~1–5 ms of file-system calls per save on ext4) and the caller
 * settles `background` before reading the checkpoint back.
 */
export async function saveCheckpoint(
  dir: string,
  model: MultiTaskModel,
  topology: Record<string, unknown>,
  metadata: CheckpointMetadata,
  generatedBy: string,
  background?: BackgroundTasks,
): Promise<void> {
  const variables = checkpointVariables(model);
  const { data, specs } = await tf.io.encodeWeights(variables.map((v) => ({ name: v.name, tensor: v })));
  const json = {
    format: CHECKPOINT_FORMAT,
    generatedBy,
    convertedBy: null,
    modelTopology: topology,
    weightsManifest: [{ paths: [WEIGHTS_BIN], weights: specs }],
    userDefinedMetadata: metadata,
  };
  const files = { [WEIGHTS_BIN]: new Uint8Array(data), [MODEL_JSON]: `${JSON.stringify(json, null, 2)}\n` };
  if (background)
    void background.run(replaceDirSteps(dir, files), [data]); // the weights buffer is ours: hand it over
  else replaceDirAtomic(dir, files);
}

/** Whether a checkpoint folder holds a checkpoint (its model.json; a folder swap leaves either the old or the new). */
export function hasCheckpoint(dir: string): boolean {
  return existsSync(path.join(dir, MODEL_JSON));
}

/** Reads and checks a checkpoint's model.json. */
export function readCheckpointJson(dir: string): CheckpointJson {
  const fields = JsonFields.read(path.join(dir, MODEL_JSON));
  const format = fields.has('format') ? fields.string('format') : 'none';
  if (format !== CHECKPOINT_FORMAT) {
    throw new UsageError(`${path.join(dir, MODEL_JSON)} is not an mtl checkpoint (format "${format}").`);
  }
  const weightsManifest = fields.objects('weightsManifest').map((group) => ({
    paths: group.strings('paths'),
    weights: group.objects('weights').map(readWeightSpec),
  }));
  if (weightsManifest.length === 0) throw fields.problem('weightsManifest', 'a list of one weight group');
  return {
    format,
    modelTopology: { ...fields.object('modelTopology').value },
    weightsManifest,
    userDefinedMetadata: fields.has('userDefinedMetadata')
      ? readMetadata(fields.object('userDefinedMetadata'))
      : { epoch: -1 },
  };
}

function readWeightSpec(spec: JsonFields): tf.io.WeightsManifestEntry {
  if (spec.has('quantization')) throw spec.problem('quantization', 'absent (mtl writes float32 weights only)');
  return {
    name: spec.string('name'),
    shape: spec.numbers('shape'),
    dtype: spec.oneOf('dtype', ['float32', 'int32', 'bool']),
  };
}

function readMetadata(fields: JsonFields): CheckpointMetadata {
  const monitor = fields.optionalObject('monitor');
  return {
    ...fields.value,
    epoch: fields.number('epoch'),
    ...(monitor ? { monitor: { name: monitor.string('name'), value: monitor.numberOrNaN('value') } } : {}),
  };
}

/** Loads a checkpoint's weights into a model built from the same config; every variable must be present. */
export function loadCheckpointInto(dir: string, model: MultiTaskModel): CheckpointMetadata {
  const json = readCheckpointJson(dir);
  const group = json.weightsManifest[0];
  if (!group || group.paths.length === 0)
    throw new UsageError(`${path.join(dir, MODEL_JSON)}: weightsManifest[0].paths names no weights file.`);
  const buffer = readWeights(dir, group.paths);
  const expected = group.weights.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1) * bytesPerValue(w.dtype), 0);
  if (buffer.byteLength !== expected) {
    throw new UsageError(
      `Checkpoint ${dir}: ${group.paths.join(', ')} holds ${buffer.byteLength} bytes but model.json describes ` +
        `${expected}; the checkpoint is damaged.`,
    );
  }
  checkFiniteWeights(buffer, group.weights, dir);
  const named = tf.io.decodeWeights(buffer, group.weights);
  try {
    const variables = checkpointVariables(model);
    const used = new Set(variables.map((v) => v.name));
    const unused = Object.keys(named).filter((name) => !used.has(name));
    if (unused.length > 0) {
      // Loading the rest would evaluate a model other than the one trained (e.g. gates without their learned bias).
      const shown = unused.slice(0, 3).map((name) => `"${name}"`);
      throw new UsageError(
        `Checkpoint ${dir} holds weights the model built from the run's config does not have: ` +
          `${shown.join(', ')}${unused.length > 3 ? ` and ${unused.length - 3} more` : ''}; ` +
          'was it saved by another model config?',
      );
    }
    for (const variable of variables) {
      const value = named[variable.name];
      if (!value)
        throw new UsageError(
          `Checkpoint ${dir} has no weights for "${variable.name}"; was it saved by another model config?`,
        );
      if (value.shape.join('x') !== variable.shape.join('x')) {
        throw new UsageError(
          `Checkpoint ${dir}: "${variable.name}" has shape [${value.shape}] but the model expects [${variable.shape}].`,
        );
      }
      variable.assign(value);
    }
  } finally {
    for (const tensor of Object.values(named)) tensor.dispose();
  }
  return json.userDefinedMetadata;
}

/** Of the dtypes {@link readWeightSpec} accepts. */
function bytesPerValue(dtype: tf.io.WeightsManifestEntry['dtype']): number {
  return dtype === 'bool' ? 1 : 4;
}

/** The weight files of a group, joined in order into one buffer of our own (TF.js shards one buffer across them). */
function readWeights(dir: string, files: readonly string[]): ArrayBuffer {
  const parts = files.map((name) => {
    const file = path.join(dir, name);
    try {
      return readFileSync(file);
    } catch (error) {
      throw new UsageError(
        `Cannot read checkpoint weights ${file}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  });
  const joined = new Uint8Array(parts.reduce((n, part) => n + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.byteLength;
  }
  return joined.buffer;
}
