/**
 * Plumbing shared by the combiners: checking inputs, per-step random generators and the small state records saved in
 * checkpoints. Options are read with src/util/options.ts.
 */
import { UsageError } from '../../errors.js';
import { createRng, type Rng } from '../../util/rng.js';
import type { GradientCombiner } from './types.js';

/** Checks the shape of one step's input and returns P. */
export function checkGrads(method: string, grads: readonly Float32Array[], taskCount: number): number {
  if (taskCount < 1) throw new Error(`${method}: needs at least one task.`);
  if (grads.length !== taskCount) {
    throw new Error(`${method}: expected ${taskCount} task gradients, got ${grads.length}.`);
  }
  const p = grads[0]?.length ?? 0;
  if (grads.some((g) => g.length !== p)) throw new Error(`${method}: task gradients differ in length.`);
  return p;
}

/**
 * A generator for one step, derived from (seed, method, step) rather than carried across steps: a checkpoint then
 * only needs the step counter to make a resumed run draw exactly what an uninterrupted one would.
 */
export function stepRng(seed: number, method: string, step: number): Rng {
  return createRng(seed).fork(`${method}/${step}`);
}

function badState(method: string): UsageError {
  return new UsageError(`Checkpoint state for gradient method "${method}" does not match this run's configuration.`);
}

/** The `{ step }` record of the methods whose only state is the per-step generator. */
export function readStep(method: string, state: unknown): number {
  if (state === null || state === undefined) return 0;
  const step = (state as { step?: unknown }).step;
  if (typeof state !== 'object' || typeof step !== 'number' || !Number.isInteger(step) || step < 0) {
    throw badState(method);
  }
  return step;
}

/** A T×T numeric matrix from a checkpoint. */
export function readMatrix(method: string, value: unknown, size: number): number[][] {
  const isRow = (row: unknown): boolean =>
    Array.isArray(row) && row.length === size && row.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (!Array.isArray(value) || value.length !== size || !value.every(isRow)) throw badState(method);
  return (value as number[][]).map((row) => [...row]);
}

/** A length-T vector of positive numbers (or null) from a checkpoint. */
export function readPositiveVector(method: string, value: unknown, size: number): number[] | null {
  if (value === null || value === undefined) return null;
  const positive = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x > 0;
  if (!Array.isArray(value) || value.length !== size || !value.every(positive)) throw badState(method);
  return [...(value as number[])];
}

/** An empty options schema for the methods without options. */
export function noOptions(): Record<string, unknown> {
  return { type: 'object', properties: {}, additionalProperties: false };
}

/** A combiner without state between steps: checkpoints store null. */
export function stateless(combine: GradientCombiner['combine']): GradientCombiner {
  return { combine, state: () => null, restore: () => undefined };
}

/** A float64 vector as base64 of its little-endian bytes: exact in a JSON checkpoint, and compact. */
export function encodeFloat64(values: Float64Array): string {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  values.forEach((v, k) => view.setFloat64(k * 8, v, true));
  return Buffer.from(bytes).toString('base64');
}

/** The inverse of {@link encodeFloat64}; a checkpoint-state error for anything but finite values of that length. */
export function decodeFloat64(method: string, text: unknown, length: number): Float64Array {
  if (typeof text !== 'string') throw badState(method);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== length * 8) throw badState(method);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(length);
  for (let k = 0; k < length; k++) out[k] = view.getFloat64(k * 8, true);
  if (!out.every(Number.isFinite)) throw badState(method);
  return out;
}
