/**
 * The paired bootstrap confidence interval of a mean difference over seeds, for the CI gate of `mtl compare
 * --fail-on-regression` (issue #16). Pure function on numbers, deterministic (a fixed seed).
 *
 * Method: the percentile bootstrap (Efron 1979, "Bootstrap methods: another look at the jackknife", Ann. Statist.
 * 7(1); Efron & Tibshirani 1993, "An Introduction to the Bootstrap", ch. 13). Given the paired per-seed differences
 * d_1 … d_n (NEW's metric minus BASE's metric of the same seed):
 * - draw B = 10 000 resamples, each n indices uniform with replacement from 1…n (util/rng.ts, seed 0), and take
 *   each resample's mean d̄*_b = (1/n) Σ_i d_{j_i};
 * - sort them; the interval at level c is [Q(α/2), Q(1 − α/2)], α = 1 − c, where Q(q) is the type-7 sample quantile
 *   (Hyndman & Fan 1996): h = (B − 1)·q, Q(q) = x_⌊h⌋ + (h − ⌊h⌋)·(x_⌈h⌉ − x_⌊h⌋) over the sorted means x_0 … x_{B−1}.
 * Pairing by seed removes what the seed does to both sides alike (the split, the initial weights), so only the
 * difference the change made is resampled.
 */
import { createRng } from '../util/rng.js';

export const BOOTSTRAP_RESAMPLES = 10_000;
export const BOOTSTRAP_SEED = 0;

/** The method, stated once for the code, the JSON (`gate.method`) and the docs. */
export const BOOTSTRAP_METHOD =
  'paired percentile bootstrap over seeds: d_s = NEW − BASE of the same seed; B = 10000 resamples of the n seeds ' +
  'with replacement (seeded, seed 0: deterministic); the interval is the type-7 quantiles α/2 and 1 − α/2 ' +
  '(α = 1 − confidence) of the resampled means of d';

export interface BootstrapInterval {
  /** The mean of the differences, d̄. */
  mean: number;
  low: number;
  high: number;
  confidence: number;
  n: number;
  resamples: number;
}

export interface BootstrapOptions {
  confidence?: number;
  resamples?: number;
  seed?: number;
}

/**
 * The percentile bootstrap interval of the mean of `differences` (see the head comment). Every difference must be
 * finite and there must be at least one; `confidence` in (0, 1).
 */
export function pairedBootstrapInterval(
  differences: readonly number[],
  options: BootstrapOptions = {},
): BootstrapInterval {
  const confidence = options.confidence ?? 0.95;
  const resamples = options.resamples ?? BOOTSTRAP_RESAMPLES;
  const n = differences.length;
  if (n === 0) throw new RangeError('the bootstrap needs at least one difference');
  if (!differences.every(Number.isFinite)) throw new RangeError('the bootstrap needs finite differences');
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence ${confidence} is not in (0, 1)`);
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`resamples ${resamples}: expected ≥ 1`);
  const rng = createRng(options.seed ?? BOOTSTRAP_SEED);
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += differences[rng.int(n)]!;
    means[b] = sum / n;
  }
  means.sort();
  const alpha = 1 - confidence;
  const mean = differences.reduce((a, d) => a + d, 0) / n;
  return { mean, low: quantile(means, alpha / 2), high: quantile(means, 1 - alpha / 2), confidence, n, resamples };
}

/** The type-7 quantile of sorted values (linear interpolation between the closest ranks). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const h = (sorted.length - 1) * q;
  const below = Math.floor(h);
  const above = Math.ceil(h);
  const low = sorted[below]!;
  return low + (h - below) * (sorted[above]! - low);
}
