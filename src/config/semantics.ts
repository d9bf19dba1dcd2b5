import { metricRegistry } from '../metrics/registry.js';
import { layerShapeProblems } from '../model/layers/plan.js';
import { layerDefinition } from '../model/layers/registry.js';
import { architectureRegistry, getArchitecture } from '../model/registry.js';
import type { ArchitectureDefinition } from '../model/types.js';
import { getStrategy } from '../strategies/registry.js';
import { allowedLosses, applicableMetrics, taskKindRegistry } from '../tasks/registry.js';
import type { TaskKind } from '../tasks/types.js';
import { suggest } from '../util/suggest.js';
import { baselineProblems } from './baseline-rules.js';
import { dataSourceProblems, multiInputProblems } from './data-source-rules.js';
import { initProblems } from './init-rules.js';
import { mainTasks } from '../adversarial/adversarial-tasks.js';
import { addDomainDiscriminator } from '../adversarial/domains.js';
import { adversarialProblems } from '../adversarial/rules.js';
import { adversaryProblems, taskDiscriminatorProblems } from '../adversarial/config.js';
import type { ConfigProblem } from './errors.js';
import type { LossName, ModelConfig, ResolvedConfig, TaskConfig } from './types.js';

/**
 * Checks that need more than the schema (cross-field rules, registries, files) and fills the defaults that depend
 * on other fields (task targets, losses and metrics by task type). Mutates `config` (still unfrozen) in place.
 * `context.notes` receives what is allowed but worth saying (see StrategyDefinition.notes).
 */
