import type { ResolvedConfig } from '../config/types.js';
import type { Preprocessing } from '../data/preprocess.js';
import { outputSize } from '../tasks/registry.js';
import { withInputAdapters } from '../model/input-adapters.js';
import { buildArchitecture } from '../model/registry.js';
import type { MultiTaskModel } from '../model/types.js';
import { createRng } from '../util/rng.js';
import { mainTasks } from '../adversarial/adversarial-tasks.js';
import { scheduleOf } from '../adversarial/lambda-option.js';
import { withAdversaries } from '../adversarial/adversary-heads.js';

/** Builds the model a config describes for data encoded by `preprocessing` (same call at train and eval time). */
export function buildModel(config: ResolvedConfig, preprocessing: Preprocessing): MultiTaskModel {
  const heads = config.tasks.map((task, i) => {
    const encoding = preprocessing.tasks[i];
    if (!encoding) throw new Error(`no target encoding for task ${task.name}`);
    return { name: task.name, type: task.type, outputSize: outputSize(encoding) };
  });
  // Adversarial tasks get no head of the architecture's: theirs read the shared representation behind a reversal.
  const main = new Set(mainTasks(config.tasks).map((task) => task.name));
  const adapters = preprocessing.adapters;
  const architecture = buildArchitecture(config.model, {
    inputSize: adapters ? adapters.sharedWidth : preprocessing.inputSize,
    heads: heads.filter((head) => main.has(head.name)),
    rng: createRng(config.seed).fork('model'),
  });
  // Multi-input runs whose sources encode different layouts: a dense adapter per such source before the model.
  const groupTasks = (preprocessing.groups ?? []).map((g) => g.tasks);
  const model = adapters
    ? withInputAdapters(architecture, adapters, groupTasks, createRng(config.seed).fork('adapters'))
    : architecture;
  const adversaries = config.tasks.flatMap((task, i) =>
    task.adversarial ? [{ task, head: heads[i]!, schedule: scheduleOf(task.adversarial.lambda) }] : [],
  );
  if (adversaries.length === 0) return model;
  const rng = createRng(config.seed).fork('adversaries');
  return withAdversaries(model, adversaries, config.model.head, preprocessing.inputSize, rng);
}

/** Model topology stored in checkpoints: enough to rebuild the model. */
export function modelTopology(config: ResolvedConfig, preprocessing: Preprocessing): Record<string, unknown> {
  return {
    model: config.model,
    inputSize: preprocessing.inputSize,
    ...(preprocessing.adapters ? { adapters: preprocessing.adapters } : {}),
    tasks: config.tasks.map((t, i) => ({
      name: t.name,
      type: t.type,
      outputSize: outputSize(preprocessing.tasks[i] as never),
    })),
  };
}

export function countParameters(model: MultiTaskModel): {
  shared: number;
  perTask: Record<string, number>;
  total: number;
} {
  const size = (vars: readonly { size: number }[]): number => vars.reduce((n, v) => n + v.size, 0);
  const shared = size(model.sharedVariables);
  const perTask = Object.fromEntries(Object.entries(model.taskVariables).map(([name, vars]) => [name, size(vars)]));
  return { shared, perTask, total: shared + Object.values(perTask).reduce((a, b) => a + b, 0) };
}
