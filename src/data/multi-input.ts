/**
 * Multi-input MTL (issue #17): tasks that come with their own data (`tasks[].data`), as LibMTL's `multi_input` mode
 * (Lin & Zhang, "LibMTL: A Python Library for Multi-Task Learning", JMLR 2023) and the Office-31 setting.
 *
 * Rules (also in docs/notes/multi-input.md):
 * - A task's source is its `data`, else the top-level `data`. Tasks whose sources are deep-equal form one data group,
 *   in the order of their first task.
 * - Each group is prepared on its own by the single-source pipeline (data/prepare.ts) with a config holding only its
 *   tasks: its own split, its preprocessing fitted on its own training rows, its label counts.
 * - The groups must encode to the same input layout (the same feature columns in the same order, the same categories
 *   of each categorical feature); otherwise an error names both layouts (input adapters are not built yet).
 * - The groups' rows are concatenated per split, group after group; a task's labels are present only on its own
 *   group's rows (`EncodedRows.labelled`), so the masked loss, the strategies and the metrics need no change:
 *   task t's loss is L_t = (1/|R_t|) Σ_{r ∈ R_t} ℓ_t(r) over its group's rows R_t in a batch.
 * - Batching (train/multi-input-batches.ts) draws one batch of each group per step.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ResolvedConfig } from '../config/types.js';
import { UsageError } from '../errors.js';
import { outputSize } from '../tasks/registry.js';
import { DataFieldError, type DataField } from './columns.js';
import { dataGroups, type DataGroup, hasOwnData } from './data-groups.js';
import type { LabelCounts } from './labels.js';
import { prepareData, type PreparedData } from './prepare.js';
import type { EncodedRows, FeatureEncoding, InputAdapters, Preprocessing } from './preprocess.js';
import type { SplitName } from './split.js';

/**
 * A field of the config (a path in the resolved config) as the config writes it, for data errors: `field` its name
 * there (`tasks[0].target` for a resolved `tasks[0].targets[0]`), `at` where it is written (`exp.yaml:7:37`,
 * `--set …`; undefined when unknown).
 */
export type LocateField = (path: readonly (string | number)[]) => { field: string; at: string | undefined };

/** One data group's place in the merged splits (rows of group g follow those of groups 0 … g−1). */
export interface GroupRows {
  source: string;
  tasks: string[];
  rows: Record<SplitName, number>;
}

/**
 * Prepares every data group on its own and merges them into one {@link PreparedData} whose `groups` say where each
 * group's rows lie. One group (every task reads the same source) is prepared exactly as a single-source config.
 */
export async function prepareMultiInput(
  config: ResolvedConfig,
  configDir: string,
  locate?: LocateField,
): Promise<PreparedData> {
  const groups = dataGroups(config);
  const prepared: PreparedData[] = [];
  for (const group of groups) {
    prepared.push(await inGroup(config, group, () => prepareData(groupConfig(config, group), configDir), locate));
  }
  const first = prepared[0]!;
  if (prepared.length === 1) return first;
  const adapters = config.training.multi_input?.adapters === true ? inputAdapters(groups, prepared) : undefined;
  if (!adapters) prepared.forEach((p, g) => checkSameLayout(first, groups[0]!, p, groups[g]!));
  const taskEncoding = (name: string) => {
    const g = groups.findIndex((group) => group.tasks.some((t) => t.name === name));
    const index = groups[g]!.tasks.findIndex((t) => t.name === name);
    return prepared[g]!.preprocessing.tasks[index]!;
  };
  const preprocessing: Preprocessing = {
    ...first.preprocessing,
    tasks: config.tasks.map((task) => taskEncoding(task.name)),
    groups: prepared.map((p, g) => ({
      field: groups[g]!.field,
      source: p.source,
      tasks: groups[g]!.tasks.map((t) => t.name),
      features: p.preprocessing.features,
      inputSize: p.preprocessing.inputSize,
      missing: p.preprocessing.missing,
    })),
    ...(adapters ? { adapters, inputSize: adaptedInputSize(adapters) } : {}),
  };
  const merge = (split: SplitName): EncodedRows =>
    mergeGroupRows(
      groups.map((g) => g.tasks.map((t) => t.name)),
      prepared.map((p) => p.splits[split]),
      preprocessing,
    );
  const splits = { train: merge('train'), val: merge('val'), test: merge('test') };
  // In config order, each task's counts from its own group.
  const countsOf = (name: string) => prepared.find((p) => name in p.labelCounts)?.labelCounts[name];
  const labelCounts: LabelCounts = Object.fromEntries(
    config.tasks.flatMap((task) => {
      const counts = countsOf(task.name);
      return counts ? [[task.name, counts]] : [];
    }),
  );
  const sum = (f: (p: PreparedData) => number): number => prepared.reduce((s, p) => s + f(p), 0);
  const groupRows: GroupRows[] = prepared.map((p, g) => ({
    source: p.source,
    tasks: groups[g]!.tasks.map((t) => t.name),
    rows: { train: p.splits.train.rows, val: p.splits.val.rows, test: p.splits.test.rows },
  }));
  return {
    source: prepared.map((p) => p.source).join(' + '),
    preprocessing,
    splits,
    outputSizes: preprocessing.tasks.map(outputSize),
    labelCounts,
    groups: groupRows,
    report: {
      ...first.report,
      source: prepared.map((p) => p.source).join(' + '),
      // The features as the first source reads them (every source has the same layout), every source's targets, and
      // every source's unused columns, each with its source (the sources' columns differ, and may share names).
      columns: [
        ...first.report.columns.map((column) =>
          column.use === 'unused' ? { ...column, source: first.source } : column,
        ),
        ...prepared
          .slice(1)
          .flatMap((p) =>
            p.report.columns
              .filter((column) => column.use === 'target' || column.use === 'unused')
              .map((column) => (column.use === 'unused' ? { ...column, source: p.source } : column)),
          ),
      ],
      rows: sum((p) => p.report.rows),
      usable: sum((p) => p.report.usable),
      splits: {
        train: sum((p) => p.report.splits.train),
        val: sum((p) => p.report.splits.val),
        test: sum((p) => p.report.splits.test),
      },
      warnings: prepared.flatMap((p) =>
        p.report.warnings.map((w) => (w.startsWith(p.source) ? w : `${p.source}: ${w}`)),
      ),
      labels: labelCounts,
    },
  };
}

