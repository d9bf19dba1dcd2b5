/**
 * UPGrad, DualProj, ConFIG, FairGrad and MoCo (issue #13, newer methods): hand-computed cases, the properties each
 * paper states, and MoCo's exact resume. Their training runs are in test/gradient-training.test.ts (every registered
 * combiner); the QP solver's optimality conditions in test/qp.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { gram } from '../src/numerics/index.js';
import { fairGradWeights } from '../src/strategies/gradient/fairgrad.js';
import { nashWeights } from '../src/strategies/gradient/nash-mtl.js';
import { combineGradients, getGradientCombiner } from '../src/strategies/gradient/registry.js';
import { createRng } from '../src/util/rng.js';
import { TWO_DIGIT_TASKS } from './helpers/configs.js';
import { configProblems, expectClose, usageError } from './helpers/expect.js';

function randomGrads(seed: number, tasks: number, length: number): number[][] {
  const rng = createRng(seed);
  return Array.from({ length: tasks }, () => Array.from({ length }, () => rng.normal()));
}

const dot = (a: readonly number[], b: readonly number[]): number => a.reduce((s, v, k) => s + v * b[k]!, 0);
const norm = (a: readonly number[]): number => Math.sqrt(dot(a, a));

/** Random gradient sets: 2–5 tasks, some with fewer dimensions than tasks, some with a forced conflict. */
function gradientSets(): number[][][] {
  const sets: number[][][] = [];
  for (let seed = 0; seed < 40; seed++) {
    const tasks = 2 + (seed % 4);
    const length = seed % 3 === 0 ? Math.max(1, tasks - 1) : 3 + (seed % 5);
    const grads = randomGrads(seed, tasks, length);
    if (seed % 2 === 1) grads[1] = grads[0]!.map((v, k) => -0.7 * v + 0.2 * grads[1]![k]!); // conflict with task 0
    sets.push(grads);
  }
  return sets;
}

describe('upgrad (Quinton & Rey 2024)', () => {
  it('g1 = (1, 0), g2 = (−1, 1), reg_eps 0: the rows project to weights (½, ¼), (½, ½); d = (¼, ¾) (by hand)', () => {
    const { combined, weights } = combineGradients(
      'upgrad',
      [
        [1, 0],
        [-1, 1],
      ],
      { reg_eps: 0 },
    );
    expectClose(weights!, [1, 0.75], 10);
    expectClose(combined, [0.25, 0.75], 6);
  });

  it('is the mean when no gradient conflicts, with the default regularisation too', () => {
    const { weights } = combineGradients('upgrad', [
      [1, 0],
      [1, 1],
    ]);
    expectClose(weights!, [0.5, 0.5], 12);
  });

  it('never increases a task to first order: g_jᵀd ≥ 0 (with reg_eps 0; within reg_eps·tr(G)·w_j by default)', () => {
    for (const grads of gradientSets()) {
      const exact = combineGradients('upgrad', grads, { reg_eps: 0 });
      const scale = grads.reduce((s, g) => s + dot(g, g), 0);
      for (const g of grads) expect(dot(g, exact.combined)).toBeGreaterThanOrEqual(-1e-5 * scale);
      const regular = combineGradients('upgrad', grads);
      grads.forEach((g, j) =>
        expect(dot(g, regular.combined)).toBeGreaterThanOrEqual(-1e-4 * scale * regular.weights![j]! - 1e-5 * scale),
      );
    }
  });

  it('honours pref_vector, is zero for zero gradients and refuses a wrong-length preference', () => {
    const only = combineGradients(
      'upgrad',
      [
        [1, 0],
        [-1, 1],
      ],
      { reg_eps: 0, pref_vector: [1, 0] },
    );
    expectClose(only.weights!, [1, 0.5], 10); // the projection of g1 alone (see the hand case, ×2)
    expect(
      combineGradients('upgrad', [
        [0, 0],
        [0, 0],
      ]).combined,
    ).toEqual([0, 0]);
    expect(usageError(() => combineGradients('upgrad', [[1], [2]], { pref_vector: [1] })).message).toMatch(
      /strategy\.pref_vector: expected a list of 2 numbers/,
    );
    const problems = configProblems(`${TWO_DIGIT_TASKS}strategy: { name: dualproj, pref_vector: [1, 2, 3] }\n`);
    expect(problems.join('\n')).toMatch(/exp\.yaml:9:\d+: strategy\.pref_vector: expected a list of 2 numbers/);
  });
});

