import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/config/load.js';
import { UsageError } from '../src/errors.js';
import { alignedWeights } from '../src/strategies/gradient/aligned-mtl.js';
import { cagrad } from '../src/strategies/gradient/cagrad.js';
import { graddrop } from '../src/strategies/gradient/graddrop.js';
import { gradvac, gradVacCoefficients } from '../src/strategies/gradient/gradvac.js';
import { imtlWeights } from '../src/strategies/gradient/imtl-g.js';
import { bilinear, columnSums, gram, matVec, type Matrix } from '../src/numerics/index.js';
import { mgda, minNormElement, minNormPair } from '../src/strategies/gradient/mgda.js';
import { nashMtl, nashWeights } from '../src/strategies/gradient/nash-mtl.js';
import { projectConflicting } from '../src/strategies/gradient/pcgrad.js';
import { combineGradients, gradientCombiners, schemaDefaults } from '../src/strategies/gradient/registry.js';
import type {
  CombineInput,
  CombineResult,
  CombinerDefinition,
  GradientCombiner,
} from '../src/strategies/gradient/types.js';
import { createRng } from '../src/util/rng.js';
import { configProblems } from './helpers/expect.js';

const f32 = (...rows: number[][]): Float32Array[] => rows.map((r) => Float32Array.from(r));

function make(
  definition: CombinerDefinition,
  taskCount: number,
  options: Record<string, unknown> = {},
  seed = 7,
): GradientCombiner {
  return definition.create({ ...schemaDefaults(definition.optionsSchema), ...options }, seed, taskCount);
}

function expectClose(actual: ArrayLike<number> | undefined, expected: readonly number[], digits = 6): void {
  expect(actual?.length).toBe(expected.length);
  expected.forEach((e, i) => expect(actual?.[i]).toBeCloseTo(e, digits));
}

/** Σ_i w_i g_i in float64, to check that reported weights reproduce the combined gradient. */
function combineBy(grads: number[][], weights: readonly number[]): number[] {
  return grads[0]!.map((_, k) => grads.reduce((s, g, i) => s + weights[i]! * g[k]!, 0));
}

function randomGrads(seed: number, tasks: number, length: number): number[][] {
  const rng = createRng(seed);
  return Array.from({ length: tasks }, () => Array.from({ length }, () => rng.normal()));
}

// The running example: two conflicting 2-D gradients, g1ᵀg2 = −1, ‖g1‖² = 1, ‖g2‖² = 2.
const G1: [number, number] = [1, 0];
const G2: [number, number] = [-1, 1];

describe('projection (seed §4.1.1)', () => {
  it('projects each conflicting gradient onto the normal plane of the other (hand-computed)', () => {
    // g1ᵀg2 = −1 < 0, so both are projected against the other's ORIGINAL gradient:
    //   g2' = g2 − (g1ᵀg2/‖g1‖²) g1 = (−1,1) + (1,0) = (0,1)                = 1·g1 + 1·g2
    //   g1' = g1 − (g2ᵀg1/‖g2‖²) g2 = (1,0) + ½(−1,1) = (0.5,0.5)           = 1·g1 + ½·g2
    //   sum = (0.5, 1.5) = 2·g1 + 1.5·g2
    const rows = projectConflicting(gram(f32(G1, G2)), [
      [0, 1],
      [0, 1],
    ]);
    expectClose(rows[0], [1, 0.5]);
    expectClose(rows[1], [1, 1]);
    const g2Projected = combineBy([G1, G2], rows[1]!);
    const g1Projected = combineBy([G1, G2], rows[0]!);
    expectClose(g2Projected, [0, 1]);
    expect(g2Projected[0]! * G1[0] + g2Projected[1]! * G1[1]).toBeCloseTo(0, 12); // g2' ⟂ g1
    expect(g1Projected[0]! * G2[0] + g1Projected[1]! * G2[1]).toBeCloseTo(0, 12); // g1' ⟂ g2

    const result = make(gradientCombiners.get('projection')!, 2).combine({ grads: f32(G1, G2) });
    expectClose(result.combined, [0.5, 1.5]);
    expectClose(result.weights ?? [], [2, 1.5]);
  });

  it('leaves non-conflicting gradients unchanged', () => {
    // g1 = (1,0), g2 = (1,1): g1ᵀg2 = 1 ≥ 0, nothing is projected; sum = (2,1).
    const result = make(gradientCombiners.get('projection')!, 2).combine({ grads: f32([1, 0], [1, 1]) });
    expectClose(result.combined, [2, 1]);
    expectClose(result.weights ?? [], [1, 1]);
  });
});

