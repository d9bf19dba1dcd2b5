import { parseDocument } from 'yaml';
import { locateConfigField, parseConfigText, type LoadedConfig } from '../config/load.js';
import { checkMetricReference } from '../config/semantics.js';
import type { TaskConfig } from '../config/types.js';
import { UsageError } from '../errors.js';
import { SHARED_GROUP, splitInitSource, taskOfSelector } from '../model/parameter-groups.js';
import { getArchitecture } from '../model/registry.js';
import { readRun } from './evaluate.js';
import { subsetData, type SourceFeatures } from './row-pinning.js';
import { subRunsAskedFor, type SubRunEntry, type SubRunKind } from './sub-runs.js';

/**
 * The configs of the runs trained with a multi-task run (issue #15), each the run's own config (its file and
 * `--set` flags) with a few more overrides, validated like any config:
 *
 * - single-task baseline of task t (`baselines/<t>`): only task t; the same trunk, head, architecture options,
 *   budget (epochs, early stopping, optimizer, lr, batch size), seed and split; `data.features` pinned to the inputs
 *   the multi-task run used (else the other tasks' target columns would become inputs); `data.required_columns` the
 *   other tasks' targets, so it keeps exactly the multi-task run's rows (rows missing a target are always left out,
 *   so without it the baseline would keep rows the multi-task run dropped, and draw another split from them);
 *   strategy `equal` (one task: there is nothing to weigh, and a gradient method has one gradient to combine). An
 *   architecture that cannot take one task ({@link NEEDS_SEVERAL_TASKS}) is replaced by hard sharing with the same
 *   trunk and head, and the sub-run's notes say so.
 * - towers (`baselines/towers`): every task, `model.architecture: soft-sharing` with `coupling: none` and the same
 *   trunk and head — one tower per task, nothing shared, no penalty — under `equal`, so each tower's gradient is
 *   exactly its own task's (a weighting method would scale it). What the towers still share is the batches and the
 *   epoch of the best checkpoint (early stopping follows the same metric as the multi-task run).
 * - pair run of tasks {i, j} (`pairs/<i>+<j>`, with `analysis.pairs`): the two tasks, the same architecture, strategy
 *   `equal` (the pairwise gain measures what sharing with j does to i, not what a weighting method does).
 *
 * An early-stopping metric that names a task the run lacks (`b/accuracy` in a baseline of a), or a metric none of its
 * tasks reports (`mean/accuracy` for a regression task), becomes `loss`, with a note.
 */

/** Architectures whose model cannot be built with one task: cross-stitch mixes T towers with T×T matrices. */
export const NEEDS_SEVERAL_TASKS: ReadonlySet<string> = new Set(['cross-stitch']);

export { pairIsTheRun, type SubRunKind } from './sub-runs.js';

export interface SubRunPlan {
  kind: SubRunKind;
  /** Relative to the multi-task run's folder: `baselines/a`, `baselines/towers`, `pairs/a+b`. */
  path: string;
  /** `a`, `towers`, `a+b`. */
  label: string;
  tasks: string[];
  /**
   * The sub-run's config, with the inputs pinned to `features` (the multi-task run's, once it has trained): a list
   * for the top-level data, or per data source (`sourceFeatures` of the run's preprocessing, multi-input runs).
   */
  config(features?: readonly string[] | SourceFeatures): LoadedConfig;
}

/** The sub-runs a config asks for, each config checked now: a problem is a UsageError before anything trains. */
export function planSubRuns(loaded: LoadedConfig): SubRunPlan[] {
  const entries = subRunsAskedFor(loaded.config);
  checkInitSelectors(loaded, entries);
  const plans = entries.map(({ kind, path, label, tasks }) => ({
    kind,
    path,
    label,
    tasks: tasks.map((task) => task.name),
    config: (features?: readonly string[] | SourceFeatures) => subRunConfig(loaded, kind, label, tasks, features),
  }));
  for (const entry of plans) entry.config(); // checks every config before anything is trained
  return plans;
}

/**
 * A sub-run starts from `init.from` with the run's own `init.load` and `init.freeze` (docs/transfer.md), and a
 * selector that picks nothing in its model fails it when it starts: after the multi-task run, and the sub-runs
 * before it, have trained. What the config alone tells is refused now: a selector of a task's parameters
 * (`heads.<task>`, `<task>`, `tasks/<task>/…`) where a sub-run lacks that task, and one of the shared parameters
 * (`shared`, `shared/…`) in the towers baseline, which shares none. (`heads` in a sub-run none of whose tasks the
 * source has needs the source run: {@link checkSubRunHeads}.)
 */
