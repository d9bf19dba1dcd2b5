/**
 * IMTL-G on dependent task gradients (more tasks than dimensions, opposite or parallel gradients): the weights solve
 * the paper's conditions exactly, as LibMTL's closed form does (test/reference-agreement.test.ts compares on random
 * sets), instead of a least-squares compromise with unequal projections.
 */
import { describe, expect, it } from 'vitest';
import { combineGradients, gradientCombiners } from '../src/strategies/gradient/registry.js';

/** IMTL-G: `imtl` until full IMTL takes that name, then `imtl-g`. */
const IMTL_G = gradientCombiners.has('imtl-g') ? 'imtl-g' : 'imtl';

function expectClose(actual: readonly number[] | undefined, expected: readonly number[], digits = 9): void {
  expect(actual?.length).toBe(expected.length);
  expected.forEach((e, i) => expect(actual?.[i]).toBeCloseTo(e, digits));
}

describe('IMTL-G with dependent gradients', () => {
  it('opposite gradients in one dimension: g = 0 with α ∝ 1/‖g_i‖ (hand-computed)', () => {
    // g1 = 1.5, g2 = −0.7: equal projections onto u1 = 1 and u2 = −1 need g = −g, so g = 0:
    // 1.5 α1 − 0.7 α2 = 0, α1 + α2 = 1 → α = (0.7, 1.5) / 2.2.
    const result = combineGradients(IMTL_G, [[1.5], [-0.7]]);
    // (−0.7 is −0.699999988 in float32.)
    expectClose(result.weights, [0.7 / 2.2, 1.5 / 2.2], 7);
    expectClose(result.combined, [0], 6);
  });

  it('three tasks in two dimensions: the only impartial update is 0 (hand-computed)', () => {
    // (α1 − α3, α2 − α3) = 0 with Σα = 1 → α = (⅓, ⅓, ⅓).
    const result = combineGradients(IMTL_G, [
      [1, 0],
      [0, 1],
      [-1, -1],
    ]);
    expectClose(result.weights, [1 / 3, 1 / 3, 1 / 3]);
    expectClose(result.combined, [0, 0], 6);
  });

  it('parallel gradients keep a non-zero impartial update (hand-computed)', () => {
    // g1 = (1, 0), g2 = (2, 0): C = [[1, 1], [1, 1]], β = C⁺1 = (½, ½), α ∝ β_i/‖g_i‖ = (½, ¼) → (⅔, ⅓);
    // g = (4/3, 0), projecting 4/3 onto both unit gradients.
    const result = combineGradients(IMTL_G, [
      [1, 0],
      [2, 0],
    ]);
    expectClose(result.weights, [2 / 3, 1 / 3]);
    expectClose(result.combined, [4 / 3, 0], 6);
  });
});
