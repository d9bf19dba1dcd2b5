import { architectureRegistry } from '../model/registry.js';
import { strategyRegistry } from '../strategies/registry.js';
import { taskKindRegistry } from '../tasks/registry.js';
import { pathToString, type ConfigProblem } from './errors.js';
import type { DataConfig, OptimizerName, ResolvedConfig } from './types.js';

/**
 * Checks of what the user wrote against what the chosen methods read: a value that would change nothing (a task
 * weight under a strategy that weighs tasks its own way, Adam's betas under SGD) is refused rather than silently
 * ignored, and so is a target column offered as a feature. `given` is the config as written, before defaults (so a
 * default is never mistaken for a choice); `config` the validated one, with every default filled in.
 */
export function applicabilityProblems(config: ResolvedConfig, given: unknown): ConfigProblem[] {
  return [
    ...taskWeightProblems(config, given),
    ...positiveLabelProblems(config, given),
    ...optimizerOptionProblems(config, given),
    ...leakageProblems(config),
    ...seedProblems(given),
    ...affinityOptionProblems(config, given),
    ...architectureOptionProblems(config, given),
  ];
}

/** An architecture option written where the rest of the model config leaves it unread (ArchitectureDefinition). */
function architectureOptionProblems(config: ResolvedConfig, given: unknown): ConfigProblem[] {
  const architecture = architectureRegistry.get(config.model.architecture);
  if (!architecture?.optionIgnored) return [];
  const model = field(given, 'model');
  return Object.keys(architecture.optionsSchema).flatMap((option): ConfigProblem[] => {
    if (field(model, option) === undefined) return [];
    const why = architecture.optionIgnored?.(config.model, option);
    return why === undefined ? [] : [{ path: ['model', option], atKey: true, message: `has no effect: ${why}` }];
  });
}

/** `affinity_every` and `affinity_lookahead` tune a measurement that `affinity: false` (the default) never takes. */
function affinityOptionProblems(config: ResolvedConfig, given: unknown): ConfigProblem[] {
  if (config.analysis?.affinity === true) return [];
  const analysis = field(given, 'analysis');
  return ['affinity_every', 'affinity_lookahead']
    .filter((option) => field(analysis, option) !== undefined)
    .map((option) => ({
      path: ['analysis', option],
      atKey: true,
      message:
        'has no effect: inter-task affinity is not measured (analysis.affinity is false). Set analysis.affinity: ' +
        `true to measure it, or remove "${option}".`,
    }));
}

/** `seed` and `seeds` both written: which one holds is not clear, so neither is guessed. */
function seedProblems(given: unknown): ConfigProblem[] {
  if (field(given, 'seed') === undefined || field(given, 'seeds') === undefined) return [];
  return [
    {
      path: ['seeds'],
      atKey: true,
      message:
        'cannot be given together with "seed": "seeds" trains one run per seed as a group, "seed" one run. ' +
        'Keep one of them (e.g. seeds: [0, 1, 2], or seed: 0).',
    },
  ];
}

/** Which `training` options each optimizer reads (src/train/optimizers.ts); lr, weight_decay and the rest: all. */
const optimizerOptions: Record<OptimizerName, readonly string[]> = {
  sgd: [],
  momentum: ['momentum'],
  adam: ['beta1', 'beta2', 'epsilon'],
  adamw: ['beta1', 'beta2', 'epsilon'],
};

function optimizerOptionProblems(config: ResolvedConfig, given: unknown): ConfigProblem[] {
  const training = field(given, 'training');
  const chosen = config.training.optimizer;
  const read = new Set(optimizerOptions[chosen]);
  const problems: ConfigProblem[] = [];
  for (const option of new Set(Object.values(optimizerOptions).flat())) {
    if (field(training, option) === undefined || read.has(option)) continue;
    const readers = Object.entries(optimizerOptions)
      .filter(([, options]) => options.includes(option))
      .map(([name]) => name);
    problems.push({
      path: ['training', option],
      atKey: true,
      message:
        `has no effect with training.optimizer "${chosen}"; it is read only by ${readers.join(', ')}. ` +
        `Choose ${readers.length === 1 ? 'that optimizer' : 'one of those'}, or remove "${option}".`,
    });
  }
  return problems;
}

