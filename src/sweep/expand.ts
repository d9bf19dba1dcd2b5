import { UsageError } from '../errors.js';
import { createRng } from '../util/rng.js';
import type { SpaceDomain, SweepSpec, TaskSubsets } from './spec.js';

/**
 * The trials of a sweep, before any config is built (pure). The rules, also in docs/notes/part-16a.md:
 *
 * - configurations: `grid` is the cartesian product of the space's lists in the file's key order, the last key
 *   varying fastest; `random` draws `trials` configurations from `createRng(seed)`: a list (or `choice`) uniformly,
 *   a range `min + u·(max − min)`, on log scale `exp(ln min + u·(ln max − ln min))`, an integer range uniformly over
 *   its whole numbers (log scale: the drawn value rounded); `halving` the grid, or random draws with `trials`;
 *   non-integer draws keep 6 significant digits. Random
 *   search as in Bergstra & Bengio, "Random Search for Hyper-Parameter Optimization", JMLR 13 (2012): independent
 *   draws per trial, each value from its own distribution, u ~ U[0, 1) from the project's seeded generator.
 * - task subsets: `all` (the base config's tasks), `all-pairs` (every pair i < j in the base's order),
 *   `leave-one-out` (the base's tasks without one, in its order), or the lists given.
 * - order: configuration, then task subset, then seed; a trial's index is its place in this order, which is what
 *   `--shard i/n` slices (index mod n = i − 1).
 */
export interface TrialPlan {
  index: number;
  /** The configuration: config path → value, in the space's order. */
  point: readonly (readonly [string, unknown])[];
  /** The task subset; undefined for all the base's tasks. */
  tasks: readonly string[] | undefined;
  /** The training seed. */
  seed: number;
}

/**
 * Every trial of the sweep, in order, for the training `seeds` (the sweep's, else the base's). A task subset naming a
 * task the base lacks is a UsageError at its line.
 */
export function expandTrials(spec: SweepSpec, baseTasks: readonly string[], seeds: readonly number[]): TrialPlan[] {
  // Halving searches the grid, or random draws when `trials: N` is given.
  const draws = spec.search === 'random' || (spec.search === 'halving' && spec.trials !== undefined);
  const points = draws ? randomPoints(spec.space, spec) : gridPoints(spec.space);
  const subsets = taskSubsets(spec, baseTasks);
  const trials: TrialPlan[] = [];
  for (const point of points) {
    for (const tasks of subsets) {
      for (const seed of seeds) trials.push({ index: trials.length, point, tasks, seed });
    }
  }
  return trials;
}

type Point = readonly (readonly [string, unknown])[];

export function gridPoints(space: SweepSpec['space']): Point[] {
  let points: Point[] = [[]];
  for (const [key, domain] of space) {
    if (domain.kind !== 'values') throw new Error(`grid over a range (${key}): refused by the sweep file's checks`);
    points = points.flatMap((point) => domain.values.map((value) => [...point, [key, value] as const]));
  }
  return points;
}

export function randomPoints(space: SweepSpec['space'], spec: Pick<SweepSpec, 'trials' | 'searchSeed'>): Point[] {
  const rng = createRng(spec.searchSeed);
  const points: Point[] = [];
  for (let trial = 0; trial < (spec.trials ?? 0); trial++) {
    points.push(space.map(([key, domain]) => [key, draw(domain, rng.next())] as const));
  }
  return points;
}

function draw(domain: SpaceDomain, u: number): unknown {
  if (domain.kind === 'values')
    return domain.values[Math.min(domain.values.length - 1, Math.floor(u * domain.values.length))];
  const { min, max } = domain;
  if (domain.integer && !domain.log) return min + Math.min(max - min, Math.floor(u * (max - min + 1)));
  const value = domain.log ? Math.exp(Math.log(min) + u * (Math.log(max) - Math.log(min))) : min + u * (max - min);
  return domain.integer ? Math.round(value) : Number(value.toPrecision(6));
}

export function taskSubsets(
  spec: Pick<SweepSpec, 'tasks' | 'where' | 'displayName'>,
  baseTasks: readonly string[],
): (readonly string[] | undefined)[] {
  const tasks: TaskSubsets = spec.tasks;
  if (tasks === 'all') return [undefined];
  if (tasks === 'all-pairs' || tasks === 'leave-one-out') {
    if (baseTasks.length < 2) {
      throw new UsageError(
        `${spec.where(['tasks'])}: tasks: "${tasks}" needs a base config with at least two tasks; it has ` +
          `${baseTasks.length}.`,
      );
    }
    if (tasks === 'leave-one-out') return baseTasks.map((left) => baseTasks.filter((task) => task !== left));
    return baseTasks.flatMap((first, i) => baseTasks.slice(i + 1).map((second) => [first, second]));
  }
  const problems: string[] = [];
  tasks.forEach((subset, i) =>
    subset.forEach((name, j) => {
      if (!baseTasks.includes(name)) {
        problems.push(
          `${spec.where(['tasks', i, j])}: tasks[${i}][${j}]: "${name}" is no task of the base config; its tasks ` +
            `are ${baseTasks.join(', ')}`,
        );
      }
    }),
  );
  if (problems.length > 0) throw new UsageError(`${spec.displayName} names tasks its base config lacks:`, problems);
  // In the base's order, so [b, a] and [a, b] are the same subset (and the same trial).
  return tasks.map((subset) => baseTasks.filter((task) => subset.includes(task)));
}