function checkInitSelectors(loaded: LoadedConfig, entries: readonly SubRunEntry[]): void {
  const config = loaded.config;
  const init = config.init;
  if (!init || entries.length === 0) return;
  const runTasks = config.tasks.map((task) => task.name);
  // An architecture without shared parameters fails `shared` in the multi-task run itself, with its own message.
  const runShares = getArchitecture(config.model.architecture).hasSharedParameters !== false;
  const towers = entries.find((entry) => entry.kind === 'towers');
  const problems: { path: (string | number)[]; text: string }[] = [];
  let shared = false;
  for (const key of ['load', 'freeze'] as const) {
    init[key].forEach((selector, index) => {
      const path = ['init', key, index];
      const task = taskOfSelector(selector, runTasks);
      if (task !== undefined) {
        const lacking = entries.find((entry) => !entry.tasks.some((t) => t.name === task));
        if (!lacking) return;
        const text = `"${selector}" picks parameters of task "${task}", which ${describeSubRun(lacking)} does not have`;
        problems.push({ path, text });
      } else if (towers && runShares && (selector === SHARED_GROUP || selector.startsWith(`${SHARED_GROUP}/`))) {
        const text = `"${selector}" picks parameters shared by every task, and the towers baseline shares none`;
        problems.push({ path, text });
        shared = true;
      }
    });
  }
  const [first, ...others] = problems;
  if (!first) return;
  const { field, at } = locateConfigField(loaded, first.path);
  const selectors = others.length === 0 ? 'the selector' : 'these selectors';
  // The towers baseline can load no shared parameter at all: single-task baselines can.
  const instead = shared
    ? ' (init.load is [shared] when not given), train single-task baselines (baselines: single-task),'
    : ',';
  throw new UsageError(
    `${at ? `${at}: ` : ''}${field}: ${first.text}. A baseline or pair run starts from init.from with the run's ` +
      'init.load and init.freeze, so it would fail after the multi-task run has trained.',
    [
      ...others.map((problem) => `${locateConfigField(loaded, problem.path).field}: ${problem.text}`),
      `take ${selectors} out of init.load and init.freeze${instead} or train without baselines (baselines: none)`,
    ],
  );
}

/**
 * `heads` in `init.load` or `init.freeze` picks the heads of the tasks a run shares with the source run, so in a
 * sub-run none of whose tasks the source has it picks nothing, and that sub-run would fail when it starts, after the
 * multi-task run has trained. That needs the source's tasks, so it is checked where the source can be read:
 * `mtl train` (before the run, or a seed group, exists) and `mtl validate`. A source that cannot be read, or a
 * multi-task run that itself has none of the source's tasks, is left to the run's own resolution and its message.
 */
export function checkSubRunHeads(loaded: LoadedConfig, runsDir: string | undefined): void {
  const config = loaded.config;
  const init = config.init;
  if (!init) return;
  const fields = (['load', 'freeze'] as const).flatMap((key) =>
    init[key].flatMap((selector, index) => (selector === 'heads' ? [['init', key, index]] : [])),
  );
  const entries = subRunsAskedFor(config);
  if (fields.length === 0 || entries.length === 0) return;
  let source: { id: string; tasks: string[] };
  try {
    const run = readRun(splitInitSource(init.from).run, runsDir);
    source = { id: run.id, tasks: run.config.tasks.map((task) => task.name) };
  } catch {
    return;
  }
  const inSource = (task: TaskConfig): boolean => source.tasks.includes(task.name);
  if (!config.tasks.some(inSource)) return;
  const lacking = entries.filter((entry) => !entry.tasks.some(inSource));
  const [first] = lacking;
  if (!first) return;
  const [field, ...otherFields] = fields.map((path) => locateConfigField(loaded, path));
  if (!field) return;
  throw new UsageError(
    `${field.at ? `${field.at}: ` : ''}${field.field}: "heads" picks nothing in ${describeSubRun(first)}: the ` +
      `source run ${source.id} has none of its tasks (the source's tasks: ${source.tasks.join(', ')}). A baseline ` +
      "or pair run starts from init.from with the run's init.load and init.freeze, so it would fail after the " +
      'multi-task run has trained.',
    [
      ...lacking.slice(1).map((entry) => `and in ${describeSubRun(entry)}`),
      ...otherFields.map((other) => `${other.field}: "heads" too`),
      'take "heads" out of init.load and init.freeze (load the shared parameters alone: load: [shared]), or train ' +
        'without baselines (baselines: none)',
    ],
  );
}

