import { tf } from '../../tf.js';
import type { Rng } from '../../util/rng.js';

/**
 * Glorot/Xavier uniform: U(−l, l) with l = √(6 / (fan_in + fan_out)) (Glorot & Bengio 2010), drawn from our RNG;
 * `count` values (fan_in · fan_out for a dense kernel; a conv kernel passes its own size).
 */
export function glorotUniform(rng: Rng, fanIn: number, fanOut: number, count: number = fanIn * fanOut): Float32Array {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const values = new Float32Array(count);
  for (let i = 0; i < values.length; i++) values[i] = (rng.next() * 2 - 1) * limit;
  return values;
}

/** A float32 variable with a stable path name ("shared/0/kernel"), which is what checkpoints store. */
export function makeVariable(name: string, values: Float32Array, shape: number[], trainable = true): tf.Variable {
  return tf.tidy(() => tf.variable(tf.tensor(values, shape, 'float32'), trainable, name));
}
