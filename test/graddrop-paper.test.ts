/**
 * issue 13, point 2: GradDrop as Chen et al. 2020 (Algorithm 1) define it — purity per unit of the shared activation
 * from the batch-summed, activation-signed gradients, one draw per unit for the whole batch, a leak per task — and
 * refused where there is no shared representation or on parameter gradients.
 */
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/config/load.js';
import { graddrop } from '../src/strategies/gradient/graddrop.js';
import { combineGradients, schemaDefaults } from '../src/strategies/gradient/registry.js';
import type { GradientStrategy } from '../src/strategies/types.js';
import { strategyRegistry } from '../src/strategies/registry.js';
import { TWO_DIGIT_TASKS } from './helpers/configs.js';
import { configProblems, expectClose, usageError } from './helpers/expect.js';
import { oneBatch } from './helpers/step.js';

// Two examples (rows) × two units, row-major: A = [[1, 1], [−1, 1]].
const activations = [1, 1, -1, 1];
const grad1 = [2, 1, -1, -3];
const grad2 = [1, -1, 0.25, 0.5];

describe('GradDrop per unit of the shared activation (hand-computed)', () => {
  it('signs by the activation, sums over the batch, keeps or drops whole columns', () => {
    // Unit 0: G1 = 1·2 + (−1)(−1) = 3, G2 = 1·1 + (−1)(0.25) = 0.75 → P = 1: both kept, column [3, −0.75].
    // Unit 1: G1 = 1 − 3 = −2, G2 = −1 + 0.5 = −0.5 → P = 0: both kept, column [0, −2.5].
    // Per coordinate (the old rule) entry (0, 1) has signs +1 and −1, so it kept one of ±1, never 0, and entry
    // (1, 0) kept −1 or 0.25, never −0.75.
    for (let seed = 0; seed < 20; seed++) {
      const { combined } = combineGradients('graddrop', [grad1, grad2], { activations, rows: 2, seed });
      expectClose(combined, [3, 0, -0.75, -2.5], 6);
    }
  });

  it('a zero activation does not vote; a unit without marginal gradient passes only the leak', () => {
    // One unit, A = [0, 1]: G1 = −1, G2 = −1 (row 0 does not count) → P = 0, both kept: [5 − 5, −1 − 1].
    const silent = combineGradients(
      'graddrop',
      [
        [5, -1],
        [-5, -1],
      ],
      { activations: [0, 1], rows: 2 },
    );
    expectClose(silent.combined, [0, -2], 6);
    // A = [1, 1]: G1 = 1 − 1 = 0, G2 = 2 − 2 = 0 → no sign has mass: M = 0, the leak alone passes.
    const balanced = [
      [1, -1],
      [2, -2],
    ];
    expectClose(combineGradients('graddrop', balanced, { activations: [1, 1], rows: 2 }).combined, [0, 0], 6);
    const leaked = combineGradients('graddrop', balanced, { activations: [1, 1], rows: 2, leak: 0.5 });
    expectClose(leaked.combined, [1.5, -1.5], 6);
  });

  it('one draw per unit: a conflicting unit keeps one task’s whole column, positive with probability P', () => {
    // One unit, three rows, A = 1: G1 = 3, G2 = −1 → P = ½(1 + 2/4) = 0.75.
    const a = [2, -1, 2];
    const b = [-2, 0.5, 0.5];
    let keptFirst = 0;
    const seeds = 400;
    for (let seed = 0; seed < seeds; seed++) {
      const { combined } = combineGradients('graddrop', [a, b], { activations: [1, 1, 1], rows: 3, seed });
      const isFirst = combined.every((v, k) => Math.abs(v - a[k]!) < 1e-6);
      const isSecond = combined.every((v, k) => Math.abs(v - b[k]!) < 1e-6);
      expect(isFirst || isSecond, combined.join()).toBe(true);
      if (isFirst) keptFirst += 1;
    }
    expect(keptFirst / seeds).toBeGreaterThan(0.68);
    expect(keptFirst / seeds).toBeLessThan(0.82);
  });

  it('a leak per task: ℓ_i of a dropped task passes', () => {
    const a = [2, -1, 2];
    const b = [-2, 0.5, 0.5];
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const { combined } = combineGradients('graddrop', [a, b], {
        activations: [1, 1, 1],
        rows: 3,
        seed,
        leak: [0.5, 0],
      });
      outcomes.add(combined.map((v) => v.toFixed(4)).join());
    }
    // Task 1 kept: a + 0·b; task 2 kept: b + 0.5·a.
    expect([...outcomes].sort()).toEqual(['-1.0000,0.0000,1.5000', '2.0000,-1.0000,2.0000']);
  });

  it('without activations each vector is its own G (one row, positive activations)', () => {
    for (let seed = 0; seed < 10; seed++) {
      const plain = combineGradients('graddrop', [grad1, grad2], { seed });
      const explicit = combineGradients('graddrop', [grad1, grad2], { seed, activations: [1, 1, 1, 1], rows: 1 });
      expect(plain.combined).toEqual(explicit.combined);
    }
  });

  it('refuses bad activations, rows and leaks with the field named', () => {
    expect(usageError(() => combineGradients('graddrop', [grad1, grad2], { activations: [1, 1] })).message).toMatch(
      /graddrop: activations must have the length of each task gradient \(4\), got 2/,
    );
    expect(usageError(() => combineGradients('graddrop', [grad1, grad2], { activations, rows: 3 })).message).toMatch(
      /graddrop: rows must be a whole number ≥ 1 that divides the gradient length 4/,
    );
    expect(usageError(() => combineGradients('graddrop', [grad1, grad2], { leak: [0.5] })).message).toMatch(
      /strategy\.leak: expected a number in \[0, 1\] or a list of 2 such numbers \(one per task\), got \[0\.5\]/,
    );
    expect(configProblems(`${TWO_DIGIT_TASKS}strategy: { name: graddrop, leak: [0.1, 0.2, 0.3] }\n`)).toEqual([
      expect.stringMatching(/^exp\.yaml:9:\d+: strategy\.leak: expected a number in \[0, 1\] or a list of 2/),
    ]);
    expect(() => parseConfigText(`${TWO_DIGIT_TASKS}strategy: { name: graddrop, leak: [0.1, 0.2] }\n`)).not.toThrow();
  });
});