describe('dualproj (Quinton & Rey 2024)', () => {
  it('g1 = (1, 0), g2 = (−2, 1): the average (−½, ½) projected onto g1ᵀd = 0 is (0, ½), w = (1, ½) (by hand)', () => {
    const { combined, weights } = combineGradients(
      'dualproj',
      [
        [1, 0],
        [-2, 1],
      ],
      { reg_eps: 0 },
    );
    expectClose(weights!, [1, 0.5], 10);
    expectClose(combined, [0, 0.5], 6);
  });

  it('lands in the dual cone, with weights ≥ the preference and tight constraints where they exceed it', () => {
    for (const grads of gradientSets()) {
      const t = grads.length;
      const { combined, weights } = combineGradients('dualproj', grads, { reg_eps: 0 });
      const scale = grads.reduce((s, g) => s + dot(g, g), 0);
      grads.forEach((g, j) => {
        const slope = dot(g, combined);
        expect(slope).toBeGreaterThanOrEqual(-1e-5 * scale);
        expect(weights![j]!).toBeGreaterThanOrEqual(1 / t - 1e-12);
        if (weights![j]! > 1 / t + 1e-6) expect(Math.abs(slope)).toBeLessThan(1e-4 * scale);
      });
    }
  });
});

describe('config (Liu, Chu & Thuerey 2024)', () => {
  it('g1 = (1, 0), g2 = (0, 2): direction (1, 1)/√2, length (1 + 2)/√2 → d = (1.5, 1.5) (hand-computed)', () => {
    expectClose(
      combineGradients('config', [
        [1, 0],
        [0, 2],
      ]).combined,
      [1.5, 1.5],
      6,
    );
  });

  it('length_model track-*: every gradient rescaled to τ before projecting (g1 = (1, 0), g2 = (0, 2), by hand)', () => {
    const grads = [
      [1, 0],
      [0, 2],
    ];
    // x̂ = (1, 1)/√2 and Σ û_iᵀx̂ = √2, so d = τ (1, 1).
    const tau = { 'track-minimum': 1, 'track-maximum': 2, 'track-harmonic': 4 / 3, 'track-arithmetic': 1.5 };
    for (const [model, t] of Object.entries(tau)) {
      expectClose(combineGradients('config', grads, { length_model: model }).combined, [t, t], 6);
    }
    expectClose(
      combineGradients('config', grads, { length_model: 'track-geometric' }).combined,
      [Math.SQRT2, Math.SQRT2],
      6,
    );
  });

  it('matches the reference formula (pinv of the unit rows, torch 1.13, float64) on three tasks', () => {
    const { combined } = combineGradients('config', [
      [1, 0, 0],
      [-1, 1, 0],
      [0.5, 0.5, 1],
    ]);
    expectClose(combined, [0.515352900155, 1.244171960961, -0.248586609137], 6);
  });

  it('has the same cosine with every gradient (in proportion to pref_vector), and length Σ g_iᵀd̂', () => {
    for (const grads of gradientSets().filter((g) => g.length <= (g[0]?.length ?? 0))) {
      for (const preference of [null, grads.map((_, i) => 1 + i)]) {
        const { combined } = combineGradients('config', grads, { pref_vector: preference });
        const n = norm(combined);
        const cosines = grads.map((g, i) => dot(g, combined) / (norm(g) * n) / (preference?.[i] ?? 1));
        for (const c of cosines) expect(c).toBeCloseTo(cosines[0]!, 4);
        expect(cosines[0]!).toBeGreaterThan(0);
        expect(n).toBeCloseTo(
          grads.reduce((s, g) => s + dot(g, combined) / n, 0),
          4,
        );
      }
    }
  });
});

