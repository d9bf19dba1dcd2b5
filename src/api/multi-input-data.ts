/**
 * The data of a multi-input run (tasks with their own data, data/multi-input.ts) as `mtl eval`, `mtl features`,
 * `mtl compare` and `mtl analyze` read it: each data group rebuilt from its own source with its own stored feature
 * encoding (preprocessing.json `groups`), then the groups' rows concatenated in group order exactly as training merged
 * them (`mergeGroupRows`), so each task is measured on its own split of its own data.
 *
 * New files (`--data TASK=FILE`, repeatable): a file given for a task is read with the encoding of that task's data
 * group; the group's other tasks read the same file (naming two files for one group is an error). A group given no
 * file is left out: its tasks get no metric. A plain `--data FILE` is taken for every group when the run has one data
 * group; with several groups it is an error that lists the groups and their tasks.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToString } from '../config/errors.js';
import { locateConfigField } from '../config/load.js';
import type { ResolvedConfig } from '../config/types.js';
import { columnOf, DataFieldError, type DataField } from '../data/columns.js';
import { readCsv } from '../data/csv.js';
import { dataGroups, hasOwnData, type DataGroup } from '../data/data-groups.js';
import { configPath, groupConfig, mergeGroupRows } from '../data/multi-input.js';
import { encodeTable, splitTable, type SplitTable } from '../data/prepare.js';
import type { EncodedRows, GroupEncoding, Preprocessing } from '../data/preprocess.js';
import type { DataTable } from '../data/types.js';
import { UsageError } from '../errors.js';
import { readConfigSource } from '../runs/inputs.js';
import type { StoredRunMeta } from '../runs/meta.js';
import { fingerprintData, readDataGroupsIfAny, readDataSourceIfAny, type DataSource } from '../runs/data-source.js';
import { suggest } from '../util/suggest.js';

interface RunData {
  id: string;
  config: ResolvedConfig;
  meta: StoredRunMeta;
  preprocessing: Preprocessing;
}

/** One data group of a run with its stored encoding (features of the group, target encodings of its tasks). */
export interface RunGroup {
  group: DataGroup;
  config: ResolvedConfig;
  preprocessing: Preprocessing;
}

export function configDirOf(meta: StoredRunMeta): string {
  return meta.configFile ? path.dirname(meta.configFile) : meta.cwd;
}

/**
 * The run's data groups with their stored encodings; undefined for a run whose tasks all read the top-level data
 * (a single source: callers take the single-source path, unchanged).
 */
export function runGroups(run: RunData): RunGroup[] | undefined {
  if (!hasOwnData(run.config)) return undefined;
  const groups = dataGroups(run.config);
  const stored = run.preprocessing.groups;
  // Every task naming the same source: one group, prepared, stored and read as a single source with that data.
  if (groups.length === 1) {
    const group = groups[0]!;
    return [{ group, config: groupConfig(run.config, group), preprocessing: run.preprocessing }];
  }
  if (stored === undefined || stored.length !== groups.length) {
    throw new UsageError(
      `Run ${run.id} has tasks with their own data but its preprocessing.json stores no encoding per data group ` +
        '(it was trained by an earlier mtl, whose first multi-input version stored only the first source).',
      ['its val and test metrics per task are in its summary.json (mtl runs shows them)', 'train it again to eval it'],
    );
  }
  return groups.map((group, g) => ({
    group,
    config: groupConfig(run.config, group),
    preprocessing: groupPreprocessing(run.preprocessing, stored[g]!),
  }));
}

function groupPreprocessing(merged: Preprocessing, group: GroupEncoding): Preprocessing {
  return {
    features: group.features,
    inputSize: group.inputSize,
    missing: group.missing,
    tasks: group.tasks.map((name) => {
      const encoding = merged.tasks.find((t) => t.name === name);
      if (!encoding) throw new UsageError(`preprocessing.json: group ${group.field} names task "${name}" it has not.`);
      return encoding;
    }),
  };
}

/** A group's table and split rebuilt as training made them: see {@link replaySource}. */
export function replayGroup(run: RunData & { dir: string }, group: RunGroup, remedy: string): Promise<SplitTable> {
  const stored = readDataGroupsIfAny(run.dir)?.find((g) => g.field === group.group.field)?.source;
  return replaySource(run, group, `of ${group.group.field} `, stored, remedy);
}

/** A single-source run's table and split rebuilt as training made them: see {@link replaySource}. */
export function replayOwnData(run: RunData & { dir: string }, remedy: string): Promise<SplitTable> {
  return replaySource(run, run, '', readDataSourceIfAny(run.dir), remedy);
}

/**
 * A source's table and split rebuilt from its config as training made them. Refused (with `remedy`) when its feature
 * columns differ from those the run encoded, or when the CSV holds other bytes than the sha256 the run kept
 * (data-source.json, data-groups.json): a seeded split of another table assigns rows differently, so "test" could
 * hold rows the model trained on. Runs that kept no fingerprint (built-in data, or made before it was kept) pass.
 */
async function replaySource(
  run: RunData,
  source: { config: ResolvedConfig; preprocessing: Preprocessing },
  which: string,
  stored: DataSource | undefined,
  remedy: string,
): Promise<SplitTable> {
  const replayed = await splitTable(source.config, configDirOf(run.meta));
  const trained = source.preprocessing.features.map((f) => f.column);
  if (replayed.features.join('\n') !== trained.join('\n')) {
    throw new UsageError(
      `Run ${run.id}: the data ${which}in ${replayed.table.source} has changed since training (its feature columns ` +
        'differ), so its rows cannot be rebuilt.',
      [`features at training: ${trained.join(', ')}`, `features now: ${replayed.features.join(', ')}`, remedy],
    );
  }
  const now = stored && fingerprintData(source.config, configDirOf(run.meta));
  if (stored && now && now.sha256 !== stored.sha256) {
    throw new UsageError(
      `Run ${run.id}: ${now.file} has changed since training (${stored.bytes} bytes then, ${now.bytes} now), so its ` +
        'splits cannot be rebuilt: a seeded split of other rows could put training rows into val and test.',
      ['restore the file the run trained on', remedy],
    );
  }
  return replayed;
}

