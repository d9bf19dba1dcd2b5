import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { trainExperiment } from '../src/api/train.js';
import { loadConfig, parseConfigText } from '../src/config/load.js';
import type { TrainingConfig } from '../src/config/types.js';
import { MtlError } from '../src/errors.js';
import { DivergenceWatch } from '../src/train/divergence.js';
import { tempDir } from './helpers.js';
import { digitsConfig } from './helpers/configs.js';

/** A run of 600 composites; `training` adds or replaces training fields. */
function smallRun(training: Record<string, string | number>): string {
  return digitsConfig({
    name: 'div',
    seed: 3,
    samples: 600,
    trunk: ['{ type: dense, units: 32, activation: relu }'],
    training: { lr: 0.002, batch_size: 32, epochs: 4, ...training },
  });
}

/** The checkpoint folders a run kept. */
function checkpoints(runDir: string): string[] {
  const dir = path.join(runDir, 'checkpoints');
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** The whole text a config error shows (its problems are details under the first line). */
function configProblem(text: string): string {
  try {
    parseConfigText(text);
  } catch (error) {
    if (error instanceof MtlError) return error.format();
  }
  return 'valid';
}

const TASKS = [{ name: 'a' }, { name: 'b' }];
const TRAINING: Pick<TrainingConfig, 'lr' | 'grad_clip_norm'> = { lr: 0.5, grad_clip_norm: 0 };

describe('the divergence rule (training.divergence)', () => {
  it('ends the run at a non-finite task loss, naming the task and a remedy', () => {
    const watch = new DivergenceWatch(TASKS, { factor: 100, patience: 3 });
    watch.setInitialLosses([2, 1]);
    expect(watch.check(1, { a: 1.5, b: 0.8 }, TRAINING)).toEqual({ kind: 'ok' });
    const verdict = watch.check(2, { a: 1.2, b: NaN }, TRAINING);
    expect(verdict).toEqual({
      kind: 'diverged',
      reason:
        'task b: training loss became NaN in epoch 2; lower training.lr (now 0.5) or set training.grad_clip_norm ' +
        '(e.g. 1)',
    });
  });

  it('counts a loss above factor × the initial loss as exploding, and diverged after patience epochs in a row', () => {
    const watch = new DivergenceWatch(TASKS, { factor: 10, patience: 2 });
    watch.setInitialLosses([2, 1]);
    expect(watch.check(1, { a: 25, b: 0.5 }, TRAINING)).toEqual({ kind: 'exploding' });
    expect(watch.check(2, { a: 1, b: 0.5 }, TRAINING)).toEqual({ kind: 'ok' }); // back below: the count restarts
    expect(watch.check(3, { a: 21, b: 0.5 }, TRAINING)).toEqual({ kind: 'exploding' });
    const verdict = watch.check(4, { a: 3e7, b: 0.5 }, { ...TRAINING, grad_clip_norm: 5 });
    expect(verdict).toEqual({
      kind: 'diverged',
      reason:
        'task a: training loss 3.00e+7 in epoch 4, above 20 = training.divergence.factor 10 × its initial loss 2 ' +
        '(above it for 2 epochs in a row, training.divergence.patience 2); lower training.lr (now 0.5) or a smaller ' +
        'training.grad_clip_norm (now 5)',
    });
  });

  it('checks only non-finite losses with factor 0, or for a task whose initial loss gives no scale', () => {
    const off = new DivergenceWatch(TASKS, { factor: 0, patience: 1 });
    off.setInitialLosses([2, 1]);
    expect(off.check(1, { a: 1e30, b: 1e30 }, TRAINING)).toEqual({ kind: 'ok' });
    expect(off.check(2, { a: Infinity, b: 1 }, TRAINING).kind).toBe('diverged');
    const zero = new DivergenceWatch(TASKS, { factor: 100, patience: 1 });
    zero.setInitialLosses([0, 1]);
    expect(zero.check(1, { a: 5, b: 0.5 }, TRAINING)).toEqual({ kind: 'ok' });
  });

  it('keeps its state for a resumed run', () => {
    const watch = new DivergenceWatch(TASKS, { factor: 10, patience: 2 });
    expect(watch.needsInitialLosses).toBe(true);
    watch.setInitialLosses([2, 1]);
    watch.check(1, { a: 25, b: 0.5 }, TRAINING);
    const resumed = new DivergenceWatch(TASKS, { factor: 10, patience: 2 }, watch.state());
    expect(resumed.needsInitialLosses).toBe(false);
    expect(resumed.state()).toEqual({ initialLosses: [2, 1], explodingEpochs: [1, 0] });
    expect(resumed.check(2, { a: 25, b: 0.5 }, TRAINING).kind).toBe('diverged');
  });

  it('rejects a factor that would stop healthy runs, and unknown keys, at validation', () => {
    expect(configProblem(smallRun({ divergence: '{ factor: 0.5 }' }))).toMatch(
      /training\.divergence\.factor: 0\.5 would stop healthy runs .*expected a factor above 1 \(default 100\), or 0/,
    );
    expect(configProblem(smallRun({ divergence: '{ factr: 10 }' }))).toMatch(
      /training\.divergence\.factr: unknown field "factr"; did you mean "factor"\?/,
    );
  });
});

describe('a diverging run (#14 point 6)', () => {
  it('at lr 1e6 with Adam: diverged in epoch 1, tasks and remedy named, no checkpoint of its weights', async () => {
    const runsDir = tempDir();
    const summary = await trainExperiment(parseConfigText(smallRun({ lr: '1.0e+6' })), { runsDir });
    expect(summary.status).toBe('diverged');
    expect(summary.epochs).toBe(1);
    expect(summary.bestEpoch).toBe(-1);
    expect(summary.statusReason).toMatch(/^task left: training loss \S+ in epoch 1, above \S+ = training\.divergence/);
    expect(summary.statusReason).toContain('task right: training loss');
    expect(summary.statusReason).toContain('lower training.lr (now 1000000) or set training.grad_clip_norm (e.g. 1)');
    expect(summary.statusReason).toContain(
      'no epoch before it was good, so there is no checkpoint and no final metrics',
    );
    expect(summary.checkpoint).toBeUndefined();
    expect(summary.test).toEqual({});
    expect(checkpoints(summary.dir)).toEqual([]);
    const meta = JSON.parse(readFileSync(path.join(summary.dir, 'meta.json'), 'utf8'));
    expect(meta).toMatchObject({ status: 'diverged', statusReason: summary.statusReason });
    // The diverged epoch is in the log: its losses show what happened.
    const logged = readFileSync(path.join(summary.dir, 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(JSON.parse(logged[0] ?? '{}')['metrics']['left/loss']).toBeGreaterThan(1e6);
  });

  it('after good epochs: best gives the final metrics; last is from a good epoch, not the diverged one', async () => {
    const runsDir = tempDir();
    // The learning rate jumps ×1e6 (to 2000) at epoch 3.
    const config = smallRun({ epochs: 6, schedule: '{ type: step, step_size: 2, gamma: 1.0e+6 }' });
    const summary = await trainExperiment(parseConfigText(config), { runsDir });
    expect(summary.status).toBe('diverged');
    expect(summary.epochs).toBe(3);
    expect(summary.bestEpoch).toBe(2);
    expect(summary.checkpoint).toBe('best');
    expect(summary.statusReason).toContain('epoch 3');
    expect(summary.statusReason).toContain('final metrics are from the best checkpoint (epoch 2)');
    expect(summary.test['left/accuracy']).toBeGreaterThan(0.3); // trained weights, not the diverged ones (~0.1)
    expect(checkpoints(summary.dir)).toEqual(['best', 'last']);
    // `last` is a good epoch's: epoch 1's (the first epoch always writes it; these epochs are shorter than the second
    // between two epoch-end checkpoints) or epoch 2's; the diverged epoch 3 saved nothing.
    const last = JSON.parse(readFileSync(path.join(summary.dir, 'checkpoints', 'last', 'model.json'), 'utf8'));
    expect([1, 2]).toContain(last.userDefinedMetadata.epoch);
    const best = path.join(summary.dir, 'checkpoints', 'best');
    expect(JSON.parse(readFileSync(path.join(best, 'model.json'), 'utf8'))).toMatchObject({
      userDefinedMetadata: { epoch: 2 },
    });
    // Epoch 2's weights: a step at lr 2000 would have made them thousands.
    const weights = new Float32Array(readFileSync(path.join(best, 'weights.bin')).buffer.slice(0));
    expect(Math.max(...weights.map(Math.abs))).toBeLessThan(50);
  });

  it('a regression task (r² once −1e26 and "completed"): diverged, the task named', async () => {
    const runsDir = tempDir();
    const loaded = loadConfig('configs/reference/parkinsons-updrs.yaml', [
      'backend=wasm',
      'training.epochs=3',
      'training.lr=1e6',
    ]);
    const summary = await trainExperiment(loaded, { runsDir });
    expect(summary.status).toBe('diverged');
    expect(summary.statusReason).toMatch(/task (motor|total)_updrs: training loss/);
  });

  it('with factor 0 an exploding but finite loss runs on (only non-finite losses diverge)', async () => {
    const runsDir = tempDir();
    const off = await trainExperiment(
      parseConfigText(smallRun({ lr: '1.0e+6', epochs: 2, divergence: '{ factor: 0 }' })),
      {
        runsDir,
      },
    );
    expect(off.status).toBe('completed');
    expect(existsSync(path.join(off.dir, 'checkpoints', 'last'))).toBe(true);
  });
});
