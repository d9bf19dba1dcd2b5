/**
 * Extending a completed run (api/extend.ts, successive halving's promotion): trained 2 epochs then extended to 4 it
 * ends with the metrics of a run trained 4 epochs straight, bit for bit on wasm (constant learning rate); a run that
 * stopped early, a cosine schedule and a run with the epochs already are refused, with the run untouched; the live
 * tensor count stays flat over the extended epochs and returns to where it was (the memory test's pattern).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { tf } from '../src/tf.js';
import { describe, expect, it } from 'vitest';
import { extendExperiment } from '../src/api/extend.js';
import { trainExperiment } from '../src/api/train.js';
import { parseConfigText } from '../src/config/load.js';
import { UsageError } from '../src/errors.js';
import { readMeta } from '../src/runs/meta.js';
import { readSummary } from '../src/runs/summary.js';
import { tempDir } from './helpers.js';
import { groupConfig } from './helpers/groups.js';

function train(epochs: number, runsDir: string, extra?: string) {
  const loaded = parseConfigText(groupConfig({ epochs: 4, ...(extra ? { extra } : {}) }), {
    overrides: [`training.epochs=${epochs}`],
  });
  return trainExperiment(loaded, { runsDir });
}

const files = (dir: string): string[] =>
  ['meta.json', 'summary.json', 'config.resolved.json'].map((f) => readFileSync(path.join(dir, f), 'utf8'));

describe('extending a completed run', () => {
  it('2 epochs extended to 4 equal 4 epochs straight (constant rate); config and meta raised', async () => {
    const store = tempDir();
    const straight = await train(4, store);
    const short = await train(2, store);
    expect(short.epochs).toBe(2);
    const extended = await extendExperiment(short.dir, 4, { runsDir: store });
    expect(extended.status).toBe('completed');
    expect(extended.epochs).toBe(4);
    expect(extended.val).toEqual(straight.val);
    expect(extended.test).toEqual(straight.test);
    expect(extended.bestEpoch).toBe(straight.bestEpoch);
    // The per-epoch logs are those of the straight run too (the learning rate and losses of every epoch).
    const log = (dir: string) =>
      readFileSync(path.join(dir, 'epochs.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => {
          const { seconds: _s, samplesPerSecond: _r, ...rest } = JSON.parse(line) as Record<string, unknown>;
          return rest;
        });
    expect(log(short.dir)).toEqual(log(straight.dir));
    const config = JSON.parse(readFileSync(path.join(short.dir, 'config.resolved.json'), 'utf8')) as {
      training: { epochs: number };
    };
    expect(config.training.epochs).toBe(4);
    const meta = readMeta(short.dir);
    expect(meta.overrides).toEqual(['training.epochs=4']);
    expect(meta.epochsCompleted).toBe(4);
    expect(meta.resumes).toMatchObject([{ epoch: 2, batch: 0, from: 'completed' }]);
    expect(readSummary(short.dir, short.id).val).toEqual(straight.val);
  });

  it('refuses a run that stopped early, a cosine schedule, epochs it has; the run untouched', async () => {
    const store = tempDir();
    // patience 1 with min_delta huge: no epoch after the first improves, so it stops after epoch 2 of 4.
    const early = await train(4, store, '  early_stopping: { patience: 1, min_delta: 1000 }');
    expect(early.epochs).toBe(2);
    const before = files(early.dir);
    await expect(extendExperiment(early.dir, 8, { runsDir: store })).rejects.toThrow(
      /cannot be extended to 8 epochs: it stopped early \(early stopping after epoch 2.*\); it is final/,
    );
    expect(files(early.dir)).toEqual(before);

    const cosine = await train(2, store, '  schedule: { type: cosine }');
    const cosineBefore = files(cosine.dir);
    const refused = await extendExperiment(cosine.dir, 4, { runsDir: store }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(UsageError);
    expect(String((refused as Error).message)).toMatch(/cosine schedule's learning rate depends on training\.epochs/);
    expect(files(cosine.dir)).toEqual(cosineBefore);

    const done = await train(2, store);
    await expect(extendExperiment(done.dir, 2, { runsDir: store })).rejects.toThrow(/it has 2 epochs already/);
  });
});

describe('live tensors over an extension', () => {
  it('the count after every extended epoch is the same, and back to the start after the extension', async () => {
    const store = tempDir();
    const short = await train(2, store);
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    const extended = await extendExperiment(short.dir, 6, {
      runsDir: store,
      listeners: [{ onEpochEnd: () => void counts.push(tf.memory().numTensors) }],
    });
    expect(extended.epochs).toBe(6);
    expect(counts).toHaveLength(4);
    expect(new Set(counts)).toEqual(new Set([counts[0]]));
    expect(tf.memory().numTensors).toBe(before);
  });
});