/**
 * A data error of one group, prefixed with where its source is written: the config line when known, then the field
 * (`exp.yaml:7:37: tasks[1].data.csv (the data of z): …`); a field the error blames is named as the config writes it
 * (`tasks[1].target: column "z" is not in …`).
 */
async function inGroup<T>(
  config: ResolvedConfig,
  group: DataGroup,
  prepare: () => Promise<T>,
  locate?: LocateField,
): Promise<T> {
  try {
    return await prepare();
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const key = group.data.dataset !== undefined ? 'dataset' : 'csv';
    const where = locate?.([...group.path, key]).at;
    const message =
      error instanceof DataFieldError && locate
        ? `${locate(configPath(config, group.path, error.field)).field}: ${error.problem}`
        : error.message;
    throw new UsageError(
      `${where ? `${where}: ` : ''}${group.field}.${key} (the data of ${group.tasks.map((t) => t.name).join(', ')}): ` +
        message,
      error.details,
    );
  }
}

/**
 * A data error of a single source that blames a config field, named and located as the config writes the field
 * (`exp.yaml:4:14: data.features[0]: …`, `--set data.features=[agee]: data.features[0]: …`), as a config's problems
 * are (config/load.ts).
 */
async function locatingFields<T>(config: ResolvedConfig, prepare: () => Promise<T>, locate?: LocateField): Promise<T> {
  try {
    return await prepare();
  } catch (error) {
    if (!(error instanceof DataFieldError) || !locate) throw error;
    const { field, at } = locate(configPath(config, ['data'], error.field));
    throw new UsageError(`${at ? `${at}: ` : ''}${field}: ${error.problem}`, error.details);
  }
}

/** A field of a data source (written at `dataPath`) or of a task, as a path in the whole config. */
export function configPath(
  config: ResolvedConfig,
  dataPath: readonly (string | number)[],
  field: DataField,
): (string | number)[] {
  if ('data' in field) return [...dataPath, ...field.data];
  return ['tasks', config.tasks.findIndex((task) => task.name === field.task), ...field.path];
}

/** How a feature reads in messages: `x1`, `colour{red,blue}`. */
function describeFeature(feature: FeatureEncoding): string {
  return feature.kind === 'numeric' ? feature.column : `${feature.column}{${feature.categories.join(',')}}`;
}

function layoutOf(p: PreparedData): string[] {
  return p.preprocessing.features.map(describeFeature);
}

/** The width of a row under the adapters' layout: the widest group's encoding and one indicator per group. */
export function adaptedInputSize(adapters: InputAdapters): number {
  return Math.max(...adapters.groups.map((g) => g.width)) + adapters.groups.length;
}

