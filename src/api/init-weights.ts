import { existsSync } from 'node:fs';
import path from 'node:path';
import type { InitConfig } from '../config/types.js';
import type { FeatureEncoding, Preprocessing } from '../data/preprocess.js';
import { UsageError } from '../errors.js';
import { checkpointVariables } from '../model/checkpoint.js';
import {
  describeParameter,
  parameterInventory,
  selectParameters,
  SHARED_GROUP,
  splitInitSource,
  type ParameterInfo,
} from '../model/parameter-groups.js';
import type { MultiTaskModel } from '../model/types.js';
import { DamagedCheckpointError, readCheckpointWeights } from '../runs/checkpoint.js';
import { checkpointDir, MODEL_JSON, type CheckpointName } from '../runs/layout.js';
import type { RunLineage } from '../runs/meta.js';
import { chooseCheckpoint, readRun, type StoredRun } from './evaluate.js';

/**
 * Model-based transfer (issue #17; seed 004 §3: "parameters reused, frozen or fine-tuned"; Yosinski et al. 2014,
 * "How transferable are features in deep neural networks?"): a new run's model starts from another run's checkpoint
 * for the parameters `init.load` selects (model/parameter-groups.ts), θ_new[p] ← θ_source[p] for every selected p,
 * the rest freshly initialised (a task the source did not have gets a new head). Every selected parameter must exist
 * in the source under the same name with the same shape; otherwise nothing is loaded and the error lists both
 * sides. `init.freeze` picks among the loaded parameters those the trainer holds fixed (train/fine-tuning.ts); state
 * (batch-norm moving statistics) is loaded but never frozen: in training mode it follows the new data.
 *
 * Input encoding: trunk weights mean something only for inputs encoded the same way, so when anything read by the
 * inputs is loaded (the shared group, or every group of an architecture without a shared representation, whose
 * towers read the inputs) the source's feature encoding must have the new run's layout: the same columns in the same
 * order, each numeric or categorical alike, categorical ones with the same categories (so the same width and one-hot
 * positions). The new run fits its own normalisation on its own training rows (stored in its preprocessing.json) and
 * does not take over the source's centres and scales: a run stays self-contained (eval, resume and `mtl features`
 * read only its own files), and for data of the same distribution the two fits agree up to sampling noise.
 */
export function initialiseFromSource(
  init: InitConfig,
  model: MultiTaskModel,
  preprocessing: Preprocessing,
  runsDir: string,
  /** Where the config gives `init.from` (`exp.yaml:18:9`, `--set init.from=…`), to start the messages about it. */
  fromAt?: string,
): RunLineage {
  const { run: reference, suffix } = splitInitSource(init.from);
  const named = `${fromAt ? `${fromAt}: ` : ''}init.from "${init.from}"`;
  const { source, checkpoint } = sourceCheckpoint(named, reference, suffix, runsDir);
  const weights = readSourceWeights(named, source, checkpoint);
  try {
    const inventory = parameterInventory(model);
    const sourceTasks = source.config.tasks.map((task) => task.name);
    const loaded = selectAll('init.load', init.load, inventory, sourceTasks);
    const sourceParameters = Object.entries(weights.named).map(([name, t]) => ({ name, shape: [...t.shape] }));
    checkFits(named, source.id, checkpoint, loaded, inventory, sourceParameters);
    const readsInputs = inventory.some(
      (p) => loaded.includes(p.name) && (p.group === SHARED_GROUP || !(model.encode && model.decode)),
    );
    if (readsInputs) checkInputLayout(source.id, source.preprocessing, preprocessing);
    // Moving statistics are state, not trained: "frozen" names the trainable parameters the optimizers leave alone.
    const trainable = new Set(inventory.filter((p) => p.trainable).map((p) => p.name));
    const frozen = selectAll('init.freeze', init.freeze, inventory, sourceTasks).filter((name) => trainable.has(name));
    const notLoaded = frozen.filter((name) => !loaded.includes(name));
    if (notLoaded.length > 0) {
      throw new UsageError(
        `init.freeze: ${notLoaded.join(', ')} ${notLoaded.length === 1 ? 'is' : 'are'} not loaded from ` +
          `${source.id}, and freezing fresh random weights is almost always a mistake.`,
        [`loaded: ${loaded.join(', ')}`, 'add them to init.load, or take them out of init.freeze'],
      );
    }
    const byName = new Map(checkpointVariables(model).map((v) => [v.name, v]));
    for (const name of loaded) {
      const value = weights.named[name];
      if (value) byName.get(name)?.assign(value);
    }
    return {
      sourceId: source.id,
      sourceDir: source.dir,
      checkpoint,
      epoch: weights.json.userDefinedMetadata.epoch,
      weightsSha256: weights.weightsSha256,
      loaded,
      frozen,
    };
  } finally {
    for (const tensor of Object.values(weights.named)) tensor.dispose();
  }
}

/**
 * The source run and the checkpoint to read; a problem finding either starts with `named` (where the config gives
 * `init.from`, and its value). A run not found says how to name another without editing the config.
 */
