import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../errors.js';
import { replaceDirAtomic, replaceDirSteps, type BackgroundTasks } from '../runs/atomic.js';
import type { MultiTaskModel } from './types.js';

export const CHECKPOINT_FORMAT = 'mtl-multitask-model';

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

export function checkpointVariables(model: MultiTaskModel): tf.Variable[] {
  return [...model.sharedVariables, ...Object.values(model.taskVariables).flat(), ...model.stateVariables];
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
    weightsManifest: [{ paths: ['weights.bin'], weights: specs }],
    userDefinedMetadata: metadata,
  };
  const files = { 'weights.bin': new Uint8Array(data), 'model.json': `${JSON.stringify(json, null, 2)}\n` };
  if (background) void background.run(replaceDirSteps(dir, files), [data]); // the weights buffer is ours: hand it over
  else replaceDirAtomic(dir, files);
}

interface ModelJson {
  format?: string;
  modelTopology?: Record<string, unknown>;
  weightsManifest?: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  userDefinedMetadata?: CheckpointMetadata;
}

export function readCheckpointJson(dir: string): ModelJson {
  const file = path.join(dir, 'model.json');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ModelJson;
  } catch (error) {
    throw new UsageError(`Cannot read checkpoint ${file}: ${(error as Error).message}`);
  }
}

/** Loads a checkpoint's weights into a model built from the same config; every variable must be present. */
export function loadCheckpointInto(dir: string, model: MultiTaskModel): CheckpointMetadata {
  const json = readCheckpointJson(dir);
  const group = json.weightsManifest?.[0];
  if (json.format !== CHECKPOINT_FORMAT || !group) {
    throw new UsageError(`${path.join(dir, 'model.json')} is not an mtl checkpoint (format "${json.format ?? 'none'}").`);
  }
  const buffer = readFileSync(path.join(dir, group.paths[0] ?? 'weights.bin'));
  const named = tf.io.decodeWeights(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength), group.weights);
  try {
    for (const variable of checkpointVariables(model)) {
      const value = named[variable.name];
      if (!value) throw new UsageError(`Checkpoint ${dir} has no weights for "${variable.name}"; was it saved by another model config?`);
      if (value.shape.join('x') !== variable.shape.join('x')) {
        throw new UsageError(`Checkpoint ${dir}: "${variable.name}" has shape [${value.shape}] but the model expects [${variable.shape}].`);
      }
      variable.assign(value);
    }
  } finally {
    for (const tensor of Object.values(named)) tensor.dispose();
  }
  return json.userDefinedMetadata ?? { epoch: -1 };
}