describe('pcgrad', () => {
  it('two tasks: the same surgery in either visiting order and for any seed', () => {
    // With two tasks each task has one partner, so both orders give the projection example: (0.5, 1.5).
    for (const orders of [
      [
        [0, 1],
        [1, 0],
      ],
      [
        [1, 0],
        [0, 1],
      ],
    ]) {
      expectClose(columnSums(projectConflicting(gram(f32(G1, G2)), orders)), [2, 1.5]);
    }
    for (let seed = 0; seed < 10; seed++) {
      const combiner = make(gradientCombiners.get('pcgrad')!, 2, {}, seed);
      expectClose(combiner.combine({ grads: f32(G1, G2) }).combined, [0.5, 1.5]);
    }
  });

  it('three tasks: the order matters, each order hand-computed', () => {
    // g1 = (1,0), g2 = (−1,1), g3 = (−1,−2): g1ᵀg2 = −1, g1ᵀg3 = −1, ‖g2‖² = 2, ‖g3‖² = 5.
    // Task 1, order (2,3): g1' = g1 + ½g2 = (0.5,0.5); g1'ᵀg3 = −1.5 < 0 → g1'' = g1' + 0.3g3 = (0.2,−0.1).
    // Task 1, order (3,2): g1' = g1 + 0.2g3 = (0.8,−0.4); g1'ᵀg2 = −1.2 < 0 → g1'' = g1' + 0.6g2 = (0.2,0.2).
    const grads = [G1, G2, [-1, -2]];
    const g = gram(f32(...grads));
    const first = projectConflicting(g, [
      [1, 2],
      [0, 2],
      [0, 1],
    ])[0]!;
    const second = projectConflicting(g, [
      [2, 1],
      [0, 2],
      [0, 1],
    ])[0]!;
    expectClose(first, [1, 0.5, 0.3]);
    expectClose(second, [1, 0.6, 0.2]);
    expectClose(combineBy(grads, first), [0.2, -0.1]);
    expectClose(combineBy(grads, second), [0.2, 0.2]);
  });

  it('leaves non-conflicting gradients unchanged', () => {
    const result = make(gradientCombiners.get('pcgrad')!, 2).combine({ grads: f32([1, 0], [1, 1]) });
    expectClose(result.combined, [2, 1]);
  });
});

describe('weighted-average (seed §4.1.2)', () => {
  it('normalises the weights, equal by default', () => {
    // Default w = (½, ½): ½(1,0) + ½(−1,1) = (0, 0.5). Weights (3, 1) → (¾, ¼): (0.5, 0.25).
    expectClose(combineGradients('weighted-average', [G1, G2]).combined, [0, 0.5]);
    const weighted = combineGradients('weighted-average', [G1, G2], { weights: [3, 1] });
    expectClose(weighted.combined, [0.5, 0.25]);
    expectClose(weighted.weights ?? [], [0.75, 0.25]);
    expect(() => combineGradients('weighted-average', [G1, G2], { weights: [1] })).toThrow(UsageError);
  });
});