describe('GradDrop runs only on a shared representation', () => {
  it('validation refuses grad_target: params, with the reason', () => {
    expect(configProblems(`${TWO_DIGIT_TASKS}strategy: { name: graddrop, grad_target: params }\n`)).toEqual([
      expect.stringMatching(
        new RegExp(
          String.raw`^exp\.yaml:9:\d+: strategy\.grad_target: "graddrop" cannot run on params gradients: ` +
            String.raw`Chen et al\. define .*; use grad_target: representation$`,
        ),
      ),
    ]);
  });

  it('validation refuses an architecture without a shared representation, on auto too, naming those with one', () => {
    // Blamed where it was asked for: the written target, or on auto the strategy's name.
    for (const [target, field] of [
      ['auto', 'name'],
      ['representation', 'grad_target'],
    ]) {
      const strategy = `strategy: { name: graddrop, grad_target: ${target} }\n`;
      const text = `${TWO_DIGIT_TASKS}model: { architecture: mmoe }\n${strategy}`;
      expect(configProblems(text), target).toEqual([
        expect.stringMatching(
          new RegExp(
            String.raw`strategy\.${field}: strategy "graddrop" on the representation needs a shared ` +
              'representation, which architecture "mmoe" does not have; "graddrop" runs only on a shared ' +
              String.raw`representation: use an architecture with one \(.*hard-sharing.*\)$`,
          ),
        ),
      ]);
    }
  });

  it('the library refuses the same when creating the strategy', () => {
    const { tasks } = parseConfigText(`${TWO_DIGIT_TASKS}strategy: { name: graddrop }\n`).config;
    const definition = strategyRegistry.get('graddrop')!;
    expect(
      usageError(() => definition.create({ name: 'graddrop', grad_target: 'params' }, { tasks, seed: 0 })).message,
    ).toMatch(/^strategy\.grad_target: "graddrop" cannot run on params gradients: Chen et al\./);
    const noRepresentation = { tasks, seed: 0, hasSharedRepresentation: false };
    expect(usageError(() => definition.create({ name: 'graddrop' }, noRepresentation)).message).toMatch(
      /^strategy\.grad_target: "graddrop" on the representation needs a shared representation, which this model/,
    );
  });
});

describe('GradDrop in the training step', () => {
  it('gets the shared activation and its batch rows, in the layout of the representation gradients', async () => {
    const setup = await oneBatch('{ name: graddrop }');
    const inner = graddrop.create(schemaDefaults(graddrop.optionsSchema), 0, 2);
    const seen: { activations?: number[]; rows?: number; length: number }[] = [];
    const recording: GradientStrategy = {
      name: 'graddrop',
      needs: 'representation-gradients',
      combiner: {
        combine(input) {
          seen.push({
            ...(input.activations ? { activations: Array.from(input.activations) } : {}),
            ...(input.rows !== undefined ? { rows: input.rows } : {}),
            length: input.grads[0]!.length,
          });
          return inner.combine(input);
        },
        state: () => inner.state(),
        restore: (state) => inner.restore(state),
      },
      currentWeights: () => [1, 1],
      state: () => null,
      restore: () => undefined,
    };
    setup.step(recording);
    const encode = setup.model.encode!;
    const z = encode(setup.batch.x, true);
    const rows = setup.batch.x.shape[0];
    expect(rows).toBeGreaterThan(1);
    expect(seen).toEqual([{ activations: Array.from(z.dataSync()), rows, length: rows * 5 }]);
    z.dispose();
    setup.dispose();
  });
});
