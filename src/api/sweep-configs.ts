import type { LoadedConfig } from '../config/load.js';
import { parseConfigText, parseOverride } from '../config/load.js';
import { checkMetricReference } from '../config/semantics.js';
import { parseDocument } from 'yaml';
import { UsageError } from '../errors.js';
import type { SweepSpec } from '../sweep/spec.js';
import type { TrialPlan } from '../sweep/expand.js';
import { NEEDS_SEVERAL_TASKS, withoutSeedList } from './baseline-configs.js';
import { subsetData, type SourceFeatures } from './row-pinning.js';

/**
 * A trial's config: the base config's text (its `seeds:` list left out; the trial's seed is set) with `--set`-style
 * overrides, parsed and validated by the config loader like any config:
 *
 * 1. the configuration's values, `<path>=<value>` (a string bare where YAML reads it back as itself, else JSON),
 *    in the space's order;
 * 2. for a task subset (as api/baseline-configs.ts does for baselines and pairs): `tasks` (the base's entries of
 *    those tasks), `data.features` pinned to the base config's inputs (else the left-out tasks' targets would become
 *    inputs), `data.required_columns` the left-out tasks' targets (so a subset keeps exactly the base's rows and
 *    split); with one task, strategy `equal` (nothing to weigh; a gradient method has one gradient) and hard sharing
 *    for an architecture that needs several tasks; an early-stopping metric naming a task the subset lacks becomes
 *    `loss`;
 * 3. the sweep's own (halving: `training.epochs=<R>`, the final budget);
 * 4. `seed=<n>`.
 */
export interface TrialConfig {
  loaded: LoadedConfig;
  /** The configuration's overrides (step 1), as shown and recorded. */
  pointOverrides: string[];
}

export function trialConfig(
  spec: SweepSpec,
  base: LoadedConfig,
  trial: TrialPlan,
  context: { features: SourceFeatures | undefined; count: number; extra?: readonly string[] },
): TrialConfig {
  const pointOverrides = trial.point.map(([key, value]) => `${key}=${overrideValue(key, value)}`);
  const subset = trial.tasks === undefined ? [] : subsetOverrides(base, trial.tasks, context.features);
  const overrides = [...pointOverrides, ...subset, ...(context.extra ?? []), `seed=${trial.seed}`];
  try {
    const loaded = parseConfigText(withoutSeedList(base.sourceText), {
      ...(base.file ? { file: base.file } : {}),
      displayName: base.file ?? '<config>',
      overrides,
    });
    return { loaded, pointOverrides };
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const what = [
      ...pointOverrides,
      ...(trial.tasks ? [`tasks ${trial.tasks.join('+')}`] : []),
      `seed ${trial.seed}`,
    ].join(', ');
    throw new UsageError(
      `${spec.displayName}: trial ${trial.index + 1} of ${context.count} (${what}) would not be a valid config: ` +
        error.message,
      error.details.map((detail) => locatedInSweep(spec, detail)),
    );
  }
}

/** A problem the loader blamed on a `--set` the sweep wrote, placed at the sweep file's line that asked for it. */
function locatedInSweep(spec: SweepSpec, detail: string): string {
  const match = /^--set ([^=]+)=(.*?): /.exec(detail);
  if (!match) return detail;
  const key = match[1] ?? '';
  const rest = detail.slice(match[0].length);
  if (spec.space.some(([path]) => path === key)) return `${spec.where(['space', key])}: space.${key}: ${rest}`;
  if (key === 'seed') return `${spec.where(['seeds'])}: seeds: ${rest}`;
  return `${spec.where(['tasks'])}: tasks: ${rest}`;
}

function subsetOverrides(base: LoadedConfig, names: readonly string[], features: SourceFeatures | undefined): string[] {
  const config = base.config;
  const tasks = config.tasks.filter((task) => names.includes(task.name));
  const written = writtenTasks(base.sourceText);
  // Multi-input configs: each kept task keeps its own data, pinned like its source (api/row-pinning.ts).
  const { changes: dataChanges, taskData } = subsetData(config, tasks, features);
  const changes: Record<string, unknown> = {
    // The entries as the base file wrote them (defaults are filled again, and a filled-in default is no choice the
    // applicability checks would hold against the user); a weight weighs nothing in one task, and under `equal` it
    // would be refused.
    tasks: names.map((name) => {
      const entry = withOwnData(written.get(name) ?? {}, taskData[name]);
      if (names.length > 1) return entry;
      const { weight: _unused, ...rest } = entry;
      return rest;
    }),
  };
  Object.assign(changes, dataChanges);
  if (tasks.length === 1) {
    changes['strategy'] = { name: 'equal' };
    if (NEEDS_SEVERAL_TASKS.has(config.model.architecture)) {
      changes['model'] = { architecture: 'hard-sharing', trunk: config.model.trunk, head: config.model.head };
    }
  }
  if (checkMetricReference(config.training.early_stopping.metric, tasks) !== undefined) {
    changes['training.early_stopping.metric'] = 'loss';
  }
  return Object.entries(changes).map(([key, value]) => `${key}=${JSON.stringify(value)}`);
}

/** A written task entry with fields merged into its own `data` (an entry without one is returned as written). */
function withOwnData(entry: Record<string, unknown>, fields: Record<string, unknown> | undefined) {
  const data = entry['data'];
  if (!fields || typeof data !== 'object' || data === null) return entry;
  return { ...entry, data: { ...data, ...fields } };
}

/** The base file's `tasks:` entries by name, as written. */
function writtenTasks(sourceText: string): Map<string, Record<string, unknown>> {
  const raw: unknown = parseDocument(sourceText).toJS();
  const byName = new Map<string, Record<string, unknown>>();
  if (typeof raw !== 'object' || raw === null || !('tasks' in raw) || !Array.isArray(raw.tasks)) return byName;
  for (const task of raw.tasks as unknown[]) {
    if (typeof task !== 'object' || task === null || Array.isArray(task)) continue;
    const entry: Record<string, unknown> = { ...task };
    if (typeof entry['name'] === 'string') byName.set(entry['name'], entry);
  }
  return byName;
}

/** A value as `--set` reads it back: a string bare where YAML reads it as that string (`pcgrad`), else JSON. */
function overrideValue(key: string, value: unknown): string {
  if (typeof value === 'string' && value !== '' && parseOverride(`${key}=${value}`).value === value) return value;
  return JSON.stringify(value);
}