function sourceCheckpoint(
  named: string,
  reference: string,
  suffix: string | undefined,
  runsDir: string,
): { source: StoredRun; checkpoint: CheckpointName } {
  let source: StoredRun;
  try {
    source = readRun(reference, runsDir);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    throw new UsageError(`${named}: ${error.message}`, [
      ...error.details,
      'give the id of the run to start from in the config, or on the command line: --set init.from=<run id>',
    ]);
  }
  try {
    // RUN:best asks for best by name: no fallback to last, as with --checkpoint best.
    const wanted = suffix === 'last' ? 'last' : 'best';
    return { source, checkpoint: chooseCheckpoint(source, wanted, suffix !== undefined) };
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(`${named}: ${error.message}`, error.details);
    throw error;
  }
}

/** The union of what each selector picks, in checkpoint order; a selector that picks nothing is an error. */
function selectAll(
  field: string,
  selectors: readonly string[],
  inventory: readonly ParameterInfo[],
  sourceTasks: readonly string[],
): string[] {
  const picked = new Set<string>();
  const problems: string[] = [];
  for (const selector of selectors) {
    const result = selectParameters(selector, inventory, sourceTasks);
    if ('problem' in result) problems.push(result.problem);
    else for (const name of result.names) picked.add(name);
  }
  if (problems.length > 0) {
    throw new UsageError(`${field}: ${problems.length === 1 ? 'a selector picks' : 'selectors pick'} nothing:`, [
      ...problems,
    ]);
  }
  return inventory.map((p) => p.name).filter((name) => picked.has(name));
}

/** Every loaded parameter is in the source, with the same shape; else the error lists both sides. */
function checkFits(
  named: string,
  sourceId: string,
  checkpoint: CheckpointName,
  loaded: readonly string[],
  inventory: readonly ParameterInfo[],
  sourceParameters: readonly { name: string; shape: number[] }[],
): void {
  const sourceShapes = new Map(sourceParameters.map((p) => [p.name, p.shape]));
  const problems: string[] = [];
  for (const parameter of inventory.filter((p) => loaded.includes(p.name))) {
    const shape = sourceShapes.get(parameter.name);
    if (!shape) problems.push(`${describeParameter(parameter)}: not in the source`);
    else if (shape.join(',') !== parameter.shape.join(',')) {
      problems.push(`${parameter.name}: [${shape.join(',')}] in the source, [${parameter.shape.join(',')}] here`);
    }
  }
  if (problems.length === 0) return;
  throw new UsageError(
    `${named}: the ${checkpoint} checkpoint of ${sourceId} does not fit what init.load selects ` +
      `(${problems.length} parameter${problems.length === 1 ? '' : 's'}):`,
    [
      ...problems,
      `source parameters: ${sourceParameters.map(describeParameter).join(', ')}`,
      `this run's parameters: ${inventory.map(describeParameter).join(', ')}`,
      'load fewer parameters (init.load: [heads.<task>], a prefix such as shared/0), or make model.trunk, the ' +
        'features and the tasks match the source run',
    ],
  );
}

/** The source's feature encoding has the layout of the new run's (columns, order, kinds, categories). */
function checkInputLayout(sourceId: string, source: Preprocessing, target: Preprocessing): void {
  const layout = (f: FeatureEncoding): string =>
    f.kind === 'numeric' ? `${f.column} (numeric)` : `${f.column} (categorical: ${f.categories.join('|')})`;
  const sourceLayout = source.features.map(layout);
  const targetLayout = target.features.map(layout);
  if (sourceLayout.join('\n') === targetLayout.join('\n')) return;
  throw new UsageError(
    `init.from: the inputs of ${sourceId} (width ${source.inputSize}) are not encoded like this run's ` +
      `(width ${target.inputSize}), so its trunk weights would read the wrong inputs.`,
    [
      `source features: ${sourceLayout.join(', ')}`,
      `this run's features: ${targetLayout.join(', ')}`,
      'use the same feature columns in the same order (data.features, data.categorical), or load only heads ' +
        '(init.load: [heads])',
    ],
  );
}

/**
 * The source checkpoint's weights. A damaged one is named as `init.from`'s, and the fix is the config's (`init.from:
 * RUN:last`), not the `--checkpoint` flag of the commands that read a run (train takes none).
 */
function readSourceWeights(
  named: string,
  source: StoredRun,
  checkpoint: CheckpointName,
): ReturnType<typeof readCheckpointWeights> {
  try {
    return readCheckpointWeights(checkpointDir(source.dir, checkpoint));
  } catch (error) {
    if (!(error instanceof DamagedCheckpointError)) throw error;
    const other: CheckpointName = checkpoint === 'best' ? 'last' : 'best';
    const whole = existsSync(path.join(checkpointDir(source.dir, other), MODEL_JSON));
    throw new UsageError(`${named}: ${error.message}`, [
      `${whole ? `load its ${other} checkpoint instead (init.from: ${source.id}:${other}), ` : ''}restore the file ` +
        'from a backup, or train the source run again',
    ]);
  }
}
