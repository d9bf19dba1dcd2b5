import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { tf } from '../tf.js';
import { UsageError } from '../errors.js';
import { checkpointVariables } from '../model/checkpoint.js';
import type { MultiTaskModel } from '../model/types.js';
import { replaceDirAtomic, replaceDirSteps, type BackgroundTasks } from './atomic.js';
import { checkFiniteWeights } from './finite-weights.js';
import { encodeVariables } from './encode-weights.js';
import { JsonFields } from './json.js';
import { MODEL_JSON } from './layout.js';

export const CHECKPOINT_FORMAT = 'mtl-multitask-model';

const WEIGHTS_BIN = 'weights.bin';
/** sha256 of every other file of the folder, written with them, so a truncated or altered file is found on load. */
const CHECKSUMS_JSON = 'checksums.json';

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
  /** More files for the folder (the `last` checkpoint's training state) and buffers of theirs to hand over. */
  extra?: { files: Record<string, string | Uint8Array>; buffers: ArrayBuffer[] },
): Promise<void> {
  const variables = checkpointVariables(model);
  const { data, specs } = await encodeVariables(variables);
  const json = {
    format: CHECKPOINT_FORMAT,
    generatedBy,
    convertedBy: null,
    modelTopology: topology,
    weightsManifest: [{ paths: [WEIGHTS_BIN], weights: specs }],
    userDefinedMetadata: metadata,
  };
  const contents = {
    [WEIGHTS_BIN]: new Uint8Array(data),
    [MODEL_JSON]: `${JSON.stringify(json, null, 2)}\n`,
    ...extra?.files,
  };
  // The checksums are computed where the files are written: in the background worker, off the training thread.
  const options = { checksums: CHECKSUMS_JSON };
  // The buffers are ours: handed over to the worker, not copied.
  if (background) void background.run(replaceDirSteps(dir, contents, options), [data, ...(extra?.buffers ?? [])]);
  else replaceDirAtomic(dir, contents, options);
}

function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * A checkpoint file that is missing, cut short or changed. It names the file; `checkpoint` is the folder, so that a
 * command that cannot take the hint below (`train --resume` has no `--checkpoint`) can give its own.
 */
export class DamagedCheckpointError extends UsageError {
  constructor(
    readonly checkpoint: string,
    message: string,
  ) {
    super(message, damagedHint(checkpoint));
    this.name = 'DamagedCheckpointError';
  }
}

/**
 * What to do about a damaged checkpoint: read the run's other checkpoint where it has one (`best` and `last` are
 * separate folders, so damage to one leaves the other whole), else restore the file or train again.
 */
function damagedHint(dir: string): string[] {
  const name = path.basename(dir);
  const other = name === 'best' ? 'last' : name === 'last' ? 'best' : undefined;
  const whole = other !== undefined && existsSync(path.join(path.dirname(dir), other, MODEL_JSON));
  const use = whole ? `use the ${other} checkpoint (--checkpoint ${other}), ` : '';
  return [`${use}restore the file from a backup, or train the run again`];
}

/**
 * Reads a checkpoint folder's files and checks each against `checksums.json`: a file cut short (a full disk, a
 * copy that stopped), changed or deleted is refused here, naming it, before anything is decoded. Checkpoints written
 * before checksums existed have none and are read as they are (but still need their model.json). Returns a reader of
 * the folder's files (checked ones from memory).
 */
export function verifyCheckpointFiles(dir: string): (name: string) => Buffer {
  const listed = new Map<string, Buffer>();
  const sumsFile = path.join(dir, CHECKSUMS_JSON);
  if (existsSync(sumsFile)) {
    for (const [name, expected] of Object.entries(readChecksums(dir, sumsFile))) {
      const data = readCheckpointFile(dir, name);
      if (sha256(data) !== expected) {
        throw new DamagedCheckpointError(
          dir,
          `Checkpoint ${dir}: ${name} does not match its checksum in ${CHECKSUMS_JSON} (${data.byteLength} bytes); ` +
            'the file was cut short or changed after it was written.',
        );
      }
      listed.set(name, data);
    }
  } else if (!existsSync(path.join(dir, MODEL_JSON))) readCheckpointFile(dir, MODEL_JSON); // says it is missing
  return (name) => listed.get(name) ?? readCheckpointFile(dir, name);
}

/** checksums.json's entries; a damaged checksums.json is a damaged checkpoint like any of its files. */
function readChecksums(dir: string, sumsFile: string): Record<string, unknown> {
  try {
    const fields = JsonFields.read(sumsFile);
    const algorithm = fields.string('algorithm');
    if (algorithm !== 'sha256') throw fields.problem('algorithm', '"sha256"');
    return fields.object('files').value;
  } catch (error) {
    if (error instanceof UsageError) throw new DamagedCheckpointError(dir, error.message);
    throw error;
  }
}

function readCheckpointFile(dir: string, name: string): Buffer {
  const file = path.join(dir, name);
  try {
    return readFileSync(file);
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? error.code : undefined;
    throw new DamagedCheckpointError(
      dir,
      code === 'ENOENT'
        ? `Checkpoint file ${file} is missing; the checkpoint is incomplete.`
        : `Cannot read checkpoint file ${file}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
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

/** A checkpoint's weights by name, checked (checksums, size, finite values): tensors the caller disposes. */
export interface CheckpointWeights {
  named: tf.NamedTensorMap;
  json: CheckpointJson;
  /** sha256 of the weight bytes: the weights file's entry in checksums.json. */
  weightsSha256: string;
}

/** Reads and checks a checkpoint's weights without a model (loadCheckpointInto; a run's `init:` source). */
export function readCheckpointWeights(dir: string): CheckpointWeights {
  const read = verifyCheckpointFiles(dir);
  const json = readCheckpointJson(dir);
  const group = json.weightsManifest[0];
  if (!group || group.paths.length === 0)
    throw new UsageError(`${path.join(dir, MODEL_JSON)}: weightsManifest[0].paths names no weights file.`);
  const parts = group.paths.map(read);
  const buffer = joinBuffers(parts);
  const expected = group.weights.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1) * bytesPerValue(w.dtype), 0);
  if (buffer.byteLength !== expected) {
    throw new DamagedCheckpointError(
      dir,
      `Checkpoint ${dir}: ${group.paths.join(', ')} holds ${buffer.byteLength} bytes but model.json describes ` +
        `${expected}; the checkpoint is damaged.`,
    );
  }
  checkFiniteWeights(buffer, group.weights, dir);
  return { named: tf.io.decodeWeights(buffer, group.weights), json, weightsSha256: sha256(new Uint8Array(buffer)) };
}

/** Loads a checkpoint's weights into a model built from the same config; every variable must be present. */
export function loadCheckpointInto(dir: string, model: MultiTaskModel): CheckpointMetadata {
  const { named, json } = readCheckpointWeights(dir);
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

/** Weight files joined in order into one buffer of our own (TF.js shards one buffer across them). */
export function joinBuffers(parts: readonly Uint8Array[]): ArrayBuffer {
  const joined = new Uint8Array(parts.reduce((n, part) => n + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.byteLength;
  }
  return joined.buffer;
}