export function checkSemantics(
  config: ResolvedConfig,
  context: { configDir: string; notes?: ConfigProblem[] },
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const data = config.data;

  problems.push(...dataSourceProblems(data, ['data'], context.configDir, explicitSplit(config)));
  problems.push(...multiInputProblems(config, context.configDir));
  // Before the task loop: the domain discriminator is a task (its defaults and checks are every task's).
  problems.push(...addDomainDiscriminator(config));

  const names = new Set<string>();
  config.tasks.forEach((task, index) => {
    const at = (...rest: (string | number)[]): (string | number)[] => ['tasks', index, ...rest];
    if (names.has(task.name)) problems.push({ path: at('name'), message: `duplicate task name "${task.name}"` });
    names.add(task.name);
    const given = task as { target?: string; targets?: string[] };
    if (given.target !== undefined && given.targets !== undefined) {
      problems.push({
        path: at('target'),
        message: 'give either "target" (one column) or "targets" (a list), not both',
      });
    }
    const kind = taskKindRegistry.lookup(task.type);
    resolveTaskDefaults(task, kind);
    // The policy of the data the task reads: its own (multi-input) or the top-level one.
    const targetsField = task.data ? `tasks[${index}].data.missing_targets` : 'data.missing_targets';
    if (task.max_train_rows !== undefined && (task.data ?? config.data).missing_targets === 'drop') {
      problems.push({
        path: at('max_train_rows'),
        message:
          `a row budget masks the labels of the rows beyond it, and ${targetsField} is "drop"; set ` +
          `${targetsField} to "mask" or remove max_train_rows`,
      });
    }
    if (kind.targetColumns === 'one' && task.targets.length !== 1) {
      problems.push({
        path: at('targets'),
        message: `a ${task.type} task has exactly one target column (got ${task.targets.length})`,
      });
    }
    const losses = allowedLosses(kind);
    if (!losses.includes(task.loss)) {
      problems.push({
        path: at('loss'),
        message: `loss "${task.loss}" does not fit a ${task.type} task; use one of: ${losses.join(', ')}`,
      });
    }
    const applicable = applicableMetrics(kind);
    task.metrics.forEach((metric, m) => {
      if (metricRegistry.has(metric) && !applicable.includes(metric)) {
        problems.push({
          path: at('metrics', m),
          message: `metric "${metric}" does not apply to a ${task.type} task; use one of: ${applicable.join(', ')}`,
        });
      }
    });
  });

  const stopping = config.training.early_stopping.metric;
  // Adversaries report in `adversaries`, not in the validation metrics: not a metric to stop on.
  const adversary = config.tasks.find((t) => t.adversarial && stopping.startsWith(`${t.name}/`));
  const stoppingProblem = adversary
    ? `task "${adversary.name}" is adversarial: it reports in "adversaries", not among the validation metrics; stop ` +
      `on a main task's metric (${mainTasks(config.tasks)
        .map((t) => `${t.name}/…`)
        .join(', ')}) or "loss"`
    : checkMetricReference(stopping, mainTasks(config.tasks));
  if (stoppingProblem) problems.push({ path: ['training', 'early_stopping', 'metric'], message: stoppingProblem });

  const factor = config.training.divergence.factor;
  if (factor > 0 && factor <= 1) {
    problems.push({
      path: ['training', 'divergence', 'factor'],
      message:
        `${factor} would stop healthy runs (early losses are near their initial value); expected a factor above 1 ` +
        '(default 100), or 0 to check non-finite losses only',
    });
  }

  problems.push(...baselineProblems(config));
  problems.push(...initProblems(config));
  problems.push(...adversarialProblems(config));

  let shapesOk = true;
  for (const list of ['trunk', 'head'] as const) {
    const layers = config.model[list];
    for (const layer of layers) layerDefinition(layer).fillDefaults?.(layer);
    for (const problem of layerShapeProblems(layers)) {
      problems.push({ path: ['model', list, problem.index], message: problem.message });
      shapesOk = false;
    }
  }

  const architecture = safe(() => getArchitecture(config.model.architecture));
  if (architecture?.checkConfig && shapesOk) {
    for (const problem of architecture.checkConfig(config.model))
      problems.push({ path: ['model', ...problem.path], message: problem.message });
  }
  if (config.analysis?.affinity && architecture?.hasSharedParameters === false) {
    problems.push({
      path: ['analysis', 'affinity'],
      message:
        `inter-task affinity measures how one task's update of the shared parameters changes the other tasks' ` +
        `losses, and architecture "${architecture.name}" shares no parameters between tasks; use an architecture ` +
        'with shared parameters (hard-sharing, mmoe, cross-stitch, …) or set analysis.affinity: false',
    });
  }
  const withRepresentation = [...architectureRegistry.values()].filter((a) => a.hasSharedRepresentation);
  const representationNames = withRepresentation.map((a) => a.name);
  problems.push(...adversaryProblems(config, architecture, representationNames), ...taskDiscriminatorProblems(config));
  const strategy = safe(() => getStrategy(config.strategy.name));
  if (strategy) {
    // Pure questions to the definition: validation never creates a strategy (which may create TF variables).
    const checkContext = { tasks: mainTasks(config.tasks), optimizer: config.training.optimizer };
    problems.push(...(strategy.checkOptions?.(config.strategy, checkContext) ?? []));
    if (architecture) {
      const model = { hasSharedRepresentation: architecture.hasSharedRepresentation };
      const training = { epochs: config.training.epochs };
      context.notes?.push(...(strategy.notes?.(config.strategy, model, training) ?? []));
    }
    if (architecture && strategy.usesLastSharedLayer) {
      const problem = lastSharedLayerProblem(strategy.name, architecture, config.model);
      // An architecture that has such a layer lacks it in this trunk: the trunk is what to change.
      const cause = architecture.lastSharedLayer ? 'trunk' : 'architecture';
      if (problem) problems.push({ path: ['model', cause], message: problem });
    }
    if (architecture && !architecture.hasSharedRepresentation) {
      const withoutRepresentation = { hasSharedRepresentation: false };
      const needs = strategy.needs(config.strategy, withoutRepresentation);
      if (needs === 'representation-gradients') {
        // A method that stays on the representation even on auto (GradDrop) runs only there: the fix is the
        // architecture, not the target.
        const onAuto = strategy.needs({ ...config.strategy, grad_target: 'auto' }, withoutRepresentation);
        const withOne = [...architectureRegistry.values()].filter((a) => a.hasSharedRepresentation).map((a) => a.name);
        const hint =
          onAuto === 'parameter-gradients'
            ? 'use grad_target: params (or auto)'
            : `"${strategy.name}" runs only on a shared representation: use an architecture with one ` +
              `(${withOne.join(', ')})`;
        // Blamed where it was asked for: grad_target when written, else the strategy that stays on the
        // representation on auto.
        const written = config.strategy.grad_target !== undefined && config.strategy.grad_target !== 'auto';
        problems.push({
          path: ['strategy', written ? 'grad_target' : 'name'],
          message:
            `strategy "${strategy.name}" on the representation needs a shared representation, which ` +
            `architecture "${architecture.name}" does not have; ${hint}`,
        });
      }
    }
    if (architecture?.hasSharedParameters === false) {
      const model = { hasSharedRepresentation: architecture.hasSharedRepresentation };
      if (strategy.needs(config.strategy, model) === 'parameter-gradients') {
        // Every parameter has one task's gradient only, so the method has nothing to combine: PCGrad, MGDA, … train
        // exactly as `equal` does (the same test metrics, bit for bit), and a comparison would credit the method.
        const withShared = [...architectureRegistry.values()]
          .filter((a) => a.hasSharedParameters !== false)
          .map((a) => a.name);
        problems.push({
          path: ['strategy', 'name'],
          message:
            `strategy "${strategy.name}" combines the tasks' gradients of the shared parameters, and architecture ` +
            `"${architecture.name}" shares none, so there is nothing to combine: each parameter would be updated ` +
            `from its one task's loss alone, as under "equal"; use an architecture with shared parameters ` +
            `(${withShared.join(', ')}), or a loss weighting strategy`,
        });
      }
    }
  }
  return problems;
}

