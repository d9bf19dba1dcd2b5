import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { tf } from '../src/tf.js';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/config/load.js';
import { trainExperiment } from '../src/api/train.js';
import { evaluateRun } from '../src/api/evaluate.js';
import { tempDir } from './helpers.js';
import { quickDigitsConfig } from './helpers/configs.js';

describe('training on the shipped multi-digits dataset', () => {
  it('reaches the stated accuracy, writes a complete run, and is reproducible with the same seed', async () => {
    const runsDir = tempDir();
    const counts: number[] = [];
    const before = tf.memory().numTensors;
    const first = await trainExperiment(parseConfigText(quickDigitsConfig(8)), {
      runsDir,
      listeners: [{ onEpochEnd: () => void counts.push(tf.memory().numTensors) }],
    });
    expect(first.status).toBe('completed');
    expect(first.backend).toBe('wasm');
    // Stated in the README: ≥ 0.85 test accuracy per digit after 8 epochs on 2,000 composites.
    expect(first.test['left/accuracy']).toBeGreaterThan(0.85);
    expect(first.test['right/accuracy']).toBeGreaterThan(0.85);
    // Live tensors do not grow with epochs.
    expect(counts).toHaveLength(8);
    expect(counts[7]).toBe(counts[1]);
    // …and everything a run created is released when it ends.
    expect(tf.memory().numTensors).toBe(before);

    for (const file of [
      'config.yaml',
      'config.resolved.json',
      'meta.json',
      'metrics.jsonl',
      'metrics.csv',
      'summary.json',
      'preprocessing.json',
    ]) {
      expect(existsSync(path.join(first.dir, file)), file).toBe(true);
    }
    const meta = JSON.parse(readFileSync(path.join(first.dir, 'meta.json'), 'utf8'));
    expect(meta).toMatchObject({
      status: 'completed',
      seed: 11,
      backend: { name: 'wasm', simdKernels: true },
      epochsCompleted: 8,
    });
    expect(meta.versions.tfjs).toBe(tf.version.tfjs);
    const csvHeader = readFileSync(path.join(first.dir, 'metrics.csv'), 'utf8').split('\n')[0];
    expect(csvHeader).toBe('epoch,split,task,metric,value,higher_is_better');

    // The checkpoint is the standard TF.js weights format, readable with stock tf.io.
    const best = path.join(first.dir, 'checkpoints', 'best');
    const modelJson = JSON.parse(readFileSync(path.join(best, 'model.json'), 'utf8'));
    const weightsFile = readFileSync(path.join(best, 'weights.bin'));
    const named = tf.io.decodeWeights(new Uint8Array(weightsFile).buffer, modelJson.weightsManifest[0].weights);
    expect(named['shared/0/kernel']?.shape).toEqual([96, 64]);
    expect(named['tasks/left/output/kernel']?.shape).toEqual([64, 10]);
    Object.values(named).forEach((t) => t.dispose());

    // Evaluating the stored best checkpoint on test reproduces the summary.
    const evaluation = await evaluateRun(first.dir, { split: 'test' });
    expect(evaluation.metrics['left/accuracy']).toBe(first.test['left/accuracy']);
    expect(existsSync(evaluation.file)).toBe(true);

    const second = await trainExperiment(parseConfigText(quickDigitsConfig(8)), { runsDir });
    expect(second.id).not.toBe(first.id);
    expect(second.test).toEqual(first.test);
  });

  it('stops early, and an aborted run is saved as interrupted', async () => {
    const runsDir = tempDir();
    const controller = new AbortController();
    const summary = await trainExperiment(parseConfigText(quickDigitsConfig(50)), {
      runsDir,
      signal: controller.signal,
      listeners: [{ onBatch: (info) => void (info.epoch === 1 && info.batch === 3 && controller.abort()) }],
    });
    expect(summary.status).toBe('interrupted');
    expect(summary.epochs).toBe(2);
    expect(existsSync(path.join(summary.dir, 'checkpoints', 'last', 'model.json'))).toBe(true);
    const meta = JSON.parse(readFileSync(path.join(summary.dir, 'meta.json'), 'utf8'));
    expect(meta.status).toBe('interrupted');
  });

  it('marks a run whose loss explodes as diverged', async () => {
    const runsDir = tempDir();
    const summary = await trainExperiment(parseConfigText(quickDigitsConfig(3, { lr: '1.0e+30', optimizer: 'sgd' })), {
      runsDir,
    });
    expect(summary.status).toBe('diverged');
    expect(summary.statusReason).toMatch(/training loss became/);
  });
});
