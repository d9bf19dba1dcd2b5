/**
 * Memory with adversaries (issue #18; test/memory.test.ts's pattern): the live tensor count stays flat over 20 short
 * epochs — a feature discriminator (prior, and one task's rows against another's in a multi-input run) in each step
 * path, and shared–private's orthogonality penalty and task discriminator — and a run releases everything, the
 * discriminator's variables and optimizer included.
 */
import path from 'node:path';
import { tf } from '../src/tf.js';
import { describe, expect, it } from 'vitest';
import { trainExperiment } from '../src/api/train.js';
import { parseConfigText } from '../src/config/load.js';
import { tempDir } from './helpers.js';
import { shiftedConfig, writeShiftedSources } from './helpers/adversarial.js';

const EPOCHS = 20;
const sharedPrivate =
  '{ architecture: shared-private, trunk: [{ type: dense, units: 4, activation: tanh }], ' +
  'task_discriminator: { weight: 0.1, lambda: { max: 1, schedule: dann } } }';

describe(`live tensors over ${EPOCHS} epochs with adversaries`, () => {
  const dir = tempDir();
  writeShiftedSources(dir, 40);
  const cases: Array<[string, { adversary?: string; model?: string; extra: string }]> = [
    [
      'a prior discriminator, equal',
      { adversary: '{ type: discriminator, steps: 2 }', extra: 'strategy: { name: equal }\n' },
    ],
    [
      'a prior discriminator, pcgrad on the representation',
      { adversary: '{ type: discriminator }', extra: 'strategy: { name: pcgrad, grad_target: representation }\n' },
    ],
    [
      'task y against task z, pcgrad on the parameters',
      {
        adversary: '{ type: discriminator, real: { task: y }, fake: { task: z } }',
        extra: 'strategy: { name: pcgrad, grad_target: params }\n',
      },
    ],
    [
      'shared-private with the task discriminator, equal',
      { model: sharedPrivate, extra: 'strategy: { name: equal }\n' },
    ],
    [
      'shared-private with the task discriminator, pcgrad',
      { model: sharedPrivate, extra: 'strategy: { name: pcgrad, grad_target: params }\n' },
    ],
  ];
  for (const [label, options] of cases) {
    it(`${label}: the count after every epoch is the same, and back to the start after the run`, async () => {
      const text = shiftedConfig({ epochs: EPOCHS, ...options });
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
