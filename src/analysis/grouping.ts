/**
 * A suggested grouping of the tasks from a T×T relatedness matrix S (S[i][j]: what task i does for task j — the
 * inter-task affinity Z_{i→j}, or the symmetric mean gradient cosine), after Fifty et al. 2021 ("Efficiently
 * Identifying Task Groupings for Multi-Task Learning", NeurIPS, §3.2), restricted to partitions.
 *
 * Rule: among all partitions of the tasks into groups, choose the one that maximises the total intra-group score
 *
 *   score(P) = Σ_{G ∈ P} Σ_{i, j ∈ G, i ≠ j} S[i][j]        (a singleton contributes 0)
 *
 * so two tasks share a group when what they do for each other is positive on balance. Exhaustive for T ≤ 8 (at most
 * 4140 partitions); above that, greedy agglomeration from singletons (merge the two groups whose merge adds most,
 * while a merge adds more than 0). Ties (within 1e-12): fewer groups first, then the first partition in the
 * enumeration order, which keeps earlier tasks together. Missing (non-finite) entries count as 0.
 *
 * Pairs kept apart: no group may hold both tasks of a pair the report warns about (below). A score summed over a
 * group can be positive while one of its pairs hurts each other (two tasks that both gain from a third), and a
 * suggestion to train together a pair the same report flags leaves the user to decide which to believe; the search
 * runs over the partitions without such a pair instead (all singletons always qualify), and the result names the
 * flagged pairs that the score alone would have grouped.
 *
 * Harmful pairs: with affinity, a pair whose affinities are negative both ways (Z_{i→j} < 0 and Z_{j→i} < 0); with
 * gradients, a pair whose mean cosine is below 0 or whose fraction of steps in conflict (cos < 0) is above 0.5.
 */

export const EXHAUSTIVE_MAX_TASKS = 8;
const TIE = 1e-12;

export interface Grouping {
  groups: string[][];
  score: number;
  /** `exhaustive` (T ≤ 8) or `greedy`. */
  search: 'exhaustive' | 'greedy';
  /** The pairs kept apart that the score alone would have put in one group (each in task order). */
  keptApart: [string, string][];
}

/** Task indices that may not share a group, both orders. */
type Apart = ReadonlySet<string>;

const together = (apart: Apart, members: readonly number[]): boolean =>
  members.every((i) => members.every((j) => !apart.has(`${i},${j}`)));

function value(matrix: readonly (readonly number[])[], i: number, j: number): number {
  const v = matrix[i]?.[j];
  return v !== undefined && Number.isFinite(v) ? v : 0;
}

function groupScore(matrix: readonly (readonly number[])[], members: readonly number[]): number {
  let s = 0;
  for (const i of members) for (const j of members) if (i !== j) s += value(matrix, i, j);
  return s;
}

/** Every partition of 0..n−1 as restricted growth strings, in lexicographic order (earlier tasks together first). */
function* partitions(n: number): Generator<number[]> {
  const labels = new Array<number>(n).fill(0);
  const maxUpTo = new Array<number>(n).fill(0);
  for (;;) {
    yield [...labels];
    let i = n - 1;
    while (i > 0 && labels[i]! > maxUpTo[i - 1]!) i--;
    if (i <= 0) return;
    labels[i]!++;
    maxUpTo[i] = Math.max(maxUpTo[i - 1]!, labels[i]!);
    for (let k = i + 1; k < n; k++) {
      labels[k] = 0;
      maxUpTo[k] = maxUpTo[i]!;
    }
  }
}

function groupsOf(labels: readonly number[]): number[][] {
  const groups: number[][] = [];
  labels.forEach((label, task) => {
    const group = groups[label];
    if (group) group.push(task);
    else groups[label] = [task];
  });
  return groups;
}

function exhaustive(
  matrix: readonly (readonly number[])[],
  n: number,
  apart: Apart,
): { groups: number[][]; score: number } {
  let best: { groups: number[][]; score: number } | undefined;
  for (const labels of partitions(n)) {
    const groups = groupsOf(labels);
    if (!groups.every((g) => together(apart, g))) continue;
    const score = groups.reduce((s, g) => s + groupScore(matrix, g), 0);
    const better =
      !best || score > best.score + TIE || (Math.abs(score - best.score) <= TIE && groups.length < best.groups.length);
    if (better) best = { groups, score };
  }
  return best ?? { groups: [], score: 0 };
}

