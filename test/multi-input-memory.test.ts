/**
 * Memory with tasks that have their own data (issue #17; test/memory.test.ts's pattern): the live tensor count stays
 * flat over 20 short epochs of multi-input batches (one batch of each data group per step, the smaller group
 * cycling), for a loss-weighting strategy and a gradient method, with input adapters (a source of another width),
 * and a run releases everything.
 */
import path from 'node:path';
import { tf } from '../src/tf.js';
import { describe, expect, it } from 'vitest';
import { trainExperiment } from '../src/api/train.js';
import { parseConfigText } from '../src/config/load.js';
import { tempDir } from './helpers.js';
import { configText, writeSources } from './helpers/multi-input.js';

const EPOCHS = 20;
const ADAPTED = 'csv: wide.csv, split: { train: 0.5, val: 0.25, test: 0.25 }';

describe(`live tensors over ${EPOCHS} multi-input epochs`, () => {
  const dir = tempDir();
  writeSources(dir);
  const cases = [
    { strategy: '{ name: equal }', target: undefined },
    { strategy: '{ name: pcgrad, grad_target: params }', target: undefined },
    // wide.csv (3 features) through a dense adapter 3 → 2; the representation-gradient path reads encode().
    { strategy: '{ name: pcgrad, grad_target: representation }', target: ADAPTED },
  ];
  for (const { strategy, target } of cases) {
    const name = `${strategy}${target ? ' with adapters' : ''}`;
    it(`${name}: the count after every epoch is the same, and back to the start after the run`, async () => {
      const text = configText(target, `strategy: ${strategy}\n`).replace(
        'epochs: 5',
        `epochs: ${EPOCHS}, early_stopping: { patience: 0 }${target ? ', multi_input: { adapters: true }' : ''}`,
      );
      const counts: number[] = [];
      const before = tf.memory().numTensors;
      const summary = await trainExperiment(parseConfigText(text, { file: path.join(dir, 'exp.yaml') }), {
        runsDir: path.join(dir, 'runs'),
        listeners: [{ onEpochEnd: () => void counts.push(tf.memory().numTensors) }],
      });
      expect(summary.status).toBe('completed');
      expect(counts).toHaveLength(EPOCHS);
      expect(new Set(counts)).toEqual(new Set([counts[0]]));
      expect(tf.memory().numTensors).toBe(before);
    }, 60_000);
  }
});
