/** Assertions shared by the test files: closeness of number lists, bit equality, the user error a call throws. */
import type { tf } from '../../src/tf.js';
import { expect } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { UsageError } from '../../src/errors.js';

/** A tensor's values as a plain list. */
export function tensorValues(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

/** The float32 bit patterns of the values, to compare results bit for bit. */
export function bits(values: ArrayLike<number>): number[] {
  return Array.from(new Uint32Array(Float32Array.from(values).buffer));
}

export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, digits = 5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(actual[i], `index ${i}`).toBeCloseTo(expected[i]!, digits);
}

/** The error a function throws (it must throw a UsageError). */
export function usageError(f: () => unknown): UsageError {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error('expected a UsageError');
}

/**
 * The problem lines of a config that validation rejects (it must reject it, as a usage error with exit code 2),
 * each `<displayName>:line:col: field: message`.
 */
export function configProblems(text: string, options: { displayName?: string; overrides?: string[] } = {}): string[] {
  const error = usageError(() =>
    parseConfigText(text, { displayName: options.displayName ?? 'exp.yaml', overrides: options.overrides ?? [] }),
  );
  expect(error.exitCode).toBe(2);
  return error.details;
}

/** The error a promise rejects with (it must be a UsageError). */
export async function rejectedUsageError(promise: Promise<unknown>): Promise<UsageError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error('expected a UsageError');
}

/** The error a promise-returning function rejects with (it must be a UsageError). */
export async function usageErrorAsync(f: () => Promise<unknown>): Promise<UsageError> {
  try {
    await f();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error('expected a UsageError');
}