/** The merged rows of every group, each encoded with its own preprocessing (parts in group order). */
export function mergeRunGroups(run: RunData, groups: RunGroup[], parts: EncodedRows[]): EncodedRows {
  if (parts.length === 1 && parts[0]) return parts[0];
  return mergeGroupRows(
    groups.map((g) => g.group.tasks.map((t) => t.name)),
    parts,
    run.preprocessing,
  );
}

/** No rows of a group (a group `--data` gave no file): its tasks get no metric. */
export function emptyRows(group: RunGroup): EncodedRows {
  return {
    rows: 0,
    x: new Float32Array(0),
    targets: Object.fromEntries(group.group.tasks.map((t) => [t.name, new Float32Array(0)])),
  };
}

/**
 * `--data` arguments resolved against a run's groups: per group, the file it reads (undefined: left out). Each entry
 * is `FILE` or `TASK=FILE` (TASK a task of the run; text before `=` that names no task is part of a file name).
 */
export function groupFiles(run: RunData, groups: RunGroup[], entries: string[]): (string | undefined)[] {
  const names = new Set(run.config.tasks.map((t) => t.name));
  const files: (string | undefined)[] = groups.map(() => undefined);
  const given: (string | undefined)[] = groups.map(() => undefined);
  const listing = groups.map(
    (g) => `${g.group.field} (${g.preprocessing.features.length} features): ${g.group.tasks.map((t) => t.name)}`,
  );
  for (const entry of entries) {
    const at = entry.indexOf('=');
    const task = at > 0 ? entry.slice(0, at) : undefined;
    // `TASK=FILE` naming no task, and no file of that whole name either: the task is mistyped.
    if (task !== undefined && !names.has(task) && !existsSync(path.resolve(entry))) {
      const hint = suggest(task, names);
      throw new UsageError(
        `--data "${entry}": run ${run.id} has no task "${task}"${hint ? `; did you mean "${hint}"?` : ''}`,
        [...listing, `--data TASK=FILE: TASK is one of ${[...names].join(', ')}`],
      );
    }
    if (task === undefined || !names.has(task)) {
      if (groups.length === 1) {
        files[0] = entry;
        continue;
      }
      throw new UsageError(
        `--data "${entry}": run ${run.id} has ${groups.length} data sources (tasks with their own data); say which ` +
          'task a file is for: --data TASK=FILE (repeat it for each source).',
        listing,
      );
    }
    const g = groups.findIndex((group) => group.group.tasks.some((t) => t.name === task));
    const file = entry.slice(at + 1);
    if (files[g] !== undefined && files[g] !== file) {
      const group = groups[g]!.group;
      throw new UsageError(
        `--data "${entry}": ${group.field} (the data of ${group.tasks.map((t) => t.name).join(', ')}) was given ` +
          `${files[g]} already (by --data ${given[g]}=…); one file per data source.`,
        listing,
      );
    }
    files[g] = file;
    given[g] = task;
  }
  return files;
}

/** A file read with one group's encoding, for `mtl eval --data TASK=FILE`: see {@link encodeNewRows}. */
export async function encodeGroupFile(
  run: RunData & { dir: string },
  group: RunGroup,
  file: string,
): Promise<{ encoded: EncodedRows; warnings: string[] }> {
  const table = await readCsv(path.resolve(file), file);
  return encodeNewRows(run, group.group.path, table, group.preprocessing, group.config);
}

/**
 * A new table read with a data source's stored encoding (its missing-value policy, its categories), for
 * `mtl eval --data`: a category training never saw is encoded as all zeros, with a warning per column. The source is
 * written at `dataPath` (`data`, or `tasks[1].data` for a task with its own data). A column the table lacks is named
 * by the config field that asks for it, as the run's config writes it and as training's data errors name it
 * (data/multi-input.ts): `data.features` or `tasks[1].data.features` for a feature, `tasks[1].target` for a task's
 * target column; not as the pipeline sees the source alone (`data.features`, `tasks[z].targets[0]`).
 */
export function encodeNewRows(
  run: RunData & { dir: string },
  dataPath: readonly (string | number)[],
  table: DataTable,
  preprocessing: Preprocessing,
  config: ResolvedConfig,
): { encoded: EncodedRows; warnings: string[] } {
  const features = pathToString([...dataPath, 'features']);
  for (const feature of preprocessing.features) columnOf(table, feature.column, features);
  try {
    return encodeTable(table, preprocessing, config);
  } catch (error) {
    if (!(error instanceof DataFieldError)) throw error;
    throw new UsageError(`${writtenField(run, dataPath, error.field)}: ${error.problem}`, error.details);
  }
}

/** A data error's field as the run's config (config.yaml and its --set flags) writes it. */
function writtenField(
  run: RunData & { dir: string },
  dataPath: readonly (string | number)[],
  field: DataField,
): string {
  const fieldPath = configPath(run.config, dataPath, field);
  let sourceText: string;
  try {
    sourceText = readConfigSource(run.dir);
  } catch {
    return pathToString(fieldPath); // a run without its config.yaml: the resolved field, which names it too
  }
  const loaded = { config: run.config, file: undefined, sourceText, overrides: run.meta.overrides };
  return locateConfigField(loaded, fieldPath).field;
}
