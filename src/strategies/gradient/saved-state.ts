/**
 * Reading the larger state records of the stateful combiners (DB-MTL's gradient EMAs, ExcessMTL's AdaGrad sums,
 * SDMGrad's and MoDo's weights) back from a checkpoint, with one error when they do not fit this run.
 */
import { UsageError } from '../../errors.js';

function badState(method: string): UsageError {
  return new UsageError(`Checkpoint state for gradient method "${method}" does not match this run's configuration.`);
}

/** The state record as an object, or null when the checkpoint has none (a fresh start). */
export function stateRecord(method: string, state: unknown): Record<string, unknown> | null {
  if (state === null || state === undefined) return null;
  if (typeof state !== 'object' || Array.isArray(state)) throw badState(method);
  return state as Record<string, unknown>;
}

/** A length-`size` vector of finite numbers. */
export function readVector(method: string, value: unknown, size: number): number[] {
  if (
    !Array.isArray(value) ||
    value.length !== size ||
    !value.every((x) => typeof x === 'number' && Number.isFinite(x))
  ) {
    throw badState(method);
  }
  return [...(value as number[])];
}

/**
 * `count` float64 vectors of one common length (null when absent: not started yet). The length is the gradient's,
 * which the combiner checks at its next step.
 */
export function readVectors(method: string, value: unknown, count: number): Float64Array[] | null {
  if (value === null || value === undefined) return null;
  if (!Array.isArray(value) || value.length !== count) throw badState(method);
  const length = Array.isArray(value[0]) ? value[0].length : -1;
  return value.map((row) => Float64Array.from(readVector(method, row, length)));
}

/** Throws the state error when restored vectors do not have the gradients' length. */
export function checkLength(method: string, vectors: readonly Float64Array[], length: number): void {
  if (vectors.some((v) => v.length !== length)) throw badState(method);
}

/** A whole number ≥ 0 (a step counter). */
export function readCount(method: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw badState(method);
  return value;
}
