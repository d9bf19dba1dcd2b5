/** analysis/pareto.ts on hand-made points: dominance by direction, ties, one objective, three objectives. */
import { describe, expect, it } from 'vitest';
import { dominates, paretoOptimal } from '../src/analysis/pareto.js';

describe('dominates', () => {
  it('needs at least as good everywhere and strictly better once, each objective in its direction', () => {
    // accuracy ↑, mse ↓
    const dirs = [true, false];
    expect(dominates([0.9, 0.1], [0.8, 0.2], dirs)).toBe(true);
    expect(dominates([0.9, 0.2], [0.8, 0.2], dirs)).toBe(true);
    expect(dominates([0.9, 0.3], [0.8, 0.2], dirs)).toBe(false);
    expect(dominates([0.8, 0.2], [0.9, 0.1], dirs)).toBe(false);
    // Lower is better on both: the smaller point dominates.
    expect(dominates([1, 1], [2, 1], [false, false])).toBe(true);
    expect(dominates([2, 1], [1, 1], [false, false])).toBe(false);
  });

  it('an equal point does not dominate, nor does NaN', () => {
    expect(dominates([0.5, 0.5], [0.5, 0.5], [true, true])).toBe(false);
    expect(dominates([NaN, 1], [0, 0], [true, true])).toBe(false);
    expect(() => dominates([1], [1, 2], [true, true])).toThrow(RangeError);
  });
});

describe('paretoOptimal', () => {
  it('two objectives: the front of a hand-drawn set', () => {
    // A (0.9, 0.6), B (0.7, 0.8), C (0.6, 0.5) dominated by A, D (0.9, 0.6) ties A, E (0.8, 0.7) between A and B.
    const points = [
      [0.9, 0.6],
      [0.7, 0.8],
      [0.6, 0.5],
      [0.9, 0.6],
      [0.8, 0.7],
    ];
    expect(paretoOptimal(points, [true, true])).toEqual([true, true, false, true, true]);
  });

  it('ties: equal points are all optimal when nothing beats them, all not when something does', () => {
    expect(
      paretoOptimal(
        [
          [1, 1],
          [1, 1],
        ],
        [true, true],
      ),
    ).toEqual([true, true]);
    expect(
      paretoOptimal(
        [
          [1, 1],
          [1, 1],
          [2, 1],
        ],
        [true, true],
      ),
    ).toEqual([false, false, true]);
  });

  it('one objective: the best value only (several when tied), in its direction', () => {
    expect(paretoOptimal([[0.3], [0.1], [0.2], [0.1]], [false])).toEqual([false, true, false, true]);
    expect(paretoOptimal([[0.3], [0.1], [0.2]], [true])).toEqual([true, false, false]);
  });

  it('three objectives, mixed directions', () => {
    // acc ↑, mse ↓, f1 ↑
    const dirs = [true, false, true];
    const points = [
      [0.9, 0.5, 0.7], // optimal: best accuracy
      [0.8, 0.2, 0.7], // optimal: best mse
      [0.8, 0.3, 0.6], // dominated by the second (worse mse and f1, same accuracy)
      [0.7, 0.4, 0.9], // optimal: best f1
      [0.7, 0.5, 0.6], // dominated by the first and the third
    ];
    expect(paretoOptimal(points, dirs)).toEqual([true, true, false, true, false]);
  });

  it('refuses a value that is not finite; no points, no front', () => {
    expect(() => paretoOptimal([[1, NaN]], [true, true])).toThrow(RangeError);
    expect(paretoOptimal([], [true])).toEqual([]);
  });
});