function greedy(
  matrix: readonly (readonly number[])[],
  n: number,
  apart: Apart,
): { groups: number[][]; score: number } {
  const groups = Array.from({ length: n }, (_, i) => [i]);
  for (;;) {
    let bestGain = TIE;
    let pair: [number, number] | undefined;
    for (let a = 0; a < groups.length; a++) {
      for (let b = a + 1; b < groups.length; b++) {
        const ga = groups[a]!;
        const gb = groups[b]!;
        if (!together(apart, [...ga, ...gb])) continue;
        const gain = groupScore(matrix, [...ga, ...gb]) - groupScore(matrix, ga) - groupScore(matrix, gb);
        if (gain > bestGain) {
          bestGain = gain;
          pair = [a, b];
        }
      }
    }
    if (!pair) break;
    const [a, b] = pair;
    groups[a] = [...groups[a]!, ...groups[b]!].sort((p, q) => p - q);
    groups.splice(b, 1);
  }
  return { groups, score: groups.reduce((s, g) => s + groupScore(matrix, g), 0) };
}

/**
 * The partition the rule chooses; `matrix[i][j]` is what task `tasks[i]` does for task `tasks[j]`. No group holds
 * both tasks of a pair in `apart` (the pairs the report warns about; names not among `tasks` are ignored).
 */
export function suggestGrouping(
  tasks: readonly string[],
  matrix: readonly (readonly number[])[],
  apart: readonly (readonly [string, string])[] = [],
): Grouping {
  const n = tasks.length;
  const search = n <= EXHAUSTIVE_MAX_TASKS ? 'exhaustive' : 'greedy';
  const run = (keys: Apart): { groups: number[][]; score: number } =>
    search === 'exhaustive' ? exhaustive(matrix, n, keys) : greedy(matrix, n, keys);
  // A pair may be flagged by several measures (affinity and gradients): each counts once.
  const keys = new Map<string, [number, number]>();
  for (const [a, b] of apart) {
    const [i, j] = [tasks.indexOf(a), tasks.indexOf(b)].sort((p, q) => p - q) as [number, number];
    if (i >= 0 && i !== j) keys.set(`${i},${j}`, [i, j]);
  }
  const pairs = [...keys.values()];
  const found = run(new Set(pairs.flatMap(([i, j]) => [`${i},${j}`, `${j},${i}`])));
  // Only the pairs that changed the answer are worth a word: those the unconstrained search puts together.
  const free = pairs.length > 0 ? run(new Set()).groups : [];
  const keptApart = pairs
    .filter(([i, j]) => free.some((g) => g.includes(i) && g.includes(j)))
    .map(([i, j]): [string, string] => [tasks[i]!, tasks[j]!]);
  return {
    groups: found.groups.map((g) => g.map((i) => tasks[i] ?? String(i))),
    score: found.score,
    search,
    keptApart,
  };
}

export interface HarmfulPair {
  tasks: [string, string];
  reason: string;
}

/** Pairs whose affinity is negative both ways. */
export function harmfulByAffinity(
  tasks: readonly string[],
  matrix: readonly (readonly number[])[],
  measure = 'affinity',
): HarmfulPair[] {
  const out: HarmfulPair[] = [];
  tasks.forEach((a, i) =>
    tasks.forEach((b, j) => {
      const ab = matrix[i]?.[j] ?? NaN;
      const ba = matrix[j]?.[i] ?? NaN;
      if (j > i && ab < 0 && ba < 0) {
        out.push({
          tasks: [a, b],
          reason: `${measure} negative both ways (${a}→${b} ${fmt(ab)}, ${b}→${a} ${fmt(ba)})`,
        });
      }
    }),
  );
  return out;
}

/** Pairs whose mean gradient cosine is below 0 or whose steps are in conflict more than half the time. */
export function harmfulByGradients(
  tasks: readonly string[],
  meanCosine: Readonly<Record<string, number>>,
  conflictFraction: Readonly<Record<string, number>>,
): HarmfulPair[] {
  const out: HarmfulPair[] = [];
  tasks.forEach((a, i) =>
    tasks.forEach((b, j) => {
      if (j <= i) return;
      const cosine = meanCosine[`${a}|${b}`] ?? NaN;
      const conflict = conflictFraction[`${a}|${b}`] ?? NaN;
      const reasons = [
        ...(cosine < 0 ? [`mean gradient cosine ${fmt(cosine)} < 0`] : []),
        ...(conflict > 0.5 ? [`gradients in conflict in ${fmt(conflict * 100)}% of steps (> 50%)`] : []),
      ];
      if (reasons.length > 0) out.push({ tasks: [a, b], reason: reasons.join('; ') });
    }),
  );
  return out;
}

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toPrecision(3) : 'n/a';
}

/** A T×T matrix from pair values keyed `a>b` (directed) or `a|b` (symmetric; both orders get the value). */
export function matrixOf(tasks: readonly string[], values: Readonly<Record<string, number>>): number[][] {
  return tasks.map((a, i) =>
    tasks.map((b, j) => {
      if (i === j) return NaN;
      const directed = values[`${a}>${b}`];
      if (directed !== undefined) return directed;
      return values[`${a}|${b}`] ?? values[`${b}|${a}`] ?? NaN;
    }),
  );
}
