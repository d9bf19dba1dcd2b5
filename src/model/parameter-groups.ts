import type { MultiTaskModel } from './types.js';

/**
 * The names by which `init.load` and `init.freeze` (issue #17) pick a model's parameters. Every parameter has the
 * name its checkpoint stores it under (`shared/0/kernel`, `tasks/y1/output/bias`, `experts/1/0/kernel`, …, see
 * model/checkpoint.ts) and belongs to one group: `shared` (the model's sharedVariables: the trunk, experts, gates —
 * whatever every task's loss reaches) or one task's (its taskVariables: its head, or its tower). Non-trainable state
 * (batch-norm moving statistics) belongs to the group of the layer it sits in (same name up to its last segment),
 * else to `shared`. A selector is, in this order:
 *   `shared`                    every parameter of the shared group;
 *   `heads`                     every task group (for `load`: of the tasks the source run has too);
 *   `heads.<task>` or `<task>`  that task's group;
 *   anything else               a name prefix by whole segments: `shared/0` picks `shared/0/kernel` and
 *                               `shared/0/bias`, `shared/0/kernel` itself only.
 */
export interface ParameterInfo {
  name: string;
  shape: number[];
  /** `shared`, or the task the parameter belongs to. */
  group: string;
  /** False for state (batch-norm moving statistics): loaded like weights, never frozen (no optimizer moves it). */
  trainable: boolean;
}

export const SHARED_GROUP = 'shared';
export const CHECKPOINT_SUFFIXES: readonly string[] = ['best', 'last'];

/** `RUN:best` → { run: RUN, suffix: 'best' }; a reference without a colon has no suffix. */
export function splitInitSource(from: string): { run: string; suffix?: string } {
  const colon = from.lastIndexOf(':');
  if (colon <= 0) return { run: from };
  return { run: from.slice(0, colon), suffix: from.slice(colon + 1) };
}

/** Every parameter of a model (trainable and state) with its group, in checkpoint order. */
export function parameterInventory(model: MultiTaskModel): ParameterInfo[] {
  const trainable: ParameterInfo[] = [
    ...model.sharedVariables.map((v) => ({ name: v.name, shape: [...v.shape], group: SHARED_GROUP, trainable: true })),
    ...Object.entries(model.taskVariables).flatMap(([task, variables]) =>
      variables.map((v) => ({ name: v.name, shape: [...v.shape], group: task, trainable: true })),
    ),
  ];
  const groupOfLayer = new Map(trainable.map((p) => [layerOf(p.name), p.group]));
  const state = model.stateVariables.map((v) => ({
    name: v.name,
    shape: [...v.shape],
    group: groupOfLayer.get(layerOf(v.name)) ?? SHARED_GROUP,
    trainable: false,
  }));
  return [...trainable, ...state];
}

function layerOf(name: string): string {
  const slash = name.lastIndexOf('/');
  return slash < 0 ? name : name.slice(0, slash);
}

/** What a selector picks, or why it picks nothing. `headTasks` limits `heads` (the tasks both runs have). */
export function selectParameters(
  selector: string,
  inventory: readonly ParameterInfo[],
  headTasks: readonly string[],
): { names: string[] } | { problem: string } {
  const tasks = [...new Set(inventory.map((p) => p.group).filter((g) => g !== SHARED_GROUP))];
  const ofGroups = (groups: readonly string[]): string[] =>
    inventory.filter((p) => groups.includes(p.group)).map((p) => p.name);
  if (selector === SHARED_GROUP) {
    const names = ofGroups([SHARED_GROUP]);
    return names.length > 0
      ? { names }
      : { problem: '"shared" picks nothing: this model has no parameters shared by every task' };
  }
  if (selector === 'heads') {
    const names = ofGroups(tasks.filter((task) => headTasks.includes(task)));
    return names.length > 0
      ? { names }
      : {
          problem:
            '"heads" picks nothing: no task of this run is in the source run (a head is loaded into the task of ' +
            'the same name); remove "heads", or name the tasks as in the source',
        };
  }
  const task = selectorTask(selector, tasks);
  if (task !== undefined) return { names: ofGroups([task]) };
  if (selector.startsWith('heads.')) {
    const named = selector.slice('heads.'.length);
    return { problem: `"${selector}": this run has no task "${named}" (tasks: ${tasks.join(', ')})` };
  }
  const names = inventory.map((p) => p.name).filter((name) => name === selector || name.startsWith(`${selector}/`));
  if (names.length > 0) return { names };
  return {
    problem:
      `"${selector}" is not a group, task or parameter-name prefix of this model; use shared, heads, ` +
      `${tasks.map((t) => `heads.${t}`).join(', ')} or a prefix of: ${inventory.map((p) => p.name).join(', ')}`,
  };
}

/** The task of `tasks` that a `heads.<task>` or `<task>` selector picks, if it is one of them. */
function selectorTask(selector: string, tasks: readonly string[]): string | undefined {
  if (selector === SHARED_GROUP || selector === 'heads') return undefined;
  const task = selector.startsWith('heads.') ? selector.slice('heads.'.length) : selector;
  return tasks.includes(task) ? task : undefined;
}

/**
 * The task of `tasks` whose parameters a selector picks: by group (`heads.<task>`, `<task>`) or by a name prefix
 * under it (`tasks/<task>`, `tasks/<task>/output`); undefined for a selector of no one task's parameters.
 */
export function taskOfSelector(selector: string, tasks: readonly string[]): string | undefined {
  const [first, second] = selector.split('/');
  if (first === 'tasks' && second !== undefined && tasks.includes(second)) return second;
  return selectorTask(selector, tasks);
}

/** `name [2,3]`: a parameter as error messages list it. */
export function describeParameter(p: { name: string; shape: readonly number[] }): string {
  return `${p.name} [${p.shape.join(',')}]`;
}