/** KKT of min ‖Σα_i g_i‖² over the simplex: g_iᵀd = ‖d‖² where α_i > 0, ≥ ‖d‖² elsewhere. */
function expectMinNormKkt(g: Matrix, alpha: number[], tol = 1e-8): void {
  const gd = matVec(g, alpha);
  const dd = bilinear(g, alpha, alpha);
  expect(alpha.reduce((s, a) => s + a, 0)).toBeCloseTo(1, 12);
  alpha.forEach((a, i) => {
    expect(a).toBeGreaterThanOrEqual(0);
    if (a > 1e-9) expect(Math.abs(gd[i]! - dd)).toBeLessThan(tol);
    else expect(gd[i]).toBeGreaterThanOrEqual(dd - tol);
  });
}

describe('mgda', () => {
  it('two tasks: closed form (hand-computed)', () => {
    // γ = (g2ᵀg2 − g1ᵀg2)/‖g1 − g2‖² = (2 + 1)/(1 + 2 + 2) = 0.6 → d = 0.6(1,0) + 0.4(−1,1) = (0.2, 0.4),
    // ‖d‖² = 0.2 = g1ᵀd = g2ᵀd (both active).
    expect(minNormPair(1, -1, 2)).toBeCloseTo(0.6, 12);
    const result = combineGradients('mgda', [G1, G2]);
    expectClose(result.weights ?? [], [0.6, 0.4]);
    expectClose(result.combined, [0.2, 0.4]);
    expectMinNormKkt(gram(f32(G1, G2)), result.weights ?? []);
  });

  it('three tasks with one inactive', () => {
    // Adding g3 = (1,1): g3ᵀd = 0.6 ≥ ‖d‖² = 0.2, so the two-task solution stays optimal with α3 = 0.
    const grads = [G1, G2, [1, 1]];
    const result = combineGradients('mgda', grads);
    expectClose(result.weights ?? [], [0.6, 0.4, 0]);
    expectClose(result.combined, [0.2, 0.4]);
    expectMinNormKkt(gram(f32(...grads)), result.weights ?? []);
  });

  it('three tasks, all active', () => {
    // e1, e2, e3: the closest point of the triangle to 0 is its centre (⅓,⅓,⅓), ‖d‖² = ⅓ = e_iᵀd.
    const result = combineGradients('mgda', [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    expectClose(result.weights ?? [], [1 / 3, 1 / 3, 1 / 3]);
    // (2,0), (0,1), (−1,−1): 0.2(2,0) + 0.4(0,1) + 0.4(−1,−1) = 0, Pareto-stationary → d = 0.
    const stationary = combineGradients('mgda', [
      [2, 0],
      [0, 1],
      [-1, -1],
    ]);
    expectClose(stationary.weights ?? [], [0.2, 0.4, 0.4]);
    expectClose(stationary.combined, [0, 0]);
  });

  it('satisfies the KKT conditions on random problems', () => {
    for (let seed = 0; seed < 20; seed++) {
      const grads = randomGrads(seed, 2 + (seed % 6), 3 + (seed % 5));
      const g = gram(f32(...grads));
      expectMinNormKkt(g, minNormElement(g), 1e-8 * Math.max(...g.map((r, i) => r[i]!)));
    }
  });

  it('stays exact on ill-conditioned and rank-deficient problems (where plain Frank–Wolfe stalls)', () => {
    for (let seed = 0; seed < 60; seed++) {
      const rng = createRng(1000 + seed);
      const tasks = 3 + (seed % 6);
      const length = seed % 2 === 0 ? tasks - 1 : 40; // fewer dimensions than tasks: hull may contain 0
      const grads = Array.from({ length: tasks }, () => {
        const scale = Math.exp(3 * rng.normal());
        return Array.from({ length }, () => scale * rng.normal());
      });
      const g = gram(f32(...grads));
      expectMinNormKkt(g, minNormElement(g), 1e-9 * Math.max(...g.map((r, i) => r[i]!)));
    }
  });

  it('solves on the normalised gradients and applies α to the raw ones, as the authors (l2, loss)', () => {
    // l2: ĝ1 = (1,0), ĝ2 = (−2,2)/(2√2) = (−1,1)/√2 are unit vectors, symmetric about their bisector →
    // γ = (1 − ĝ1ᵀĝ2)/(2 − 2ĝ1ᵀĝ2) = ½, α = (½,½); d = ½(1,0) + ½(−2,2) = (−0.5, 1.0) on the raw gradients.
    const result = combineGradients('mgda', [G1, [-2, 2]], { normalization: 'l2' });
    expectClose(result.weights ?? [], [0.5, 0.5]);
    expectClose(result.combined, [-0.5, 1]);
    expect(() => combineGradients('mgda', [G1, G2], { normalization: 'loss' })).toThrow(UsageError);
    // loss: ĝ_i = g_i / L_i with L = (1, 0.5) → ĝ = (1,0), (−2,2): γ = (8 + 2)/(1 + 8 + 4) = 10/13,
    // α = (10/13, 3/13); d = 10/13·(1,0) + 3/13·(−1,1) = (7/13, 3/13).
    const byLoss = combineGradients('mgda', [G1, G2], { normalization: 'loss', losses: [1, 0.5] });
    expectClose(byLoss.weights ?? [], [10 / 13, 3 / 13]);
    expectClose(byLoss.combined, [7 / 13, 3 / 13]);
  });

  it('apply_to: normalized applies α to the normalised gradients (the min-norm point itself)', () => {
    // Same α = (½,½) as above; d = ½(1,0) + ½(−1,1)/√2 = (0.1464, 0.3536); the reported weights are the ones on
    // the raw gradients: (½/1, ½/(2√2)).
    const options = { normalization: 'l2', apply_to: 'normalized' };
    const result = combineGradients('mgda', [G1, [-2, 2]], options);
    expectClose(result.weights ?? [], [0.5, 0.5 / (2 * Math.SQRT2)]);
    expectClose(result.combined, [0.5 - 0.5 / Math.SQRT2, 0.5 / Math.SQRT2]);
    // loss: ĝ2 = (−2,2), the l2 example's raw input again, and d is its unnormalised min-norm point.
    const byLoss = combineGradients('mgda', [G1, G2], {
      normalization: 'loss',
      losses: [1, 0.5],
      apply_to: 'normalized',
    });
    expectClose(byLoss.combined, combineGradients('mgda', [G1, [-2, 2]]).combined);
    // Without a normalisation (the default) the two coincide bit for bit.
    for (const grads of [[G1, G2], randomGrads(3, 4, 7)]) {
      const raw = combineGradients('mgda', grads);
      const normalized = combineGradients('mgda', grads, { apply_to: 'normalized' });
      expect(Array.from(normalized.combined)).toEqual(Array.from(raw.combined));
      expect(normalized.weights).toEqual(raw.weights);
    }
  });

  it('apply_to: schema default raw, enum, and a misspelled value rejected by validation', () => {
    const properties = mgda.optionsSchema['properties'] as Record<string, Record<string, unknown>>;
    expect(properties['apply_to']).toEqual({ enum: ['raw', 'normalized'], default: 'raw' });
    expect(schemaDefaults(mgda.optionsSchema)).toEqual({ normalization: 'none', apply_to: 'raw' });
    const config = (strategy: string): string =>
      'name: t\ndata:\n  dataset: multi-digits\ntasks:\n  - { name: left, type: multiclass }\n' +
      `  - { name: right, type: multiclass }\nstrategy: { name: mgda, normalization: l2${strategy} }\n`;
    expect(parseConfigText(config(', apply_to: normalized')).config.strategy).toMatchObject({ apply_to: 'normalized' });
    expect(parseConfigText(config('')).config.strategy).toMatchObject({ apply_to: 'raw' });
    const [problem] = configProblems(config(', apply_to: normalised'));
    expect(problem).toMatch(
      /^exp\.yaml:7:\d+: strategy\.apply_to: "normalised" is not allowed; did you mean "normalized"\?/,
    );
    expect(() => combineGradients('mgda', [G1, G2], { apply_to: 'normalised' })).toThrow(/strategy\.apply_to/);
  });
});

describe('cagrad', () => {
  it('is the mean gradient when c = 0', () => {
    const result = combineGradients('cagrad', [G1, G2], { c: 0 });
    expectClose(result.combined, [0, 0.5]);
    expectClose(result.weights ?? [], [0.5, 0.5]);
  });

  it('c = 0.5 on the running example (hand-computed)', () => {
    // g0 = (0, 0.5), ‖g0‖ = 0.5, radius c‖g0‖ = 0.25. Dual with w = (w, 1−w): g_w = (2w−1, 1−w),
    // F(w) = 0.5(1−w) + 0.25√(5w² − 6w + 2); F'(w) = 0 at w = 1 (F = 0.25; F(0.6) ≈ 0.31, F(0) ≈ 0.85).
    // d = g0 + (0.25/‖g1‖) g1 = (0.25, 0.5); g1ᵀd = g2ᵀd = 0.25 = F(w*). Weights (½ + 0.25, ½) = (0.75, 0.5).
    const raw = combineGradients('cagrad', [G1, G2], { c: 0.5, rescale: 0 });
    expectClose(raw.combined, [0.25, 0.5], 5);
    expectClose(raw.weights ?? [], [0.75, 0.5], 5);
    // Default rescale 1 divides by 1 + c² = 1.25.
    expectClose(combineGradients('cagrad', [G1, G2]).combined, [0.2, 0.4], 5);
  });

  it('beats every other point of the ball in worst-case improvement (random 2-D problems)', () => {
    for (let seed = 0; seed < 5; seed++) {
      const grads = randomGrads(100 + seed, 3, 2);
      const c = 0.4;
      const d = combineGradients('cagrad', grads, { c, rescale: 0 }).combined;
      const mean = (k: number): number => grads.reduce((s, g) => s + g[k]!, 0) / grads.length;
      const g0: [number, number] = [mean(0), mean(1)];
      const radius = c * Math.hypot(g0[0], g0[1]);
      const worst = (x: ArrayLike<number>): number => Math.min(...grads.map((g) => g[0]! * x[0]! + g[1]! * x[1]!));
      expect(Math.hypot(d[0]! - g0[0], d[1]! - g0[1])).toBeLessThanOrEqual(radius * (1 + 1e-6));
      let best = -Infinity;
      for (let k = 0; k < 20000; k++) {
        const angle = (2 * Math.PI * k) / 20000;
        best = Math.max(best, worst([g0[0] + radius * Math.cos(angle), g0[1] + radius * Math.sin(angle)]), worst(g0));
      }
      expect(worst(d)).toBeGreaterThanOrEqual(best - 1e-5 * radius);
    }
  });
});

describe('imtl-g (IMTL-G alone)', () => {
  it('equal projections onto the unit gradients (hand-computed)', () => {
    // G = [[1,−1],[−1,2]], G⁻¹ = [[2,1],[1,1]], n = (1, √2): G⁻¹n = (2+√2, 1+√2), sum (1+√2)²
    // → α = (2 − √2, √2 − 1), g = (3 − 2√2, √2 − 1); gᵀu1 = gᵀu2 = 3 − 2√2.
    const result = combineGradients('imtl-g', [G1, G2]);
    expectClose(result.weights ?? [], [2 - Math.SQRT2, Math.SQRT2 - 1], 9);
    expectClose(result.combined, [3 - 2 * Math.SQRT2, Math.SQRT2 - 1]);
    const d = result.combined;
    expect(d[0]).toBeCloseTo((d[1]! - d[0]!) / Math.SQRT2, 6);
  });

  it('equal projections for random tasks', () => {
    const grads = randomGrads(5, 4, 12);
    const g = gram(f32(...grads));
    const alpha = imtlWeights(g);
    expect(alpha.reduce((s, a) => s + a, 0)).toBeCloseTo(1, 12);
    const projections = matVec(g, alpha).map((v, i) => v / Math.sqrt(g[i]![i]!));
    projections.forEach((p) => expect(p).toBeCloseTo(projections[0]!, 8));
  });
});

describe('aligned-mtl', () => {
  it('orthogonal gradients are rescaled to the smallest norm (hand-computed)', () => {
    // g1 = (2,0), g2 = (0,1): G = diag(4,1), λ_min = 1, α = 1·diag(½, 1)·1 = (½, 1) → d = (1, 1).
    const result = combineGradients('aligned-mtl', [
      [2, 0],
      [0, 1],
    ]);
    expectClose(result.weights ?? [], [0.5, 1]);
    expectClose(result.combined, [1, 1]);
    // rmse: σ = √((4 + 1)/2) instead of 1.
    const rmse = combineGradients(
      'aligned-mtl',
      [
        [2, 0],
        [0, 1],
      ],
      { scale: 'rmse' },
    );
    expectClose(rmse.combined, [Math.sqrt(2.5), Math.sqrt(2.5)]);
  });

  it('has condition number 1: ‖d‖² = T·λ_min for independent gradients', () => {
    // g1 = (1,0), g2 = (1,1): λ = (3 ± √5)/2; Ĝ = σ U Vᵀ with σ² = λ_min, so ‖Ĝ1‖² = σ²·‖Vᵀ1‖² = 2λ_min.
    const d = combineGradients('aligned-mtl', [
      [1, 0],
      [1, 1],
    ]).combined;
    expect(d[0]! ** 2 + d[1]! ** 2).toBeCloseTo(3 - Math.sqrt(5), 6);
  });

  it('drops the null space of dependent gradients', () => {
    // g2 = 2 g1: rank 1, σ = √5 is the only singular value, so the gradients stay as they are: d = (3, 0).
    expectClose(
      alignedWeights([
        [1, 2],
        [2, 4],
      ]),
      [0.6, 1.2],
      9,
    );
  });
});

describe('nash-mtl', () => {
  it('orthogonal gradients: α_i = 1/‖g_i‖ (hand-computed)', () => {
    // G = diag(4,1): 4α1 = 1/α1 → α1 = ½; α2 = 1/α2 → α2 = 1; d = ½(2,0) + (0,1) = (1,1).
    const result = combineGradients(
      'nash-mtl',
      [
        [2, 0],
        [0, 1],
      ],
      { max_norm: 0 },
    );
    expectClose(result.weights ?? [], [0.5, 1], 9);
    expectClose(result.combined, [1, 1]);
    // max_norm 1 clips ‖d‖ = √2 to 1.
    expectClose(
      combineGradients('nash-mtl', [
        [2, 0],
        [0, 1],
      ]).combined,
      [Math.SQRT1_2, Math.SQRT1_2],
    );
  });

  it('solves (GᵀG α)_i = 1/α_i with α > 0', () => {
    for (let seed = 0; seed < 10; seed++) {
      const g = gram(f32(...randomGrads(200 + seed, 2 + (seed % 4), 30)));
      const alpha = nashWeights(g, null);
      const ga = matVec(g, alpha);
      alpha.forEach((a, i) => {
        expect(a).toBeGreaterThan(0);
        expect(a * ga[i]!).toBeCloseTo(1, 7);
      });
    }
    const alpha = combineGradients('nash-mtl', [G1, G2], { max_norm: 0 }).weights ?? [];
    const ga = matVec(gram(f32(G1, G2)), alpha);
    alpha.forEach((a, i) => expect(ga[i]).toBeCloseTo(1 / a, 8));
  });

  it('reuses α between updates and warm-starts from its state', () => {
    const combiner = make(nashMtl, 2, { max_norm: 0, update_weights_every: 2 });
    const first = combiner.combine({ grads: f32([2, 0], [0, 1]) }).weights ?? [];
    const second = combiner.combine({ grads: f32(G1, G2) }).weights ?? [];
    expectClose(second, first);
    const third = combiner.combine({ grads: f32(G1, G2) }).weights ?? [];
    const ga = matVec(gram(f32(G1, G2)), third);
    third.forEach((a, i) => expect(a * ga[i]!).toBeCloseTo(1, 8));
    const copy = make(nashMtl, 2, { max_norm: 0, update_weights_every: 2 });
    copy.restore(JSON.parse(JSON.stringify(combiner.state())));
    expect(copy.state()).toEqual(combiner.state());
  });
});

describe('graddrop', () => {
  // Coordinate 0: both positive → P = 1, always kept: 1 + 1 = 2.
  // Coordinates 1, 2: Σg = 0 → P = ½; exactly one sign survives: ±1 and ±2.
  const grads = f32([1, -1, 2], [1, 1, -2]);

  it('keeps one sign per coordinate (hand-computed) and is deterministic per seed', () => {
    const a = make(graddrop, 2, {}, 11).combine({ grads }).combined;
    const b = make(graddrop, 2, {}, 11).combine({ grads }).combined;
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(a[0]).toBe(2);
    expect([1, -1]).toContain(a[1]);
    expect([2, -2]).toContain(a[2]);
    const seen = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      seen.add(Array.from(make(graddrop, 2, {}, seed).combine({ grads }).combined).join());
    }
    expect(seen.size).toBeGreaterThan(1);
  });

  it('leak 1 is the plain sum; state round-trips', () => {
    expectClose(make(graddrop, 2, { leak: 1 }).combine({ grads }).combined, [2, 0, 0]);
    const combiner = make(graddrop, 2);
    combiner.combine({ grads });
    const resumed = make(graddrop, 2);
    resumed.restore(JSON.parse(JSON.stringify(combiner.state())));
    expect(Array.from(resumed.combine({ grads }).combined)).toEqual(Array.from(combiner.combine({ grads }).combined));
  });
});

describe('gradvac', () => {
  it('corrects a pair to its target cosine (hand-computed)', () => {
    // g1 = (1,0), g2 = (0,1), φ = 0 < φ̂ = 0.5: g1' = g1 + ‖g1‖(0.5·1 − 0)/(‖g2‖·√0.75) g2 = (1, 1/√3),
    // whose cosine with g2 is (1/√3)/√(4/3) = 0.5. EMA: φ̂ ← 0.99·0.5 + 0.01·0 = 0.495.
    const targets = [
      [0, 0.5],
      [0.5, 0],
    ];
    const rows = gradVacCoefficients(gram(f32([1, 0], [0, 1])), targets, [[1], []], 0.01);
    expectClose(rows[0], [1, 1 / Math.sqrt(3)], 12);
    expect(targets[0]?.[1]).toBeCloseTo(0.495, 12);
  });

  it('first step equals PCGrad (targets start at 0)', () => {
    expectClose(make(gradvac, 2).combine({ grads: f32(G1, G2) }).combined, [0.5, 1.5]);
  });

  it('state round-trips through JSON', () => {
    const [first, ...rest] = [
      f32(G1, G2, [0.5, -2]),
      f32([0.3, 1], [-1, 0.2], [1, 1]),
      f32([2, -1], [0, 1], [-1, -1]),
    ] as const;
    const original = make(gradvac, 3, { beta: 0.3 });
    original.combine({ grads: first });
    const saved = JSON.parse(JSON.stringify(original.state())) as unknown;
    const expected = rest.map((grads) => Array.from(original.combine({ grads }).combined));
    const resumed = make(gradvac, 3, { beta: 0.3 });
    resumed.restore(saved);
    expect(resumed.state()).toEqual(saved);
    expect(rest.map((grads) => Array.from(resumed.combine({ grads }).combined))).toEqual(expected);
    expect(() => resumed.restore({ step: 1, targets: [[0]] })).toThrow(UsageError);
  });
});

describe('every method', () => {
  const grads = randomGrads(42, 3, 1000);
  const losses = [0.7, 1.3, 0.4];
  /** One step's input, with the extra independent samples a combiner asks for (copies of `gradients` here). */
  const input = (combiner: GradientCombiner, gradients: Float32Array[], taskLosses: number[]): CombineInput => {
    const extra = (combiner.independentSamples ?? 1) - 1;
    return {
      grads: gradients,
      losses: taskLosses,
      ...(extra > 0 ? { extraSamples: Array(extra).fill(gradients) } : {}),
    };
  };
  const step = (combiner: GradientCombiner, gradients: Float32Array[], taskLosses = losses): CombineResult =>
    combiner.combine(input(combiner, gradients, taskLosses));
  for (const [name, definition] of gradientCombiners) {
    const options = name === 'mgda' ? { normalization: 'loss+' } : {};
    it(`${name}: finite, reproducible, weights reproduce the result`, () => {
      const run = (): { combined: Float32Array; weights?: number[] } =>
        step(make(definition, 3, options, 5), f32(...grads));
      const a = run();
      const b = run();
      expect(a.combined.length).toBe(1000);
      expect(a.combined.every(Number.isFinite)).toBe(true);
      expect(Array.from(a.combined)).toEqual(Array.from(b.combined));
      if (a.weights) {
        expect(a.weights.every(Number.isFinite)).toBe(true);
        const expected = combineBy(grads, a.weights);
        a.combined.forEach((v, k) => expect(v).toBeCloseTo(expected[k]!, 4));
      }
      expect(JSON.parse(JSON.stringify(make(definition, 3, options, 5).state()))).toEqual(
        make(definition, 3, options, 5).state() ?? null,
      );
    });

    it(`${name}: zero gradients give a finite result`, () => {
      const zeros = step(make(definition, 3, options, 5), f32([0, 0], [0, 0], [0, 0]));
      expect(Array.from(zeros.combined)).toEqual([0, 0]);
      expect((zeros.weights ?? []).every(Number.isFinite)).toBe(true);
      const oneZero = step(make(definition, 3, options, 5), f32([0, 0], [1, 2], [-1, 0.5]));
      expect(oneZero.combined.every(Number.isFinite)).toBe(true);
      expect((oneZero.weights ?? []).every(Number.isFinite)).toBe(true);
    });

    it(`${name}: one task passes its gradient through (up to scale)`, () => {
      const single = step(make(definition, 1, {}, 1), f32([3, -4]), [1]).combined;
      // Same direction as g: cross product 0 and positive dot product.
      expect(single[0]! * -4 - single[1]! * 3).toBeCloseTo(0, 5);
      expect(single[0]! * 3 + single[1]! * -4).toBeGreaterThan(0);
    });
  }
});

describe('combineGradients', () => {
  it('rejects unknown methods and options with a UsageError listing what exists', () => {
    expect(() => combineGradients('pc-grad', [G1, G2])).toThrow(UsageError);
    expect(() => combineGradients('pc-grad', [G1, G2])).toThrow(/pcgrad.*mgda|mgda.*pcgrad/);
    expect(() => combineGradients('cagrad', [G1, G2], { alpha: 1 })).toThrow(/Known: c, rescale/);
    expect(() => combineGradients('mgda', [G1, [1]])).toThrow(UsageError);
  });

  it('fills schema defaults and every definition documents its options', () => {
    expect(schemaDefaults(cagrad.optionsSchema)).toEqual({ c: 0.5, rescale: 1 });
    for (const definition of gradientCombiners.values()) {
      expect(definition.optionsSchema['additionalProperties']).toBe(false);
      expect(definition.paper.length).toBeGreaterThan(10);
      const properties = definition.optionsSchema['properties'] as Record<string, Record<string, unknown>>;
      for (const property of Object.values(properties)) expect('default' in property).toBe(true);
    }
  });
});
