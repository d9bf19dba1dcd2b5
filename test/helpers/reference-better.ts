/**
 * Checks of test/reference-agreement.test.ts for steps where ours and a reference differ for a reason that is
 * the reference's (see docs/strategies.md, "Agreement with LibMTL and TorchJD"): float32 rounding that the
 * step amplifies, and degenerate gradient sets where the method's defining equations have no solution.
 */
import { combineGradients } from '../../src/strategies/gradient/registry.js';
import { conditionedGramian } from '../../src/strategies/gradient/upgrad.js';
import { gram, matVec, projectOntoDualCone } from '../../src/numerics/index.js';
import { gradientScale, norm, type ReferenceEntry, type ReferenceStep } from './reference-fixture.js';

/** How many perturbed copies of the inputs measure our own rounding sensitivity. */
const SENSITIVITY_DRAWS = 8;
/**
 * The reference's deviation may be this many times our spread under one-ulp input changes: its float32 arithmetic
 * rounds at every operation, not only at the inputs.
 */
const SENSITIVITY_FACTOR = 10;

/** Roundings of one float32 weighted sum we allow for: w_j to float32, each product, the sum. */
const FLOAT32_SUM_ROUNDINGS = 4;

/** Deterministic uniforms in [−1, 1] (a linear congruential generator; the draws only need to differ). */
function uniforms(seed: number): () => number {
  let state = (seed * 2654435761) >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 2 ** 32) * 2 - 1;
  };
}

/** The entry with every gradient coordinate moved by at most one float32 ulp (x·(1 + u·2⁻²⁴), rounded to float32). */
function perturbedEntry(entry: ReferenceEntry, draw: number): ReferenceEntry {
  const next = uniforms(draw + 1);
  const steps = entry.steps.map((step) => ({
    ...step,
    grads: step.grads.map((g) => g.map((v) => Math.fround(v * (1 + next() * 2 ** -24)))),
  }));
  return { ...entry, steps };
}

const relativeDistance = (a: readonly number[], b: readonly number[]): number =>
  norm(a.map((v, k) => v - b[k]!)) / Math.max(norm(b), Number.MIN_VALUE);

/**
 * The step is decided below float32 precision: moving the inputs by one float32 ulp moves ours (float64) by a
 * spread s, and the reference (float32 throughout) is within SENSITIVITY_FACTOR·s of ours. Such a step amplifies
 * rounding (a cancelling weighted sum, an iteration that does not contract), so no float32 implementation can be
 * expected to agree to 1e-4; ours is the exact-arithmetic value of the same rule. The step must really be
 * sensitive: the spread itself must exceed 1e-5 (the tolerance is 1e-4), else the difference is unexplained.
 */
export function float32Sensitive(
  entry: ReferenceEntry,
  stepIndex: number,
  oursFor: (entry: ReferenceEntry) => number[][],
  ours: number[],
  reference: number[],
): string[] {
  let spread = 0;
  for (let draw = 0; draw < SENSITIVITY_DRAWS; draw++) {
    const moved = oursFor(perturbedEntry(entry, draw))[stepIndex]!;
    spread = Math.max(spread, relativeDistance(moved, ours));
  }
  const gap = relativeDistance(ours, reference);
  if (spread > 1e-5 && gap <= SENSITIVITY_FACTOR * spread) return [];
  const numbers = `gap ${gap.toExponential(2)}, our spread under one-ulp input changes ${spread.toExponential(2)}`;
  return [`not explained by float32 rounding (${numbers})`];
}

/**
 * UPGrad's weights w = Σ_i v⁽ⁱ⁾ are exact: each v⁽ⁱ⁾ = argmin vᵀHv subject to v ≥ p_i e_i (p_i = 1/T, LibMTL's
 * preference) meets the KKT conditions (Hv ≥ 0, v ≥ u, (Hv)_j (v_j − u_j) = 0) on the conditioned Gramian H, and
 * ours is Σ_j w_j g_j. The reference rounds w to float32 and sums w_j g_j in float32: where that sum cancels, its
 * error is up to a few float32 half-ulps (2⁻²⁴) of Σ_j |w_j| ‖g_j‖, which is all the gap may be.
 */
