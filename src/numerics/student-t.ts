/**
 * The Student-t distribution's two-sided tail probability, for the paired t-test over seeds (analysis/
 * seed-statistics.ts). Written out here rather than taken from a package: it is three short, standard functions.
 *
 * For T ~ t(ν), P(|T| ≥ |t|) = I_x(ν/2, 1/2) with x = ν / (ν + t²), where I_x(a, b) is the regularised incomplete
 * beta function (Abramowitz & Stegun 1964, 26.7.1 with 26.5.2). I_x(a, b) is evaluated by its continued fraction
 * (A&S 26.5.8; the modified Lentz method of Press et al., "Numerical Recipes", 3rd ed., §6.4, `betacf`), on x < (a+1)
 * /(a+b+2) directly and otherwise through I_x(a, b) = 1 − I_{1−x}(b, a), where it converges fast. ln Γ is Lanczos'
 * approximation (g = 7, nine coefficients; relative error below 1e-15 for positive arguments).
 */

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(z) for z > 0 (Lanczos, g = 7). */
export function logGamma(z: number): number {
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - logGamma(1 - z); // reflection
  const x = z - 1;
  let series = LANCZOS[0]!;
  for (let i = 1; i < LANCZOS.length; i++) series += LANCZOS[i]! / (x + i);
  const t = x + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(series);
}

const MAX_ITERATIONS = 300;
const EPSILON = 1e-15;
const TINY = 1e-300;

/** The continued fraction of I_x(a, b) (Numerical Recipes `betacf`, modified Lentz). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= MAX_ITERATIONS; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const step = d * c;
    h *= step;
    if (Math.abs(step - 1) < EPSILON) break;
  }
  return h;
}

/** The regularised incomplete beta function I_x(a, b), for a, b > 0 and 0 ≤ x ≤ 1. */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (!(a > 0) || !(b > 0) || !(x >= 0 && x <= 1)) return NaN;
  if (x === 0) return 0;
  if (x === 1) return 1;
  // x^a (1−x)^b / (a B(a, b)), in logs.
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(x, a, b)) / a;
  return 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

/**
 * P(|T| ≥ |t|) for T ~ Student-t with `df` degrees of freedom (df > 0, not necessarily whole): the two-sided p-value
 * of a t statistic. 1 at t = 0, 0 at |t| = ∞, NaN for NaN or df ≤ 0.
 */
export function studentTTwoSidedP(t: number, df: number): number {
  if (Number.isNaN(t) || !(df > 0)) return NaN;
  if (!Number.isFinite(t)) return 0;
  return regularizedIncompleteBeta(df / (df + t * t), df / 2, 0.5);
}
