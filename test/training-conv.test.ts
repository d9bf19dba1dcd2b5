/**
 * A short training on multi-digits with a conv trunk under every architecture: the loss falls, and `mtl eval` of the
 * checkpoint reads back the summary's test metrics exactly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tf } from '../src/tf.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateRun } from '../src/api/evaluate.js';
import { trainExperiment } from '../src/api/train.js';
import { initBackend } from '../src/backend/select.js';
import { loadConfig } from '../src/config/load.js';
import { architectureRegistry } from '../src/model/registry.js';

beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
}, 60_000);

describe('training on multi-digits with a conv trunk, every architecture', () => {
  let runsDir: string;
  beforeAll(() => {
    runsDir = mkdtempSync(path.join(tmpdir(), 'mtl-conv-runs-'));
  });
  afterAll(() => {
    rmSync(runsDir, { recursive: true, force: true });
  });

  /** Small options per architecture, as --set overrides. */
  const options: Record<string, string[]> = {
    'hard-sharing': [],
    'soft-sharing': ['model.coupling=l2', 'model.lambda=0.001'],
    'cross-stitch': ['model.alpha=0.9'],
    mmoe: ['model.experts=2'],
    cgc: ['model.shared_experts=1', 'model.task_experts=1'],
    ple: ['model.levels=2', 'model.shared_experts=1', 'model.task_experts=1'],
    attention: [],
    'dselect-k': ['model.experts=2', 'model.k=2', 'model.entropy_reg=0.0001'],
    // The paper's undivided orthogonality sum swamps the task losses at this batch size (README, shared-private).
    'shared-private': ['model.orthogonality_scale=mean'],
  };

  it('covers the whole registry', () => {
    expect(Object.keys(options).sort()).toEqual([...architectureRegistry.keys()].sort());
  });

  it.each([...architectureRegistry.keys()])(
    '%s on configs/multi-digits-conv.yaml: finite falling loss; mtl eval of the checkpoint gives the summary test ' +
      'metrics',
    async (name) => {
      // The shipped conv config, shortened: 1,000 composites, 2 epochs.
      const loaded = loadConfig(path.join(import.meta.dirname, '..', 'configs', 'multi-digits-conv.yaml'), [
        'backend=wasm',
        'data.options.samples=1000',
        'training.epochs=2',
        `model.architecture=${name}`,
        ...(options[name] ?? []),
      ]);
      expect(loaded.config.model.trunk.map((layer) => layer.type)).toEqual([
        'reshape',
        'conv2d',
        'max-pool',
        'conv2d',
        'flatten',
        'dense',
      ]);
      const losses: number[] = [];
      const before = tf.memory().numTensors;
      const summary = await trainExperiment(loaded, {
        runsDir,
        command: ['test'],
        listeners: [
          {
            onEpochEnd: (record) =>
              void losses.push((record.trainLoss['left'] ?? NaN) + (record.trainLoss['right'] ?? NaN)),
          },
        ],
      });
      expect(summary.status).toBe('completed');
      expect(losses).toHaveLength(2);
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(losses[1]).toBeLessThan(losses[0]!);
      expect(summary.test['mean/accuracy']).toBeGreaterThan(0.2); // chance is 0.1
      expect(tf.memory().numTensors).toBe(before);
      const evaluation = await evaluateRun(summary.dir, { split: 'test' });
      for (const [key, value] of Object.entries(summary.test)) expect(evaluation.metrics[key], key).toBe(value);
    },
  );
});