function taskWeightProblems(config: ResolvedConfig, given: unknown): ConfigProblem[] {
  const givenTasks = field(given, 'tasks');
  if (!Array.isArray(givenTasks)) return [];
  const strategy = strategyRegistry.get(config.strategy.name);
  if (!strategy) return [];
  const readers = [...strategyRegistry.values()].filter((s) => s.taskWeightIgnored).map((s) => s.name);
  const problems: ConfigProblem[] = [];
  config.tasks.forEach((task, index) => {
    if (field(givenTasks[index], 'weight') === undefined) return;
    const why = task.adversarial
      ? "an adversarial task is not one of the strategy's tasks; its scale is adversarial.lambda"
      : strategy.taskWeightIgnored
        ? strategy.taskWeightIgnored(config.strategy, task.name)
        : `strategy "${strategy.name}" does not read task weights; they are read only by ${readers.join(', ')} ` +
          `(e.g. strategy: { name: ${readers[0] ?? 'static'} })`;
    if (why === undefined) return;
    problems.push({
      path: ['tasks', index, 'weight'],
      atKey: true,
      message: `has no effect: ${why}. Change the strategy, or remove this weight.`,
    });
  });
  return problems;
}

/** `positive` names the positive label of a task whose kind reads it (binary); elsewhere it would do nothing. */
function positiveLabelProblems(config: ResolvedConfig, given: unknown): ConfigProblem[] {
  const givenTasks = field(given, 'tasks');
  if (!Array.isArray(givenTasks)) return [];
  const readers = [...taskKindRegistry.values()].filter((kind) => kind.readsPositive).map((kind) => kind.name);
  return config.tasks.flatMap((task, index): ConfigProblem[] => {
    if (field(givenTasks[index], 'positive') === undefined) return [];
    if (taskKindRegistry.get(task.type)?.readsPositive) return [];
    return [
      {
        path: ['tasks', index, 'positive'],
        atKey: true,
        message:
          `has no effect on a ${task.type} task; it is read only by ${readers.join(', ')} tasks (the label ` +
          'that counts as positive). Remove it, or change the task type.',
      },
    ];
  });
}

/** A target (or the split column) among the features hands the model its own answer. */
function leakageProblems(config: ResolvedConfig): ConfigProblem[] {
  // Every data source: the top-level one and the tasks' own (multi-input MTL), each against every task's targets (the
  // sources share one model input, so a target among any source's features reaches the trunk).
  const sources: Array<{ data: DataConfig; at: (string | number)[] }> = [
    { data: config.data, at: ['data'] },
    ...config.tasks.flatMap((task, i) => (task.data ? [{ data: task.data, at: ['tasks', i, 'data'] }] : [])),
  ];
  return sources.flatMap(({ data, at }) => sourceLeakage(config, data, at));
}

function sourceLeakage(config: ResolvedConfig, data: DataConfig, at: (string | number)[]): ConfigProblem[] {
  const features = data.features;
  if (!features) return [];
  const problems: ConfigProblem[] = [];
  const split = data.split;
  const where = pathToString(at);
  features.forEach((column, index) => {
    const owners = config.tasks.filter((task) => task.targets.includes(column)).map((task) => `"${task.name}"`);
    if (owners.length > 0) {
      problems.push({
        path: [...at, 'features', index],
        message:
          `column "${column}" is the target of task ${owners.join(' and ')}: as a feature it gives the model the ` +
          `answer (target leakage). Remove it from ${where}.features.`,
      });
    } else if ('column' in split && split.column === column) {
      problems.push({
        path: [...at, 'features', index],
        message:
          `column "${column}" is the split column (${where}.split.column), not a feature. ` +
          `Remove it from ${where}.features.`,
      });
    }
  });
  return problems;
}

/** `value[key]` when value is a mapping, else undefined. */
function field(value: unknown, key: string): unknown {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)[key]
    : undefined;
}
