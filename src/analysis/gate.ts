/**
 * The CI gates of `mtl compare` (issue #16): `--fail-on-regression` (with `--tolerance`, `--confidence`) and
 * `--fail-if 'TASK/METRIC OP VALUE'`. Pure: the compared metrics come in per run or group and per seed, the checks go
 * out; api/compare-gate.ts feeds it a comparison, cli/compare-gates.ts parses the flags and prints.
 *
 * - The regression rule: {@link REGRESSION_RULE}; its significance test: {@link BOOTSTRAP_METHOD} (analysis/
 *   bootstrap.ts, percentile bootstrap, Efron 1979).
 * - The threshold rule: {@link THRESHOLD_RULE}.
 */
import { UsageError } from '../errors.js';
import { decimal } from '../util/decimal.js';
import { suggest } from '../util/suggest.js';
import { BOOTSTRAP_METHOD, pairedBootstrapInterval, type BootstrapInterval } from './bootstrap.js';

export const REGRESSION_RULE =
  'NEW regresses on a per-task metric of BASE when it is worse by more than the tolerance (absolute, in the ' +
  "metric's units; default 0): lower for a higher-is-better metric, higher otherwise. With two or more seeds that " +
  'both sides have metrics for, the difference must also be significant: the paired bootstrap interval of the mean ' +
  'difference NEW − BASE over those seeds (level --confidence) must lie entirely beyond the tolerance on the worse ' +
  'side (high < −tolerance, or low > +tolerance for a lower-is-better metric). With one seed on either side (or ' +
  'fewer than two seeds in common) the difference of the means decides and significance is not tested. A NEW ' +
  'value that is missing or not finite (a diverged seed) fails the check; so does a BASE value that is missing or ' +
  'not finite (nothing to compare with). A seed of a group whose member has no metrics (it diverged before a good ' +
  'epoch) counts as such a value. A gate without any check fails. Differences within 1e-12 (relative to the values) ' +
  'of the tolerance count as within it.';

export const THRESHOLD_RULE =
  "--fail-if 'KEY OP VALUE' (OP one of < <= > >=) fails when the metric KEY of a compared run, or the mean over " +
  'seeds of a group, satisfies the condition, or is missing or not finite. It is checked on every run or group ' +
  'after the first (the base), or on the one given when only one is.';

const OPERATORS = ['<', '<=', '>', '>='] as const;
export type ThresholdOperator = (typeof OPERATORS)[number];

export interface Threshold {
  /** The expression as given. */
  expression: string;
  metric: string;
  operator: ThresholdOperator;
  value: number;
}

export interface GateOptions {
  failOnRegression: boolean;
  /** Per metric key, the absolute tolerance (≥ 0) of the regression check; 0 for the others. */
  tolerances: Record<string, number>;
  /** The level of the bootstrap interval, in (0, 1). */
  confidence: number;
  failIf: Threshold[];
}

/** One compared metric: per run or group (the first the base), its values by seed (a run: one entry). */
export interface GateMetric {
  metric: string;
  higherIsBetter: boolean;
  /** Whether it is a per-task metric (not a mean, not a loss): the regression check covers those. */
  perTask: boolean;
  values: ReadonlyMap<number, number>[];
}

export interface GateInput {
  /** The ids of the compared runs or groups, in order; the first is the base. */
  subjects: string[];
  metrics: GateMetric[];
}

export type Significance =
  | { tested: true; seeds: number[]; interval: BootstrapInterval }
  | { tested: false; reason: string };

export interface RegressionCheck {
  kind: 'regression';
  metric: string;
  higherIsBetter: boolean;
  base: string;
  new: string;
  /** The means over the seeds compared (null when there is none). */
  baseValue: number | null;
  newValue: number | null;
  /** newValue − baseValue (raw units, signed). */
  difference: number | null;
  tolerance: number;
  significance: Significance;
  passed: boolean;
  /** Why it passed or failed, one sentence. */
  reason: string;
}

export interface ThresholdCheck {
  kind: 'threshold';
  expression: string;
  metric: string;
  operator: ThresholdOperator;
  threshold: number;
  run: string;
  value: number | null;
  passed: boolean;
  reason: string;
}

export type GateCheck = RegressionCheck | ThresholdCheck;

export interface GateReport {
  passed: boolean;
  /** Present with --fail-on-regression. */
  regressionRule?: string;
  method?: string;
  confidence?: number;
  /** Present with --fail-if. */
  thresholdRule?: string;
  checks: GateCheck[];
}

const THRESHOLD_PATTERN = /^\s*([^\s<>=]+)\s*(<=|>=|<|>)\s*(\S+)\s*$/;

/** `'y1/accuracy < 0.8'` → a Threshold; a UsageError naming --fail-if otherwise. */
export function parseThreshold(expression: string): Threshold {
  const match = THRESHOLD_PATTERN.exec(expression);
  const value = match ? decimal(match[3]!) : NaN;
  const operator = OPERATORS.find((o) => o === match?.[2]);
  // A KEY that is not TASK/METRIC is well formed: evaluateGate names it with the metrics compared.
  if (!match || !operator || !Number.isFinite(value))
    throw new UsageError(`--fail-if "${expression}": expected TASK/METRIC OP VALUE, OP one of < <= > >=.`, [
      "e.g. --fail-if 'y1/accuracy < 0.8' (quote it: the shell reads < and > as redirections)",
    ]);
  return { expression, metric: match[1]!, operator, value };
}