/** `the single-task baseline of task "a"`, `the towers baseline`, `the pair run a+b`. */
function describeSubRun({ kind, label }: { kind: SubRunKind; label: string }): string {
  if (kind === 'towers') return 'the towers baseline';
  return kind === 'pair' ? `the pair run ${label}` : `the single-task baseline of task "${label}"`;
}

function subRunConfig(
  loaded: LoadedConfig,
  kind: SubRunKind,
  label: string,
  tasks: readonly TaskConfig[],
  features: readonly string[] | SourceFeatures | undefined,
): LoadedConfig {
  const config = loaded.config;
  const perSource: SourceFeatures | undefined = isFeatureList(features) ? { data: features } : features;
  const { changes: dataChanges, taskData } = subsetData(config, tasks, perSource);
  const notes: string[] = [];
  const description = describeSubRun({ kind, label });
  const changes: Record<string, unknown> = {
    name: `${config.name}-${kind === 'single-task' ? 'single' : kind}-${label.replace('+', '-')}`,
    // `weight` is left out: under `equal` it would be refused, and it weighs nothing in one task.
    tasks: tasks.map(({ weight: _unused, ...task }) => {
      const own = taskData[task.name];
      return own && task.data ? { ...task, data: { ...task.data, ...own } } : task;
    }),
    // The run's own seed, however its config got it (a seed group sets it per member).
    seed: config.seed,
    strategy: { name: 'equal' },
    baselines: 'none',
    analysis: {},
  };
  Object.assign(changes, dataChanges);
  if (kind === 'towers') {
    changes['model'] = {
      architecture: 'soft-sharing',
      coupling: 'none',
      trunk: config.model.trunk,
      head: config.model.head,
    };
  } else if (tasks.length === 1 && NEEDS_SEVERAL_TASKS.has(config.model.architecture)) {
    changes['model'] = { architecture: 'hard-sharing', trunk: config.model.trunk, head: config.model.head };
    notes.push(
      `${description}: architecture "${config.model.architecture}" cannot take one task, so this baseline is ` +
        'hard sharing with the same trunk and head',
    );
  }
  const stopping = config.training.early_stopping.metric;
  if (checkMetricReference(stopping, tasks) !== undefined) {
    changes['training.early_stopping.metric'] = 'loss';
    notes.push(
      `${description}: early stopping follows "loss", as "${stopping}" (the multi-task run's) names a metric ` +
        `its task${tasks.length === 1 ? '' : 's'} (${tasks.map((t) => t.name).join(', ')}) ` +
        `${tasks.length === 1 ? 'does' : 'do'} not report`,
    );
  }
  // A sub-run is one run of the run's own seed: a seed group's `seeds` (in the file or a --set) is not carried over.
  // Nor is a feature adversary (`adversary:`): like the strategy, it is part of the multi-task method the baselines
  // are compared with, and its `{ task: … }` selections need the run's other tasks.
  const dropped = config.adversary ? ['seeds', 'adversary'] : ['seeds'];
  if (config.adversary) notes.push(`${description}: trained without the run's adversary (adversary: is left out)`);
  const overrides = [
    ...loaded.overrides.filter((override) => !dropped.some((key) => new RegExp(`^${key}(?:[.[=]|$)`).test(override))),
    ...Object.entries(changes).map(([key, value]) => `${key}=${JSON.stringify(value)}`),
  ];
  let derived: LoadedConfig;
  try {
    derived = parseConfigText(withoutTopLevelKeys(loaded.sourceText, dropped), {
      ...(loaded.file ? { file: loaded.file } : {}),
      displayName: loaded.file ?? '<config>',
      overrides,
    });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    throw new UsageError(`${capitalised(description)} would not be a valid config: ${error.message}`, [
      ...error.details,
      'fix the config, or train without baselines (baselines: none)',
    ]);
  }
  const allNotes = [...(derived.notes ?? []), ...notes];
  return { ...derived, ...(allNotes.length > 0 ? { notes: allNotes } : {}) };
}

function isFeatureList(features: readonly string[] | SourceFeatures | undefined): features is readonly string[] {
  return Array.isArray(features);
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The config text without a top-level `seeds` list (comments and positions of the rest kept). */
export function withoutSeedList(sourceText: string): string {
  return withoutTopLevelKeys(sourceText, ['seeds']);
}

/** The config text without these top-level keys (the text as it was when it has none of them). */
function withoutTopLevelKeys(sourceText: string, keys: readonly string[]): string {
  const document = parseDocument(sourceText);
  const present = keys.filter((key) => document.has(key));
  if (present.length === 0) return sourceText;
  for (const key of present) document.delete(key);
  return document.toString();
}