describe('fairgrad (Ban & Ji 2024)', () => {
  it('orthogonal g1 = (2, 0), g2 = (0, 1): α = 1 → w = (½, 1); α = 2 → w1 = 4^(−2/3) (hand-computed)', () => {
    const grads = [
      [2, 0],
      [0, 1],
    ];
    expectClose(combineGradients('fairgrad', grads).weights!, [0.5, 1], 10);
    expectClose(combineGradients('fairgrad', grads, { alpha: 2 }).weights!, [4 ** (-2 / 3), 1], 10);
  });

  it("each task's head gets w_i ∇L_i, as the reference backpropagates Σ w_i L_i", () => {
    const result = combineGradients('fairgrad', [
      [2, 0],
      [0, 1],
    ]);
    expectClose(result.taskScales!, [0.5, 1], 10);
  });

  it('solves (Gw)_i = w_i^(−1/α) to rounding for several α, with fewer dimensions than tasks too', () => {
    for (const grads of gradientSets()) {
      const g = gram(grads.map((v) => Float32Array.from(v)));
      // Solvable exactly when 0 is not in the convex hull of the gradients: a common descent direction exists.
      const ones = combineGradients('mgda', grads).combined;
      if (norm(ones) < 1e-3 * Math.max(...grads.map(norm))) continue;
      for (const alpha of [0.5, 1, 2, 5]) {
        const w = fairGradWeights(g, alpha);
        const gw = g.map((row) => dot(row, w));
        w.forEach((wi, i) => {
          expect(wi).toBeGreaterThan(0);
          expect(Math.abs(gw[i]! - wi ** (-1 / alpha)) / wi ** (-1 / alpha)).toBeLessThan(1e-8);
        });
      }
    }
  });

  it('at α = 1 gives Nash-MTL’s weights', () => {
    for (const grads of gradientSets().slice(0, 12)) {
      const g = gram(grads.map((v) => Float32Array.from(v)));
      const ones = combineGradients('mgda', grads).combined;
      if (norm(ones) < 1e-3 * Math.max(...grads.map(norm))) continue;
      // Nash-MTL's solver keeps a ridge of 1e-10 on the cosine matrix: agreement to 1e-5 relative.
      const nash = nashWeights(g, null);
      fairGradWeights(g, 1).forEach((w, i) => expect(Math.abs(w - nash[i]!)).toBeLessThan(1e-5 * nash[i]!));
    }
  });
});

describe('moco (Fernando et al. 2023)', () => {
  const steps = [
    { grads: [Float32Array.from([3, 4]), Float32Array.from([0, 2])], losses: [1, 2] },
    { grads: [Float32Array.from([1, -1]), Float32Array.from([2, 1])], losses: [0.5, 1.5] },
    { grads: [Float32Array.from([0.5, 2]), Float32Array.from([-1, 1])], losses: [0.4, 1.2] },
  ];

  it('matches LibMTL’s update over two steps (torch 1.13, float64, LibMTL defaults)', () => {
    const combiner = getGradientCombiner('moco').create({}, 0, 2);
    // Step 1 by hand: ĝ = (0.6, 0.8), (0, 2); y = ĝ/2; λ = softmax(½ − 0.1 (YYᵀ)λ) = softmax(0.4675, 0.43).
    expectClose(combiner.combine(steps[0]!).combined, [0.15281217011713574, 0.6943756562938501], 6);
    expectClose(combiner.combine(steps[1]!).combined, [0.3947076038912564, 0.49928232768974445], 6);
    expect(combiner.combine(steps[0]!).weights).toBeUndefined();
  });

  it('resumes exactly from its saved state (JSON round trip)', () => {
    const definition = getGradientCombiner('moco');
    const straight = definition.create({}, 0, 2);
    const first = definition.create({}, 0, 2);
    straight.combine(steps[0]!);
    straight.combine(steps[1]!);
    first.combine(steps[0]!);
    first.combine(steps[1]!);
    const resumed = definition.create({}, 0, 2);
    resumed.restore(JSON.parse(JSON.stringify(first.state())));
    expect(Array.from(resumed.combine(steps[2]!).combined)).toEqual(Array.from(straight.combine(steps[2]!).combined));
    expect(resumed.state()).toEqual(straight.state());
  });

  it('refuses a damaged state, a missing loss and the representation target', () => {
    const combiner = getGradientCombiner('moco').create({}, 0, 2);
    expect(
      usageError(() => combiner.restore({ step: 1, lambda: [0.5, 0.5], dimension: 2, tracked: ['x'] })).message,
    ).toMatch(/moco/);
    expect(usageError(() => combineGradients('moco', [[1], [2]])).message).toMatch(/needs the 2 task losses/);
    const problems = configProblems(`${TWO_DIGIT_TASKS}strategy: { name: moco, grad_target: representation }\n`);
    expect(problems.join('\n')).toMatch(/"moco" cannot run on representation gradients/);
  });

  it('the paper’s variant (normalize: none, lambda_update: simplex) keeps λ on the simplex', () => {
    const combiner = getGradientCombiner('moco').create({ normalize: 'none', lambda_update: 'simplex' }, 0, 2);
    for (const step of steps) combiner.combine(step);
    const { lambda } = combiner.state() as { lambda: number[] };
    expect(lambda.every((l) => l >= 0)).toBe(true);
    expect(lambda[0]! + lambda[1]!).toBeCloseTo(1, 12);
  });
});
