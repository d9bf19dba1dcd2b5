/**
 * `mtl train --resume` continues a run exactly: a run interrupted mid-epoch (or at an epoch's end) and resumed ends
 * with the final metrics, best epoch and per-epoch logs of the same run left alone, bit for bit, on wasm. One case
 * per strategy family (loss weightings incl. RLW's random weights and FAMO's learned logits and pending Δ, a gradient
 * method, MTAdam's own moments) and an architecture with dropout and batch-norm.
 */
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/config/load.js';
import { listRuns, readEpochLog, readMeta, readMetricRows, resumeExperiment, trainExperiment } from '../src/index.js';
import type { TrainListener } from '../src/train/trainer.js';
import { tempDir } from './helpers.js';
import { digitsConfig } from './helpers/configs.js';

const DENSE = ['{ type: dense, units: 16, activation: relu }'];
const DROPOUT_BATCH_NORM = [
  '{ type: dense, units: 16, activation: relu }',
  '{ type: dropout, rate: 0.2 }',
  '{ type: batch-norm }',
];

function config(strategy: string, trunk = DENSE, training: Record<string, string | number> = {}): string {
  const base = digitsConfig({
    name: 'resume',
    seed: 7,
    samples: 360,
    trunk,
    training: { lr: 0.01, batch_size: 32, epochs: 4, early_stopping: '{ metric: mean/accuracy }', ...training },
  });
  return `${base}strategy: ${strategy}\n`;
}

/** Aborts the run after batch `batch` (1-based) of epoch `epoch` (0-based). */
function interruptAt(epoch: number, batch: number): { signal: AbortSignal; listener: TrainListener } {
  const controller = new AbortController();
  return {
    signal: controller.signal,
    listener: {
      onBatch: (info) => {
        if (info.epoch === epoch && info.batch === batch) controller.abort();
      },
    },
  };
}

/** The logs without their timings. */
function logs(dir: string): unknown {
  const epochs = readEpochLog(dir).map(({ seconds: _s, samplesPerSecond: _r, ...rest }) => rest);
  return { rows: readMetricRows(dir), epochs };
}

async function expectExactResume(text: string, at: { epoch: number; batch: number }): Promise<void> {
  const runsDir = tempDir('mtl-resume-');
  const alone = await trainExperiment(parseConfigText(text), { runsDir });
  const { signal, listener } = interruptAt(at.epoch, at.batch);
  const stopped = await trainExperiment(parseConfigText(text), { runsDir, signal, listeners: [listener] });
  expect(stopped.status).toBe('interrupted');
  const resumed = await resumeExperiment(stopped.id, { runsDir });
  expect(resumed.status).toBe(alone.status);
  expect(resumed.epochs).toBe(alone.epochs);
  expect(resumed.bestEpoch).toBe(alone.bestEpoch);
  expect(resumed.test).toEqual(alone.test);
  expect(resumed.val).toEqual(alone.val);
  expect(logs(resumed.dir)).toEqual(logs(alone.dir));
  const meta = readMeta(resumed.dir);
  expect(meta.resumes).toHaveLength(1);
  expect(meta.resumes?.[0]).toMatchObject({ epoch: at.epoch, batch: at.batch, from: 'interrupted' });
}

describe('mtl train --resume continues exactly', () => {
  it.each([
    ['equal, dropout and batch-norm, mid-epoch', config('{ name: equal }', DROPOUT_BATCH_NORM), 1, 4],
    ['rlw (random weights from the trainer generator)', config('{ name: rlw }'), 1, 5],
    ['famo (learned logits, Δ after the step)', config('{ name: famo }'), 2, 3],
    ['uncertainty (strategy variables with Adam slots)', config('{ name: uncertainty }'), 0, 7],
    ['pcgrad (a gradient method)', config('{ name: pcgrad }', DROPOUT_BATCH_NORM), 1, 2],
    [
      'pcgrad with affinity (conflict and affinity sums mid-epoch)',
      config('{ name: pcgrad }\nanalysis: { affinity: true, affinity_every: 2 }', DROPOUT_BATCH_NORM),
      1,
      3,
    ],
    ['mtadam (its own moments, sgd)', config('{ name: mtadam }', DENSE, { optimizer: 'sgd', lr: 0.05 }), 1, 6],
  ])('%s', async (_name, text, epoch, batch) => {
    await expectExactResume(text, { epoch, batch });
  });

  it('at the last batch of an epoch, the epoch is finished on resume', async () => {
    // 360 composites → 252 training rows → 8 batches of 32.
    await expectExactResume(config('{ name: dwa }', DROPOUT_BATCH_NORM), { epoch: 1, batch: 8 });
  });

  it("the divergence rule's scale and count go on: a run about to diverge diverges the same when resumed", async () => {
    // lr 3 with sgd explodes from the first epoch on; patience 2 ends it in the second. The run fails at the start of
    // the second (a listener throws), so it resumes from the first epoch's checkpoint, which must carry the first
    // batch's losses as the scale and the first epoch's count.
    const text = config('{ name: equal }', DENSE, {
      lr: 3,
      optimizer: 'sgd',
      divergence: '{ factor: 3, patience: 2 }',
    });
    const runsDir = tempDir('mtl-resume-');
    const alone = await trainExperiment(parseConfigText(text), { runsDir });
    expect(alone.status).toBe('diverged');
    const failing: TrainListener = {
      onBatch: (info) => {
        if (info.epoch === 1 && info.batch === 1) throw new Error('stopped from outside');
      },
    };
    await expect(trainExperiment(parseConfigText(text), { runsDir, listeners: [failing] })).rejects.toThrow();
    const stopped = listRuns(runsDir).find((run) => run.status === 'failed');
    if (!stopped) throw new Error('no failed run');
    const resumed = await resumeExperiment(stopped.id, { runsDir });
    expect(resumed.status).toBe('diverged');
    expect(resumed.statusReason).toBe(alone.statusReason);
    expect(resumed.epochs).toBe(alone.epochs);
  });
});
