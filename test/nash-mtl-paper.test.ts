/**
 * issue 13, point 4: Nash-MTL as the authors' code runs it (github.com/AvivNavon/nash-mtl, NashMTL): Σ α_i L_i is
 * backpropagated, so task i's own parameters get α_i ∇L_i, and the shared parameters' gradient is clipped by
 * torch.nn.utils.clip_grad_norm_(shared, max_norm = 1).
 */
import { describe, expect, it } from 'vitest';
import { clipFactor, nashMtl } from '../src/strategies/gradient/nash-mtl.js';
import { combineGradients, schemaDefaults } from '../src/strategies/gradient/registry.js';
import type { GradientStrategy } from '../src/strategies/types.js';
import { expectClose } from './helpers/expect.js';
import { oneBatch } from './helpers/step.js';

describe('Nash-MTL weights the task heads by α', () => {
  it('returns α as the head scales, unclipped (hand-computed)', () => {
    // G = diag(4, 1): 4α1 = 1/α1 → α1 = ½, α2 = 1; d = ½(2, 0) + (0, 1) = (1, 1), ‖d‖ = √2.
    const grads = [
      [2, 0],
      [0, 1],
    ];
    const unclipped = combineGradients('nash-mtl', grads, { max_norm: 0 });
    expectClose(unclipped.taskScales ?? [], [0.5, 1], 9);
    expectClose(unclipped.weights ?? [], [0.5, 1], 9);
    // The default clip (max_norm 1) scales the shared update and the reported weights, not the heads' α.
    const clipped = combineGradients('nash-mtl', grads);
    const factor = 1 / (Math.SQRT2 + 1e-6);
    expectClose(clipped.taskScales ?? [], [0.5, 1], 9);
    expectClose(clipped.weights ?? [], [0.5 * factor, factor], 9);
    expectClose(clipped.combined, [factor, factor], 7);
  });

  for (const target of ['params', 'representation']) {
    it(`multiplies each head's gradient by its α in the ${target} step; the shared part is unchanged`, async () => {
      const setup = await oneBatch(`{ name: nash-mtl, grad_target: ${target} }`);
      const needs = target === 'params' ? 'parameter-gradients' : 'representation-gradients';
      let alpha: number[] = [];
      // The same Nash-MTL combiner, once as it is and once with its head scales removed (the old step).
      const strategy = (keepScales: boolean): GradientStrategy => {
        const inner = nashMtl.create(schemaDefaults(nashMtl.optionsSchema), 0, 2);
        return {
          name: 'nash-mtl',
          needs,
          combiner: {
            combine(input) {
              const { taskScales, ...rest } = inner.combine(input);
              alpha = taskScales ?? [];
              return keepScales ? { ...rest, ...(taskScales ? { taskScales } : {}) } : rest;
            },
            state: () => inner.state(),
            restore: (state) => inner.restore(state),
          },
          currentWeights: () => [1, 1],
          state: () => null,
          restore: () => undefined,
        };
      };
      const scaled = setup.step(strategy(true));
      const plain = setup.step(strategy(false));
      expect(alpha).toHaveLength(2);
      expect(Math.abs(alpha[0]! - 1)).toBeGreaterThan(0.01); // α is not trivially 1 here
      setup.config.tasks.forEach((task, i) => {
        const own = setup.model.taskVariables[task.name] ?? [];
        expect(own.length).toBeGreaterThan(0);
        for (const v of own) {
          expectClose(
            scaled[v.name]!,
            plain[v.name]!.map((g) => alpha[i]! * g),
            6,
          );
        }
      });
      for (const v of setup.model.sharedVariables) expect(scaled[v.name]).toEqual(plain[v.name]);
      setup.dispose();
    });
  }
});

describe("Nash-MTL's clip is torch's clip_grad_norm_ of the shared update", () => {
  it('max_norm / (‖d‖ + 1e-6) when below 1, else 1; 0 turns it off', () => {
    expect(clipFactor(3, 1)).toBe(1 / (3 + 1e-6));
    expect(clipFactor(3, 1)).not.toBe(1 / 3);
    expect(clipFactor(0.5, 1)).toBe(1);
    expect(clipFactor(1, 1)).toBe(1 / (1 + 1e-6)); // below 1: torch scales by it too, and so do we
    expect(clipFactor(100, 0)).toBe(1);
  });

  it('bounds the shared update to max_norm (default 1, as the authors)', () => {
    expect(schemaDefaults(nashMtl.optionsSchema)).toEqual({ max_norm: 1, update_weights_every: 1 });
    // d = (3, 4) for one task: α = 1/5, d = α g = (0.6, 0.8) of norm 1 → factor 1/(1 + 1e-6).
    const one = combineGradients('nash-mtl', [[3, 4]]);
    expectClose(one.combined, [0.6 / (1 + 1e-6), 0.8 / (1 + 1e-6)], 7);
    const grads = [
      [2, 0],
      [0, 1],
    ];
    const half = combineGradients('nash-mtl', grads, { max_norm: 0.5 }).combined;
    expect(Math.hypot(...half)).toBeCloseTo((0.5 * Math.SQRT2) / (Math.SQRT2 + 1e-6), 6);
    expectClose(combineGradients('nash-mtl', grads, { max_norm: 2 }).combined, [1, 1], 6);
  });
});
