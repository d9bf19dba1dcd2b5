import { readFileSync } from 'node:fs';
import { BACKEND_NAMES, FMA_CHOICES } from '../config/backend-setting.js';
import type { ResolvedConfig } from '../config/types.js';
import type { Preprocessing } from '../data/preprocess.js';
import { UsageError } from '../errors.js';
import { writeFileAtomic, writeJsonAtomic } from './atomic.js';
import { hasOwnData } from '../data/data-groups.js';
import { fingerprintData, fingerprintGroups, writeDataGroups, writeDataSource } from './data-source.js';
import { JsonFields, readJsonFile } from './json.js';
import { runFile } from './layout.js';

/**
 * What a run was started from: the config as written (config.yaml), as resolved (config.resolved.json: overrides and
 * defaults applied, the value training used) and the encodings fitted on the training rows (preprocessing.json).
 */
export interface RunInputs {
  configSource: string;
  config: ResolvedConfig;
  preprocessing: Preprocessing;
  /** The config's folder, where a relative `data.csv` starts: given, the CSV's fingerprint is kept too. */
  configDir?: string;
}

export function writeRunInputs(runDir: string, inputs: RunInputs): void {
  writeFileAtomic(runFile(runDir, 'configSource'), inputs.configSource);
  writeJsonAtomic(runFile(runDir, 'resolvedConfig'), inputs.config);
  writeJsonAtomic(runFile(runDir, 'preprocessing'), inputs.preprocessing);
  const source = inputs.configDir === undefined ? undefined : fingerprintData(inputs.config, inputs.configDir);
  if (source) writeDataSource(runDir, source);
  if (inputs.configDir !== undefined && hasOwnData(inputs.config)) {
    writeDataGroups(runDir, fingerprintGroups(inputs.config, inputs.configDir));
  }
}

export function readConfigSource(runDir: string): string {
  const file = runFile(runDir, 'configSource');
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`Cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * A run's resolved config. The fields evaluation and comparison rely on are checked here; the rest (layers, method
 * options) were validated when the config was loaded, and building the model checks them again.
 */
export function readResolvedConfig(runDir: string): ResolvedConfig {
  const file = runFile(runDir, 'resolvedConfig');
  const value = readJsonFile(file);
  assertResolvedConfig(value, file);
  return withEarlierTargetPolicy(withEarlierDefaults(value));
}

/**
 * Runs from before `data.missing_targets` (issue #17) dropped every row missing a target: they are replayed (eval,
 * resume, compare) under `drop`, so their rows and split stay those they trained on.
 */
function withEarlierTargetPolicy(config: ResolvedConfig): ResolvedConfig {
  const stored: Partial<ResolvedConfig['data']> = config.data;
  if (stored.missing_targets !== undefined) return config;
  return { ...config, data: { ...config.data, missing_targets: 'drop' } };
}

/**
 * Architecture options added after runs were made, whose default differs from what those runs trained: a resolved
 * config without the key is from before the option existed, so it gets the value the run had. Without this an old
 * run would be rebuilt as a different model (and, for a missing bias, load its checkpoint into the wrong one).
 * - mmoe, cgc, ple `gate_bias` (default false since the gates are the papers' softmax(W x)): earlier gates had a bias.
 * - dselect-k `unreachable` (default penalty, the authors' code): earlier runs renormalised the selectors.
 * - `training.divergence` (a rule added later): its defaults, which never trip on a healthy run.
 */
function withEarlierDefaults(config: ResolvedConfig): ResolvedConfig {
  const model = config.model as Record<string, unknown>;
  const earlier: Record<string, unknown> = {};
  if (['mmoe', 'cgc', 'ple'].includes(String(model['architecture'])) && !('gate_bias' in model)) {
    earlier['gate_bias'] = true;
  }
  if (model['architecture'] === 'dselect-k' && !('unreachable' in model)) earlier['unreachable'] = 'renormalise';
  const withModel = Object.keys(earlier).length === 0 ? config : { ...config, model: { ...config.model, ...earlier } };
  // Runs from before the divergence rule (training.divergence) resume under its defaults.
  const stored: Partial<ResolvedConfig['training']> = withModel.training;
  if (stored.divergence !== undefined) return withModel;
  return { ...withModel, training: { ...withModel.training, divergence: { factor: 100, patience: 1 } } };
}

function assertResolvedConfig(value: unknown, file: string): asserts value is ResolvedConfig {
  const fields = JsonFields.of(value, file);
  fields.string('name');
  fields.number('seed');
  // A name (every run before issue #20), or `{ name, fma }`.
  if (typeof fields.value['backend'] === 'string') fields.oneOf('backend', BACKEND_NAMES);
  else {
    const backend = fields.object('backend');
    backend.oneOf('name', BACKEND_NAMES);
    backend.oneOf('fma', FMA_CHOICES);
  }
  const data = fields.object('data');
  if (!data.has('dataset') && !data.has('csv'))
    throw data.problem('csv', 'a CSV path (or data.dataset a built-in dataset name)');
  data.optionalString('dataset');
  data.optionalString('csv');
  data.object('options');
  if (data.has('features')) data.strings('features');
  data.strings('categorical');
  data.oneOf('missing', ['error', 'drop', 'impute']);
  if (data.has('missing_targets')) data.oneOf('missing_targets', ['mask', 'drop']);
  if (data.has('row_label_columns')) data.strings('row_label_columns');
  data.oneOf('normalize', ['standard', 'minmax', 'none']);
  const split = data.object('split');
  if (split.has('column')) split.string('column');
  else for (const part of ['train', 'val', 'test']) split.number(part);
  for (const task of fields.objects('tasks')) {
    task.string('name');
    task.string('type');
    task.strings('targets');
    task.string('loss');
    task.strings('metrics');
    task.number('weight');
    task.optionalString('positive');
    task.optionalNumber('max_train_rows');
  }
  const model = fields.object('model');
  model.string('architecture');
  model.array('trunk');
  model.array('head');
  const training = fields.object('training');
  for (const key of ['lr', 'batch_size', 'epochs', 'eval_batch_size']) training.number(key);
  fields.object('strategy').string('name');
}

/**
 * Whether encodings fitted again now are the ones stored at training (same bytes as written): a resumed run must
 * train on the same encoded data, and a CSV changed since then would silently give different inputs.
 */
export function preprocessingMatches(runDir: string, preprocessing: Preprocessing): boolean {
  const file = runFile(runDir, 'preprocessing');
  try {
    return readFileSync(file, 'utf8') === `${JSON.stringify(preprocessing, null, 2)}\n`;
  } catch {
    return false;
  }
}
