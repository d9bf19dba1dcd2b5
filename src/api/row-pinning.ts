import type { ResolvedConfig, TaskConfig } from '../config/types.js';
import { dataGroups, hasOwnData } from '../data/data-groups.js';
import { groupConfig } from '../data/multi-input.js';
import { splitTable } from '../data/prepare.js';
import type { FeatureEncoding, Preprocessing } from '../data/preprocess.js';

/**
 * The `data.*` overrides that keep a sub-run (a single-task baseline, a pair run, a sweep's task subset) on exactly
 * its multi-task run's rows and split, when it has only some of the tasks:
 *
 * - `missing_targets: drop`: the left-out tasks' targets go to `data.required_columns`, so rows missing one are
 *   still left out (the multi-task run dropped them).
 * - `missing_targets: mask`: they go to `data.row_label_columns`, so a row one of them labels is still kept before
 *   the split; after the split each split keeps the rows the sub-run's own tasks label (data/labels.ts). A
 *   single-task baseline of task t thus trains and is measured on the rows where t is labelled, in the same split as
 *   the multi-task run, and its `max_train_rows` picks the same rows (the order depends on the seed, the task and the
 *   training rows only).
 */
export function rowPinning(config: ResolvedConfig, tasks: readonly TaskConfig[]): Record<string, unknown> {
  const own = new Set(tasks.flatMap((task) => task.targets));
  const others = config.tasks.flatMap((task) => task.targets).filter((column) => !own.has(column));
  const changes: Record<string, unknown> = {};
  const masking = config.data.missing_targets === 'mask';
  const required = [...(config.data.required_columns ?? []), ...(masking ? [] : others)];
  if (required.length > 0) changes['data.required_columns'] = [...new Set(required)];
  const labelling = [...(config.data.row_label_columns ?? []), ...(masking ? others : [])];
  if (labelling.length > 0) changes['data.row_label_columns'] = [...new Set(labelling)];
  return changes;
}

/** A run's feature columns per data source, keyed by where the source is written (`data`, `tasks[i].data`). */
export type SourceFeatures = Readonly<Record<string, readonly string[]>>;

/**
 * {@link rowPinning} and the features for a sub-run that keeps some tasks (`kept`), per data source: a single-source
 * config gets `data.*` overrides as before; a multi-input config (tasks with their own data, data/multi-input.ts)
 * pins each source on the kept tasks of its own group (the left-out tasks of that group; another group's targets are
 * not in its file), with that source's features. `data` gets the overrides of the group read through the top-level
 * `data`; `taskData[t]` the fields to merge into kept task t's own `data` (its group's overrides), so tasks that
 * shared a source still share one (deep-equal sources form one group).
 */
export function subsetData(
  config: ResolvedConfig,
  kept: readonly TaskConfig[],
  features: SourceFeatures | undefined,
): { changes: Record<string, unknown>; taskData: Record<string, Record<string, unknown>> } {
  const taskData: Record<string, Record<string, unknown>> = {};
  if (!hasOwnData(config)) {
    const changes: Record<string, unknown> = { ...rowPinning(config, kept) };
    if (features?.['data']) changes['data.features'] = features['data'];
    return { changes, taskData };
  }
  const changes: Record<string, unknown> = {};
  const groups = dataGroups(config);
  for (const group of groups) {
    const keptHere = kept.filter((task) => group.tasks.some((t) => t.name === task.name));
    if (keptHere.length === 0) continue;
    const fields: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(rowPinning(groupConfig(config, group), keptHere))) {
      fields[key.slice('data.'.length)] = value;
    }
    // One group: stored as a single source (features under `data`) though its tasks name their own data.
    const groupFeatures = features?.[group.field] ?? (groups.length === 1 ? features?.['data'] : undefined);
    if (groupFeatures) fields['features'] = groupFeatures;
    for (const task of keptHere) {
      if (task.data) taskData[task.name] = fields;
      else for (const [key, value] of Object.entries(fields)) changes[`data.${key}`] = value;
    }
  }
  return { changes, taskData };
}

/** Each data source's feature columns as a run's preprocessing.json stores them. */
export function sourceFeatures(preprocessing: Preprocessing): SourceFeatures {
  const columns = (features: readonly FeatureEncoding[]): string[] => features.map((f) => f.column);
  if (!preprocessing.groups) return { data: columns(preprocessing.features) };
  return Object.fromEntries(preprocessing.groups.map((group) => [group.field, columns(group.features)]));
}

/** A config's feature columns per data source, as training will read them (a sweep pins its task subsets to them). */
export async function configFeatures(config: ResolvedConfig, configDir: string): Promise<SourceFeatures> {
  if (!hasOwnData(config)) return { data: (await splitTable(config, configDir)).features };
  const features: Record<string, string[]> = {};
  for (const group of dataGroups(config)) {
    features[group.field] = (await splitTable(groupConfig(config, group), configDir)).features;
  }
  return features;
}
