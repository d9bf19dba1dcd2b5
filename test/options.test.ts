import { describe, expect, it } from 'vitest';
import { ExitCode, UsageError } from '../src/errors.js';
import { combineGradients } from '../src/strategies/gradient/registry.js';
import {
  enumOption,
  integerOption,
  numberListOption,
  numberMapOption,
  numberOption,
  OptionError,
  optionProblems,
  stringOption,
} from '../src/util/options.js';

describe('typed options', () => {
  it('read the value at the last segment of the path, or the fallback when it is missing', () => {
    const options = { beta: 0.3, experts: 4, scale: 'one', metric: 'auc', weights: [1, 2], by: { a: 2 } };
    expect(numberOption(options, 'strategy.beta', 0.01)).toBe(0.3);
    expect(numberOption({}, 'strategy.beta', 0.01)).toBe(0.01);
    expect(integerOption(options, 'model.experts', 2, { minimum: 2 })).toBe(4);
    expect(enumOption(options, 'strategy.scale', ['tasks', 'one'] as const, 'tasks')).toBe('one');
    expect(enumOption({}, 'strategy.scale', ['tasks', 'one'] as const, 'tasks')).toBe('tasks');
    expect(stringOption(options, 'strategy.metric', 'accuracy')).toBe('auc');
    expect(numberListOption(options, 'strategy.weights', { length: 2 })).toEqual([1, 2]);
    expect(numberListOption({ weights: null }, 'strategy.weights', { length: 2 })).toBeNull();
    expect(numberMapOption(options, 'strategy.by')).toEqual({ a: 2 });
    expect(numberMapOption({}, 'strategy.by')).toEqual({});
  });

  it('throw one kind of usage error naming the option, what was expected and what was given', () => {
    const cases: [() => unknown, string][] = [
      [() => numberOption({ beta: 'x' }, 'strategy.beta', 0.01), 'strategy.beta: expected a number, got "x".'],
      [() => numberOption({ beta: Number.NaN }, 'strategy.beta', 0.01), 'strategy.beta: expected a number, got NaN.'],
      [
        () => numberOption({ beta3: 1 }, 'strategy.beta3', 0.9, { minimum: 0, exclusiveMaximum: 1 }),
        'strategy.beta3: expected a number ≥ 0 and < 1, got 1.',
      ],
      [
        () => integerOption({ experts: 1.5 }, 'model.experts', 4, { minimum: 2 }),
        'model.experts: expected a whole number ≥ 2, got 1.5.',
      ],
      [
        () => integerOption({ experts: 1 }, 'model.experts', 4, { minimum: 2 }),
        'model.experts: expected a whole number ≥ 2, got 1.',
      ],
      [
        () => enumOption({ scale: 2 }, 'strategy.scale', ['tasks', 'one'], 'tasks'),
        'strategy.scale: expected one of "tasks", "one", got 2.',
      ],
      [() => stringOption({ metric: 3 }, 'strategy.metric', 'accuracy'), 'strategy.metric: expected a string, got 3.'],
      [
        () => numberListOption({ weights: [1] }, 'strategy.weights', { length: 2, minimum: 0 }),
        'strategy.weights: expected a list of 2 numbers (one per task) ≥ 0, or null, got [1].',
      ],
      [
        () => numberListOption({ weights: [1, -1] }, 'strategy.weights', { minimum: 0 }),
        'strategy.weights: expected a list of numbers ≥ 0, or null, got [1,-1].',
      ],
      [
        () => numberMapOption({ by: { a: 'x' } }, 'strategy.by'),
        'strategy.by: expected a mapping of names to numbers, got {"a":"x"}.',
      ],
    ];
    for (const [read, message] of cases) {
      expect(read).toThrow(OptionError);
      expect(read).toThrow(message);
    }
    const error = new OptionError('strategy.beta', 'a number', 'x');
    expect(error).toBeInstanceOf(UsageError);
    expect(error.exitCode).toBe(ExitCode.usage);
    expect(error.path).toEqual(['strategy', 'beta']);
  });

  it('become config problems at the option path for validation; other errors pass through', () => {
    expect(optionProblems(() => numberOption({ beta: 1 }, 'strategy.beta', 0))).toEqual([]);
    expect(optionProblems(() => numberOption({ beta: 'x' }, 'strategy.beta', 0))).toEqual([
      { path: ['strategy', 'beta'], message: 'expected a number, got "x"' },
    ]);
    expect(() =>
      optionProblems(() => {
        throw new Error('a bug');
      }),
    ).toThrow('a bug');
  });

  it('are what the gradient methods read through the library call', () => {
    expect(() =>
      combineGradients(
        'weighted-average',
        [
          [1, 0],
          [0, 1],
        ],
        { weights: [1] },
      ),
    ).toThrow('strategy.weights: expected a list of 2 numbers (one per task) ≥ 0, or null, got [1].');
    expect(() =>
      combineGradients(
        'weighted-average',
        [
          [1, 0],
          [0, 1],
        ],
        { weights: [0, 0] },
      ),
    ).toThrow('strategy.weights: expected weights that are not all zero, got [0,0].');
    expect(() =>
      combineGradients(
        'mtadam',
        [
          [1, 0],
          [0, 1],
        ],
        { beta3: 1 },
      ),
    ).toThrow('strategy.beta3: expected a number ≥ 0 and < 1, got 1.');
    expect(() =>
      combineGradients(
        'cagrad',
        [
          [1, 0],
          [0, 1],
        ],
        { rescale: 3 },
      ),
    ).toThrow('strategy.rescale: expected one of 0, 1, 2, got 3.');
  });
});