/** Why a model of this config cannot give a strategy the gradient norms of its last shared layer (GradNorm). */
function lastSharedLayerProblem(
  strategy: string,
  architecture: ArchitectureDefinition,
  model: ModelConfig,
): string | undefined {
  const found = architecture.lastSharedLayer?.(model);
  if (found && 'layer' in found) return undefined;
  const reason = found ? found.missing : `architecture "${architecture.name}" has no layer shared by every task`;
  const having = [...architectureRegistry.values()].filter((a) => a.lastSharedLayer).map((a) => a.name);
  return (
    `strategy "${strategy}" measures the task gradient norms at the last shared layer of weights: ${reason}` +
    (found ? '' : `; use one of the architectures that have one: ${having.join(', ')}`)
  );
}

/** Fills per-task defaults that depend on the task's kind. */
function resolveTaskDefaults(task: TaskConfig, kind: TaskKind): void {
  const raw = task as TaskConfig & { target?: string; targets?: string[]; loss?: LossName; metrics?: string[] };
  if (!raw.targets || raw.targets.length === 0) raw.targets = [raw.target ?? task.name];
  delete raw.target;
  raw.loss ??= kind.defaultLoss;
  raw.metrics ??= [...kind.defaultMetrics];
}

/** Validates a metric reference `loss`, `<task>/<metric>` or `mean/<metric>`; returns a message or undefined. */
export function checkMetricReference(reference: string, tasks: readonly TaskConfig[]): string | undefined {
  if (reference === 'loss') return undefined;
  const [scope, metric, extra] = reference.split('/');
  if (!scope || !metric || extra !== undefined) {
    return `expected "loss", "<task>/<metric>" or "mean/<metric>", got "${reference}"`;
  }
  if (scope === 'mean') {
    if (metric === 'loss') return undefined;
    if (!tasks.some((t) => t.metrics.includes(metric))) {
      return (
        `no task reports metric "${metric}"; tasks report: ` +
        `${[...new Set(tasks.flatMap((t) => t.metrics))].join(', ')}`
      );
    }
    return undefined;
  }
  const task = tasks.find((t) => t.name === scope);
  if (!task) {
    const hint = suggest(
      scope,
      tasks.map((t) => t.name),
    );
    return (
      `no task named "${scope}"${hint ? `; did you mean "${hint}"?` : '.'} Tasks: ` +
      `${[...new Set(tasks.map((t) => t.name))].join(', ')}.`
    );
  }
  if (metric !== 'loss' && !task.metrics.includes(metric)) {
    const hint = suggest(metric, task.metrics);
    return (
      `task "${scope}" does not report "${metric}"${hint ? `; did you mean "${hint}"?` : ''} It reports: loss, ` +
      `${task.metrics.join(', ')}.`
    );
  }
  return undefined;
}

const explicitSplits = new WeakSet<object>();
/** Marks configs whose split was written by the user (set by the loader before defaults are applied). */
export function markExplicitSplit(config: object): void {
  explicitSplits.add(config);
}
function explicitSplit(config: object): boolean {
  return explicitSplits.has(config);
}

function safe<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