export function upgradExact(
  step: ReferenceStep,
  ours: number[],
  reference: number[],
  epsilons: { normEps: number; regEps: number },
): string[] {
  const { normEps, regEps } = epsilons;
  const grads = step.grads.map((g) => Float32Array.from(g));
  const h = conditionedGramian(gram(grads), normEps, regEps);
  const t = grads.length;
  const problems: string[] = [];
  const weights = new Array<number>(t).fill(0);
  for (let i = 0; i < t; i++) {
    const u = Array.from({ length: t }, (_, j) => (j === i ? 1 / t : 0));
    const v = projectOntoDualCone(h, u);
    const hv = matVec(h, v);
    const size = Math.max(...hv.map(Math.abs), ...v.map(Math.abs));
    v.forEach((vj, j) => {
      const slack = vj - u[j]!;
      const multiplier = hv[j]!;
      if (slack < -1e-12 || multiplier < -1e-12 * size || Math.abs(slack * multiplier) > 1e-12 * size * size) {
        problems.push(`KKT of v⁽${i}⁾ fails at ${j}: v − u = ${slack}, (Hv) = ${multiplier}`);
      }
      weights[j]! += vj;
    });
  }
  const exact = grads[0]!.map((_, k) => grads.reduce((s, g, j) => s + weights[j]! * g[k]!, 0));
  if (relativeDistance(ours, Array.from(exact)) > 1e-6) problems.push('ours is not Σ_j w_j g_j of the exact weights');
  const summands = weights.reduce((s, w, j) => s + Math.abs(w) * norm(step.grads[j]!), 0);
  const gap = norm(ours.map((v, k) => v - reference[k]!));
  if (gap > FLOAT32_SUM_ROUNDINGS * 2 ** -24 * summands) {
    problems.push(`gap ${gap} above float32 rounding of the sum (Σ|w_j|‖g_j‖ = ${summands})`);
  }
  return problems;
}

/**
 * ConFIG's direction is x = U⁺p (rows û_i = g_i/‖g_i‖). When Σ_i p_i û_i = Uᵀp = 0, p lies in the null space of
 * Uᵀ, so x = 0: no direction has the cosines p_i·k with k > 0 (Σ_i p_i cos(g_i, d) = 0 for every d), and ours is
 * 0. The reference normalises the float32 rounding residue of that zero vector (TorchJD: pinv(U)·1 = 3e-8 for
 * U = (1, −1)ᵀ), which gives a unit direction of arbitrary sign.
 */
export function configWithoutDirection(step: ReferenceStep, ours: number[], preference: readonly number[]): string[] {
  const units = step.grads.map((g) => g.map((v) => v / norm(g)));
  const weightedSum = units[0]!.map((_, k) => units.reduce((s, u, i) => s + preference[i]! * u[k]!, 0));
  const problems: string[] = [];
  const total = preference.reduce((s, p) => s + p, 0);
  if (norm(weightedSum) > 1e-6 * total) problems.push(`Σ p_i û_i = ${norm(weightedSum)} ≠ 0: a direction exists`);
  if (norm(ours) > 1e-6 * gradientScale(step.grads)) problems.push(`ours ${norm(ours)} is not 0`);
  return problems;
}

/**
 * FairGrad's system (Gw)_i = w_i^{−1/α}, w > 0, has no solution when 0 is in the convex hull of the gradients
 * (Pareto stationarity: 0 = Σ λ_i g_i, λ ∈ Δ, would give 0 = Σ λ_i g_iᵀd = Σ λ_i w_i^{−1/α} > 0 for d = Σ w_i g_i).
 * Its residual then goes to 0 only as w → ∞ along Gw → 0, where the update d → 0: ours is that limit (≈ 0), the
 * reference (scipy's least_squares) stops on the way with a small update. Stationarity is checked by the min-norm
 * point of the hull (MGDA, itself checked against both references above) being 0.
 */
export function fairgradStationary(step: ReferenceStep, ours: number[], reference: number[]): string[] {
  const scale = gradientScale(step.grads);
  const minNorm = combineGradients('mgda', step.grads, { normalization: 'none' }).combined;
  const problems: string[] = [];
  if (norm(Array.from(minNorm)) > 1e-6 * scale) problems.push('0 is not in the hull: the system has a solution');
  if (norm(ours) > 1e-6 * scale) problems.push(`ours ${norm(ours)} is not 0`);
  if (norm(reference) > 1e-3 * scale) problems.push(`the reference ${norm(reference)} is not near 0 either`);
  return problems;
}
