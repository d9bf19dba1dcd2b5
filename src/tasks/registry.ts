/**
 * The task kinds (`tasks[].type`) and losses (`tasks[].loss`) by name. The config schema's enums, validation's
 * defaults and checks, preprocessing, training targets, losses and evaluation all read these registries, so a new
 * kind or loss is one definition file and one line here, or `taskKindRegistry.register(kind)` /
 * `lossRegistry.register(loss)` from user code (the schema is rebuilt with the new name on the next config load).
 */
import { metricsFor } from '../metrics/registry.js';
import { Registry } from '../util/registry.js';
import { binary } from './kinds/binary.js';
import { multiclass } from './kinds/multiclass.js';
import { multilabel } from './kinds/multilabel.js';
import { regression } from './kinds/regression.js';
import { binaryCrossEntropy } from './losses/binary-cross-entropy.js';
import { crossEntropy } from './losses/cross-entropy.js';
import { huber } from './losses/huber.js';
import { mae } from './losses/mae.js';
import { mse } from './losses/mse.js';
import type { LossDefinition, TargetEncoding, TaskKind } from './types.js';

export const taskKindRegistry = new Registry<TaskKind>('task type', [multiclass, binary, regression, multilabel]);

export const lossRegistry = new Registry<LossDefinition>(
  'loss',
  [crossEntropy, binaryCrossEntropy, mse, mae, huber],
  unknownFits,
);

/**
 * A loss whose `fits` names a task type that is not registered would be allowed on no task and offered by no
 * message, silently; the kind must come first (as a kind may name losses registered after it in `losses`).
 */
function unknownFits(loss: LossDefinition): string | undefined {
  const fits: unknown = loss.fits;
  if (fits === undefined) return undefined;
  const known = taskKindRegistry.names();
  if (!Array.isArray(fits)) return `fits must be a list of task types (of ${known.join(', ')}), got ${String(fits)}.`;
  const unknown = fits.filter((kind: unknown) => typeof kind !== 'string' || !taskKindRegistry.has(kind));
  if (unknown.length === 0) return undefined;
  return (
    `fits names ${unknown.map((kind) => JSON.stringify(kind)).join(', ')}, not a registered task type ` +
    `(known: ${known.join(', ')}). Register the task type first (taskKindRegistry.register(kind)), or fix the name.`
  );
}

/** The kind that fitted an encoding, the only one that reads it. */
export function kindOf(encoding: TargetEncoding): TaskKind {
  return taskKindRegistry.lookup(encoding.type);
}

/** Width of a task's output layer, from its fitted encoding. */
export function outputSize(encoding: TargetEncoding): number {
  return kindOf(encoding).outputSize(encoding);
}

/** The losses a task of this kind may use, in registry order: those that fit it and those it accepts. */
export function allowedLosses(kind: TaskKind): string[] {
  return [...lossRegistry.values()]
    .filter((loss) => (loss.fits ?? []).includes(kind.name) || (kind.losses ?? []).includes(loss.name))
    .map((loss) => loss.name);
}

/** The metrics a task of this kind may report, in metric registry order. */
export function applicableMetrics(kind: TaskKind): string[] {
  const ofLayout = metricsFor(kind.metricLayout);
  const only = kind.metrics;
  return only ? ofLayout.filter((name) => only.includes(name)) : ofLayout;
}
