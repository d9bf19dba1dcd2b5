/**
 * Summaries across tasks and runs, shared by evaluation and `mtl compare`.
 */

/**
 * Signed relative change against a baseline, oriented so that positive always means better:
 *   r = s · (value − baseline) / |baseline|,  s = +1 if higher is better, −1 if lower is better.
 * Dividing by |baseline| (not baseline) keeps the orientation right for metrics that can be negative, such as r2.
 * NaN when the baseline is 0 (no scale to be relative to) or either input is NaN.
 */
export function relativeImprovement(value: number, baseline: number, higherIsBetter: boolean): number {
  if (baseline === 0) return NaN;
  const r = (value - baseline) / Math.abs(baseline);
  return higherIsBetter ? r : -r;
}

/** One metric of one task as it enters Δm: the run's value and the baseline's (undefined: not reported). */
export interface DeltaMTerm {
  task: string;
  metric: string;
  value: number | undefined;
  baseline: number | undefined;
  higherIsBetter: boolean;
}

export interface DeltaMBreakdown {
  /** Δm as a fraction (+0.05 = 5 % better on average); undefined when it cannot be computed, see `problems`. */
  value: number | undefined;
  /** Per task, the mean over its metrics of the signed relative change; undefined for a task with a problem. */
  perTask: Record<string, number | undefined>;
  /** Why Δm is undefined, one line per metric at fault (`left/mse: not finite in the run`); empty when defined. */
  problems: string[];
}

/** The rule, for documentation and `mtl compare --json`. */
export const DELTA_M_DEFINITION =
  "Δm = mean over tasks of (mean over the task's metrics of s·(M − B)/|B|), s = +1 if higher is better and −1 if " +
  'lower ' +
  '(Maninis et al. 2019, as LibMTL); a fraction. It is undefined (null) when any metric that enters it is missing or ' +
  'not finite in the run or in the baseline, or has a baseline of 0: a run never gains from a value it failed to ' +
  'produce.';

/**
 * Multi-task performance Δm (Maninis et al. 2019; Vandenhende et al. 2021; LibMTL's `count_improvement`): per task,
 * the mean over its metrics of relativeImprovement(value, baseline, higherIsBetter); then the mean over tasks,
 *   Δm = (1/T) Σ_t (1/|M_t|) Σ_{m ∈ M_t} s_m · (M_{t,m} − B_{t,m}) / |B_{t,m}|,
 * so a task reporting three metrics weighs no more than a task reporting one.
 *
 * A missing or non-finite value never counts as an improvement: if any term has a value or baseline that is
 * undefined or not finite (a diverged run's NaN loss or mse), or a baseline of 0 (no scale), Δm is undefined rather
 * than computed from the terms that remain, and the breakdown says which. Undefined for no terms at all.
 */
export function deltaMBreakdown(terms: readonly DeltaMTerm[]): DeltaMBreakdown {
  const changes = new Map<string, number[]>();
  const failed = new Set<string>();
  const problems: string[] = [];
  for (const term of terms) {
    const result = relativeChange(term);
    if ('problem' in result) {
      problems.push(`${term.task}/${term.metric}: ${result.problem}`);
      failed.add(term.task);
    }
    changes.set(term.task, [...(changes.get(term.task) ?? []), ...('change' in result ? [result.change] : [])]);
  }
  if (changes.size === 0) problems.push('no task metric to compare');
  const perTask: Record<string, number | undefined> = {};
  const taskMeans: number[] = [];
  for (const [task, values] of changes) {
    const taskMean = failed.has(task) ? undefined : mean(values);
    perTask[task] = taskMean;
    if (taskMean !== undefined) taskMeans.push(taskMean);
  }
  return { value: problems.length > 0 ? undefined : mean(taskMeans), perTask, problems };
}

/** Δm of {@link deltaMBreakdown} as a number: NaN where it is undefined. */
export function deltaM(terms: readonly DeltaMTerm[]): number {
  return deltaMBreakdown(terms).value ?? NaN;
}

function relativeChange(term: DeltaMTerm): { change: number } | { problem: string } {
  const { value, baseline } = term;
  if (!isNumber(value)) return { problem: 'missing in the run' };
  if (!Number.isFinite(value)) return { problem: `not finite in the run (${value})` };
  if (!isNumber(baseline)) return { problem: 'missing in the baseline' };
  if (!Number.isFinite(baseline)) return { problem: `not finite in the baseline (${baseline})` };
  if (baseline === 0) return { problem: 'the baseline is 0 (no scale for a relative change)' };
  return { change: relativeImprovement(value, baseline, term.higherIsBetter) };
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** Also false for null, which a value read from JSON by hand can be. */
function isNumber(value: unknown): value is number {
  return typeof value === 'number';
}

/** Arithmetic mean of the non-NaN values (e.g. over seeds where some runs diverged); NaN when none is left. */
export function meanOver(values: readonly number[]): number {
  let sum = 0;
  let count = 0;
  for (const v of values) {
    if (Number.isNaN(v)) continue;
    sum += v;
    count++;
  }
  return count === 0 ? NaN : sum / count;
}