/**
 * With `training.multi_input.adapters`: an adapter for each group whose layout differs from the first group's
 * (named by its first task); undefined when every group has the first group's layout (no adapter is needed).
 */
function inputAdapters(groups: DataGroup[], prepared: PreparedData[]): InputAdapters | undefined {
  const first = layoutOf(prepared[0]!);
  const differs = prepared.map((p) => !isDeepStrictEqual(layoutOf(p), first));
  if (!differs.some(Boolean)) return undefined;
  return {
    sharedWidth: prepared[0]!.preprocessing.inputSize,
    groups: prepared.map((p, g) => ({
      width: p.preprocessing.inputSize,
      ...(differs[g] ? { adapter: groups[g]!.tasks[0]!.name } : {}),
    })),
  };
}

function checkSameLayout(first: PreparedData, firstGroup: DataGroup, other: PreparedData, group: DataGroup): void {
  const a = layoutOf(first);
  const b = layoutOf(other);
  if (isDeepStrictEqual(a, b)) return;
  throw new UsageError(
    `${group.field} (${other.source}) encodes its features as [${b.join(', ')}] (input width ` +
      `${other.preprocessing.inputSize}), but ${firstGroup.field} (${first.source}) as [${a.join(', ')}] (input ` +
      `width ${first.preprocessing.inputSize}); tasks with their own data must have the same feature columns in ` +
      'the same order (list them in data.features, with the same categories), or set training.multi_input: ' +
      '{ adapters: true } to learn a dense input adapter for each source with another layout.',
  );
}

/**
 * Rows of every group (one part per group, in group order), concatenated: each task labelled only on its own group's
 * rows (`groupTasks[g]`: the tasks of group g). Training's splits and `mtl eval`'s are merged by this one function.
 */
export function mergeGroupRows(
  groupTasks: string[][],
  parts: EncodedRows[],
  preprocessing: Preprocessing,
): EncodedRows {
  const inputSize = preprocessing.inputSize;
  const rows = parts.reduce((s, part) => s + part.rows, 0);
  const x = new Float32Array(rows * inputSize);
  const targets: Record<string, Float32Array> = {};
  const labelled: Record<string, Uint8Array> = {};
  const adapters = preprocessing.adapters;
  let offset = 0;
  parts.forEach((part, g) => {
    if (adapters) placeAdapted(x, part, offset, g, inputSize, adapters);
    else x.set(part.x, offset * inputSize);
    for (const name of groupTasks[g] ?? []) {
      const values = new Float32Array(rows * targetWidth(preprocessing, name));
      values.set(part.targets[name]!, offset * targetWidth(preprocessing, name));
      targets[name] = values;
      const mask = new Uint8Array(rows);
      const own = part.labelled?.[name];
      for (let r = 0; r < part.rows; r++) mask[offset + r] = own ? own[r]! : 1;
      labelled[name] = mask;
    }
    offset += part.rows;
  });
  return { rows, x, targets, labelled };
}

/** Rows of group g in the adapters' layout: its encoding zero-padded to the widest group, then its indicator. */
function placeAdapted(
  x: Float32Array,
  part: EncodedRows,
  offset: number,
  g: number,
  stride: number,
  adapters: InputAdapters,
) {
  const width = adapters.groups[g]!.width;
  const indicator = stride - adapters.groups.length + g;
  for (let r = 0; r < part.rows; r++) {
    const at = (offset + r) * stride;
    x.set(part.x.subarray(r * width, (r + 1) * width), at);
    x[at + indicator] = 1;
  }
}

/** Values per row of a task's encoded targets: a class index for multiclass, else one per output (metrics/registry). */
function targetWidth(preprocessing: Preprocessing, task: string): number {
  const encoding = preprocessing.tasks.find((t) => t.name === task);
  if (!encoding) throw new Error(`no target encoding for task ${task}`);
  return encoding.type === 'multiclass' ? 1 : outputSize(encoding);
}

/** The config of one data group alone: its source as `data`, only its tasks (without their own `data`). */
export function groupConfig(config: ResolvedConfig, group: DataGroup): ResolvedConfig {
  return { ...config, data: group.data, tasks: group.tasks.map(({ data: _source, ...task }) => task) };
}

/** The data of a config as training reads it: every data group merged when tasks have their own data. */
export function prepareConfigData(
  config: ResolvedConfig,
  configDir: string,
  locate?: LocateField,
): Promise<PreparedData> {
  return hasOwnData(config)
    ? prepareMultiInput(config, configDir, locate)
    : locatingFields(config, () => prepareData(config, configDir), locate);
}
