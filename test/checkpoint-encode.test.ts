/**
 * Checkpoints encode variables with runs/encode-weights.ts, synchronously: the same manifest entries and bytes as
 * stock `tf.io.encodeWeights` (so `tf.io.decodeWeights` and every older checkpoint reader agree).
 */
import { tf } from '../src/tf.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/select.js';
import { encodeVariables } from '../src/runs/encode-weights.js';

beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
}, 60_000);

describe('encodeVariables', () => {
  it('writes what tf.io.encodeWeights writes, for float32 and int32 variables of every rank', async () => {
    const variables = [
      tf.variable(tf.randomNormal([3, 5], 0, 1, 'float32', 1), true, 'enc/a'),
      tf.variable(tf.scalar(-0), true, 'enc/scalar'),
      tf.variable(tf.tensor1d([Number.NaN, Number.POSITIVE_INFINITY, 1e-45]), true, 'enc/special'),
      tf.variable(tf.tensor([7, -3, 2 ** 31 - 1], [3], 'int32'), false, 'enc/int'),
      tf.variable(tf.zeros([2, 0, 4]), true, 'enc/empty'),
      tf.variable(tf.randomUniform([2, 3, 2, 2], -1, 1, 'float32', 2), true, 'enc/conv'),
    ];
    const ours = await encodeVariables(variables);
    const stock = await tf.io.encodeWeights(variables.map((v) => ({ name: v.name, tensor: v })));
    expect(JSON.stringify(ours.specs)).toBe(JSON.stringify(stock.specs));
    expect(Buffer.from(ours.data).equals(Buffer.from(stock.data))).toBe(true);
    expect(ours.data.byteLength).toBe((15 + 1 + 3 + 3 + 0 + 24) * 4);
    // And it reads back.
    const decoded = tf.io.decodeWeights(ours.data, ours.specs);
    expect(Array.from(decoded['enc/int']!.dataSync())).toEqual([7, -3, 2 ** 31 - 1]);
    tf.dispose([...variables, ...Object.values(decoded)]);
  });

  it('leaves a bool variable to the stock function', async () => {
    const flag = tf.variable(tf.tensor1d([true, false], 'bool'), false, 'enc/bool');
    const ours = await encodeVariables([flag]);
    const stock = await tf.io.encodeWeights([{ name: flag.name, tensor: flag }]);
    expect(ours.specs).toEqual(stock.specs);
    expect(Buffer.from(ours.data).equals(Buffer.from(stock.data))).toBe(true);
    flag.dispose();
  });
});
