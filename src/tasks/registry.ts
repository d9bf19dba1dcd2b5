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

export const lossRegistry = new Registry<LossDefinition>('loss', [crossEntropy, binaryCrossEntropy, mse, mae, huber]);

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
