/**
 * Statistics over the seeds of a group (issue #15): mean and sample standard deviation, the paired t-test on
 * per-seed differences, and the negative-transfer verdict. Pure functions on numbers; api/groups.ts feeds them the
 * members' metrics and transfer reports.
 *
 * - Mean and sample std: x̄ = (1/n) Σ x_s,  s = √( Σ (x_s − x̄)² / (n − 1) ) (NaN for n = 1: one seed has no spread).
 * - Paired t-test (Student 1908) on d_s, the per-seed difference of two paired measurements (here the relative gain
 *   of MTL over its single-task baseline trained on the same seed, or the Δm of two groups' members of one seed):
 *   t = d̄ / (s_d / √n), df = n − 1, two-sided p = P(|T_df| ≥ |t|) (numerics/student-t.ts). Needs n ≥ 2.
 * - The negative-transfer rule: {@link NEGATIVE_TRANSFER_RULE}.
 */
import type { SeedStatistic, TransferVerdict } from './types.js';
import { studentTTwoSidedP } from '../numerics/student-t.js';

/**
 * The rule that flags a task, stated once for the code, the JSON (`rule`) and the docs. The gain is the task's
 * relative gain of MTL over its single-task baseline on the same seed (Δm's per-task term: the mean over the task's
 * metrics of s·(M_mtl − M_single)/|M_single|).
 */
export const NEGATIVE_TRANSFER_RULE =
  "A task's per-seed gain g_s is the relative gain of MTL over its single-task baseline trained on the same seed " +
  "(the mean over the task's metrics of s·(MTL − single)/|single|, s = −1 for lower-is-better metrics). With n ≥ 2 " +
  'seeds, mean ḡ and sample std s_g: negative-transfer when ḡ < 0 and |ḡ| > s_g (MTL is worse than single-task by ' +
  'more than the seed-to-seed spread); positive when ḡ > 0 and ḡ > s_g; no-difference otherwise. With one seed ' +
  'there is no spread: a negative gain is negative-transfer-unconfirmed, a positive one positive, 0 no-difference.';

/** Mean and sample standard deviation of the finite values (a diverged seed's NaN is left out: n counts the rest). */
export function seedStatistic(values: readonly number[]): SeedStatistic {
  const finite = values.filter((v) => Number.isFinite(v));
  const n = finite.length;
  if (n === 0) return { mean: NaN, std: NaN, n: 0 };
  const mean = finite.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, std: NaN, n };
  const squares = finite.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { mean, std: Math.sqrt(squares / (n - 1)), n };
}

export interface PairedTTest {
  /** t = d̄ / (s_d / √n); ±Infinity when every difference is the same non-zero value. */
  t: number;
  df: number;
  /** Two-sided p-value. */
  p: number;
  n: number;
}

/**
 * The paired t-test on per-seed differences (non-finite ones left out); undefined with fewer than two. Differences
 * that are all equal have no spread: t is ±Infinity and p = 0 when they are not 0, t = 0 and p = 1 when they are.
 */
export function pairedTTest(differences: readonly number[]): PairedTTest | undefined {
  const { mean, std, n } = seedStatistic(differences);
  if (n < 2) return undefined;
  const df = n - 1;
  if (std === 0) {
    const t = mean === 0 ? 0 : mean > 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
    return { t, df, p: mean === 0 ? 1 : 0, n };
  }
  const t = mean / (std / Math.sqrt(n));
  return { t, df, p: studentTTwoSidedP(t, df), n };
}

/**
 * The verdict of {@link NEGATIVE_TRANSFER_RULE} on a task's per-seed gains (non-finite ones left out); undefined when
 * no seed has a gain.
 */
export function transferVerdict(gains: readonly number[]): TransferVerdict | undefined {
  const { mean, std, n } = seedStatistic(gains);
  if (n === 0) return undefined;
  if (n === 1) return mean < 0 ? 'negative-transfer-unconfirmed' : mean > 0 ? 'positive' : 'no-difference';
  if (mean < 0 && -mean > std) return 'negative-transfer';
  if (mean > 0 && mean > std) return 'positive';
  return 'no-difference';
}