/** `'y1/mse=0.01'` → [key, tolerance]; a UsageError naming --tolerance otherwise. */
export function parseTolerance(text: string): [string, number] {
  const at = text.lastIndexOf('=');
  const key = text.slice(0, at).trim();
  const value = at < 0 ? NaN : decimal(text.slice(at + 1));
  if (at < 0 || key === '' || !Number.isFinite(value) || value < 0 || text.slice(at + 1).trim() === '')
    throw new UsageError(`--tolerance "${text}": expected TASK/METRIC=VALUE with VALUE a number ≥ 0.`, [
      "the absolute amount NEW may be worse by, in the metric's units: e.g. --tolerance y1/accuracy=0.01",
    ]);
  return [key, value];
}

/** `--confidence` → a level in (0, 1); a UsageError otherwise. */
export function parseConfidence(text: string): number {
  const value = decimal(text);
  if (text.trim() === '' || !(value > 0 && value < 1))
    throw new UsageError(`--confidence "${text}": expected a number between 0 and 1 (exclusive).`, [
      'the level of the bootstrap interval, e.g. --confidence 0.95',
    ]);
  return value;
}

/** Every check the options ask for, on the compared metrics; a UsageError for a flag naming an unknown metric. */
export function evaluateGate(input: GateInput, options: GateOptions): GateReport {
  const byKey = new Map(input.metrics.map((m) => [m.metric, m]));
  // Every per-task metric some compared run has: one the base lacks fails its check (nothing to compare with).
  const regressionKeys = input.metrics
    .filter((m) => m.perTask && m.values.some((v) => v.size > 0))
    .map((m) => m.metric);
  for (const key of Object.keys(options.tolerances))
    if (!regressionKeys.includes(key)) throw unknownMetric('--tolerance', key, regressionKeys);
  for (const threshold of options.failIf)
    if (!byKey.has(threshold.metric)) throw unknownMetric('--fail-if', threshold.metric, [...byKey.keys()]);
  const checks: GateCheck[] = [];
  const candidates = input.subjects.length > 1 ? input.subjects.slice(1).map((_, i) => i + 1) : [0];
  if (options.failOnRegression)
    for (const index of candidates.filter((i) => i > 0))
      for (const key of regressionKeys)
        checks.push(regression(input, byKey.get(key)!, index, options.tolerances[key] ?? 0, options.confidence));
  for (const threshold of options.failIf)
    for (const index of candidates) checks.push(thresholdCheck(input, byKey.get(threshold.metric)!, index, threshold));
  return {
    // A gate that could check nothing (no run has a per-task metric) has not shown that NEW passes.
    passed: checks.length > 0 && checks.every((c) => c.passed),
    ...(options.failOnRegression
      ? { regressionRule: REGRESSION_RULE, method: BOOTSTRAP_METHOD, confidence: options.confidence }
      : {}),
    ...(options.failIf.length > 0 ? { thresholdRule: THRESHOLD_RULE } : {}),
    checks,
  };
}

function regression(
  input: GateInput,
  metric: GateMetric,
  index: number,
  tolerance: number,
  confidence: number,
): RegressionCheck {
  const baseValues = metric.values[0]!;
  const newValues = metric.values[index] ?? new Map<number, number>();
  const common = {
    kind: 'regression' as const,
    metric: metric.metric,
    higherIsBetter: metric.higherIsBetter,
    base: input.subjects[0]!,
    new: input.subjects[index]!,
    tolerance,
  };
  const unusable = (reason: string, baseValue: number | null, newValue: number | null): RegressionCheck => ({
    ...common,
    baseValue,
    newValue,
    difference: null,
    significance: { tested: false, reason: 'no value to compare' },
    passed: false,
    reason,
  });
  const baseMean = finiteMean(baseValues);
  const newMean = finiteMean(newValues);
  if (baseValues.size === 0)
    return unusable(`${common.base} has no ${metric.metric}: nothing to compare with`, null, newMean);
  if (newValues.size === 0) return unusable(`${common.new} has no ${metric.metric}`, baseMean, null);
  const diverged = [...newValues].filter(([, v]) => !Number.isFinite(v)).map(([seed]) => seed);
  if (diverged.length > 0)
    return unusable(`${common.new}'s ${metric.metric} is not finite (seed ${diverged.join(', ')})`, baseMean, null);
  if ([...baseValues.values()].some((v) => !Number.isFinite(v)))
    return unusable(`${common.base}'s ${metric.metric} is not finite: nothing to compare with`, null, newMean);
  // Worse is negative for a higher-is-better metric: the sign that turns NEW − BASE into "better by".
  const sign = metric.higherIsBetter ? 1 : -1;
  const seeds = [...baseValues.keys()].filter((seed) => newValues.has(seed)).sort((a, b) => a - b);
  if (baseValues.size >= 2 && newValues.size >= 2 && seeds.length >= 2) {
    const differences = seeds.map((seed) => newValues.get(seed)! - baseValues.get(seed)!);
    const interval = pairedBootstrapInterval(differences, { confidence });
    const mean = (values: ReadonlyMap<number, number>): number =>
      seeds.reduce((a, seed) => a + values.get(seed)!, 0) / seeds.length;
    // The better-by amounts at the interval's ends; significant when even the best end is worse than the tolerance.
    const bestEnd = Math.max(sign * interval.low, sign * interval.high);
    const regressed = bestEnd < -tolerance - roundingSlack(mean(baseValues), mean(newValues));
    const level = `${round(confidence * 100)}% interval [${round(interval.low)}, ${round(interval.high)}]`;
    return {
      ...common,
      baseValue: mean(baseValues),
      newValue: mean(newValues),
      difference: interval.mean,
      significance: { tested: true, seeds, interval },
      passed: !regressed,
      reason: regressed
        ? `worse beyond the tolerance ${tolerance} over the whole ${level} of NEW − BASE (seeds ${seeds.join(',')})`
        : `the ${level} of NEW − BASE reaches within the tolerance ${tolerance}: no significant regression`,
    };
  }
  const difference = newMean! - baseMean!;
  const regressed = sign * difference < -tolerance - roundingSlack(baseMean!, newMean!);
  const why = untestedReason(baseValues.size, newValues.size);
  return {
    ...common,
    baseValue: baseMean,
    newValue: newMean,
    difference,
    significance: { tested: false, reason: why },
    passed: !regressed,
    reason:
      `${regressed ? 'worse' : 'not worse'} than BASE by more than the tolerance ${tolerance} ` +
      `(${why}: significance not tested)`,
  };
}

/** Why the bootstrap was not run (neither side lacks values here). */
function untestedReason(baseSeeds: number, newSeeds: number): string {
  if (baseSeeds === 1 && newSeeds === 1) return 'one seed per side';
  if (baseSeeds === 1) return 'one seed in BASE';
  if (newSeeds === 1) return 'one seed in NEW';
  return 'fewer than two seeds in common';
}

function thresholdCheck(input: GateInput, metric: GateMetric, index: number, threshold: Threshold): ThresholdCheck {
  const values = metric.values[index] ?? new Map<number, number>();
  const all = [...values.values()];
  const value = all.length > 0 && all.every(Number.isFinite) ? all.reduce((a, v) => a + v, 0) / all.length : null;
  const run = input.subjects[index]!;
  const common = {
    kind: 'threshold' as const,
    expression: threshold.expression,
    metric: threshold.metric,
    operator: threshold.operator,
    threshold: threshold.value,
    run,
    value,
  };
  if (value === null)
    return { ...common, passed: false, reason: `${run}'s ${threshold.metric} is missing or not finite` };
  const hit = compare(value, threshold.operator, threshold.value);
  const shown = `${threshold.metric} = ${round(value)}${all.length > 1 ? ` (mean of ${all.length} seeds)` : ''}`;
  return {
    ...common,
    passed: !hit,
    reason: hit ? `${shown}, which is ${threshold.operator} ${threshold.value}` : shown,
  };
}

function compare(value: number, operator: ThresholdOperator, threshold: number): boolean {
  switch (operator) {
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
  }
}

/**
 * How far past the tolerance a difference may lie and still count as within it: the rounding of a subtraction
 * (0.8 − 0.5 = 0.30000000000000004), relative to the values' size, so a tolerance of 0.3 passes a drop of 0.3.
 */
function roundingSlack(a: number, b: number): number {
  return 1e-12 * Math.max(1, Math.abs(a), Math.abs(b));
}

function finiteMean(values: ReadonlyMap<number, number>): number | null {
  const finite = [...values.values()].filter(Number.isFinite);
  return finite.length === 0 ? null : finite.reduce((a, v) => a + v, 0) / finite.length;
}

function round(value: number): number {
  return Number(value.toPrecision(4));
}

/**
 * A flag naming a metric that is not compared, or a KEY that is not TASK/METRIC at all (`accuracy`: the metric of
 * which task?), with the metrics it could name.
 */
function unknownMetric(flag: string, key: string, known: readonly string[]): UsageError {
  // A bare metric name suggests the first task's key with that metric (`accuracy` → `y1/accuracy`).
  const guess = key.includes('/')
    ? suggest(key, known)
    : (known.find((k) => k.endsWith(`/${key}`)) ?? suggest(key, known));
  const what = key.includes('/') ? `no metric "${key}" in the compared runs` : `"${key}" is not TASK/METRIC`;
  return new UsageError(`${flag}: ${what}${guess ? `; did you mean "${guess}"?` : '.'}`, [
    `${flag === '--tolerance' ? 'per-task metrics of the base' : 'compared metrics'}: ${known.join(', ')}`,
  ]);
}
