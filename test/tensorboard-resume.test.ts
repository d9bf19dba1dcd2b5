/**
 * TensorBoard event files of a resumed run (issue #19): neither duplicated nor lost points. The run writer's rewrite
 * keeps the points of the records it continues from (with their wall times), drops what came after (later epochs,
 * final test metrics, a record cut short by a kill), and the resumed epochs follow in the same file; a run interrupted
 * and resumed ends with the event files of the same run left alone (tags, steps, values).
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readMetricRows, resumeExperiment, trainExperiment } from '../src/index.js';
import { parseConfigText } from '../src/config/load.js';
import { BackgroundTasks } from '../src/runs/atomic.js';
import type { RunMeta } from '../src/runs/meta.js';
import type { EpochRecord } from '../src/runs/records.js';
import { RunWriter } from '../src/runs/writer.js';
import type { TrainListener } from '../src/train/trainer.js';
import { tempDir } from './helpers.js';
import { digitsConfig } from './helpers/configs.js';
import { type ReadEvent, readEventFolder, scalarSeries } from './helpers/tfevents-reader.js';

const META: RunMeta = {
  id: 'tb',
  name: 'tb',
  status: 'running',
  startedAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  seed: 1,
  versions: { mtl: '0', node: 'v20', tfjs: '4' },
  command: [],
  cwd: '/',
  overrides: [],
  epochsCompleted: 0,
};

function record(epoch: number): EpochRecord {
  return {
    epoch,
    learningRate: 0.01 / epoch,
    trainLoss: { a: 1 / epoch, b: 2 / epoch },
    val: { 'a/accuracy': 0.5 + epoch / 10, 'b/accuracy': 0.25 },
    taskWeights: { a: 1.5, b: 0.5 },
    gradientCosines: { 'a|b': -0.25 * epoch },
    adversaries: { domain: { loss: 0.7 / epoch, accuracy: 0.5 + epoch / 100, chance: 0.5 } },
    monitor: { name: 'val/mean/accuracy', value: epoch, improved: true },
    seconds: 0.01,
    samplesPerSecond: 1000,
  };
}

function folders(runDir: string): Record<string, { name: string; events: ReadEvent[] }> {
  const root = path.join(runDir, 'tensorboard');
  return Object.fromEntries(
    readdirSync(root)
      .sort()
      .map((split) => [split, readEventFolder(path.join(root, split))]),
  );
}

describe('the run writer rewrites the event files on resume', () => {
  it('adversaries go to train as adversary/<name>/{loss,accuracy,chance}, beside weights and cosines', async () => {
    const dir = tempDir('mtl-tb-writer-');
    const writer = new RunWriter(dir, META, { tensorboard: true });
    const background = new BackgroundTasks();
    writer.recordEpoch(record(1), background);
    writer.recordEpoch(record(2), background);
    await background.close();
    const series = scalarSeries(folders(dir).train?.events ?? []);
    expect(series['adversary/domain/loss']).toEqual([
      [1, Math.fround(0.7)],
      [2, Math.fround(0.35)],
    ]);
    expect(series['adversary/domain/accuracy']).toEqual([
      [1, Math.fround(0.51)],
      [2, Math.fround(0.52)],
    ]);
    expect(series['adversary/domain/chance']).toEqual([
      [1, 0.5],
      [2, 0.5],
    ]);
    expect(series['weights/a']).toEqual([
      [1, 1.5],
      [2, 1.5],
    ]);
    expect(series['cosine/a|b']).toEqual([
      [1, -0.25],
      [2, -0.5],
    ]);
    expect(series['learning_rate']).toEqual([
      [1, Math.fround(0.01)],
      [2, Math.fround(0.005)],
    ]);
    expect(series['a/loss']).toEqual([
      [1, 1],
      [2, 0.5],
    ]);
  });

  it('keeps the checkpointed epochs and their wall times; drops later epochs, test metrics, a cut record', () => {
    const dir = tempDir('mtl-tb-writer-');
    const before = new RunWriter(dir, META, { tensorboard: true });
    for (const epoch of [1, 2, 3]) before.recordEpoch(record(epoch));
    before.recordFinal('test', 2, { 'a/accuracy': 0.75 });
    const old = folders(dir);
    expect(Object.keys(old)).toEqual(['test', 'train', 'val']);
    // A kill in the middle of an append leaves half a record at the end.
    appendFileSync(path.join(dir, 'tensorboard', 'train', old.train?.name ?? ''), Buffer.from([40, 0, 0, 0, 0]));

    // And a rewrite killed before it removed the folder it replaced left that folder beside it.
    mkdirSync(path.join(dir, 'tensorboard.0badc0de.old', 'train'), { recursive: true });

    const resumed = new RunWriter(dir, META, { tensorboard: true });
    resumed.rewriteLogs([record(1), record(2)]);
    const kept = folders(dir);
    expect(Object.keys(kept)).toEqual(['train', 'val']);
    for (const split of ['train', 'val'] as const) {
      expect(kept[split]?.name).toBe(old[split]?.name);
      expect(kept[split]?.events).toEqual(old[split]?.events.slice(0, 3)); // file_version, epochs 1 and 2
    }
    // The resumed epochs follow in the same files; the final test metrics get a file of their own again.
    resumed.recordEpoch(record(3));
    resumed.recordFinal('test', 3, { 'a/accuracy': 0.8 });
    const after = folders(dir);
    expect(after.train?.events.map((e) => e.step)).toEqual([0, 1, 2, 3]);
    expect(scalarSeries(after.val?.events ?? [])).toEqual(scalarSeries(old.val?.events ?? []));
    expect(scalarSeries(after.test?.events ?? [])).toEqual({ 'a/accuracy': [[3, Math.fround(0.8)]] });
    expect(readdirSync(dir).filter((name) => name.startsWith('tensorboard'))).toEqual(['tensorboard']);
  });

  it('without tensorboard, a rewrite touches no event file', () => {
    const dir = tempDir('mtl-tb-writer-');
    const writer = new RunWriter(dir, META);
    writer.recordEpoch(record(1));
    writer.rewriteLogs([record(1)]);
    expect(existsSync(path.join(dir, 'tensorboard'))).toBe(false);
  });
});

const CONFIG = `${digitsConfig({
  name: 'tb-resume',
  seed: 11,
  samples: 300,
  trunk: ['{ type: dense, units: 8, activation: relu }'],
  training: { batch_size: 32, epochs: 4, lr: 0.01 },
})}strategy: { name: pcgrad }\n`;

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

describe('a resumed run', () => {
  it('ends with the event files of an uninterrupted run (tags, steps, values), none duplicated or lost', async () => {
    const runsDir = tempDir('mtl-tb-resume-');
    const alone = await trainExperiment(parseConfigText(CONFIG), { runsDir });
    const { signal, listener } = interruptAt(2, 3);
    const stopped = await trainExperiment(parseConfigText(CONFIG), { runsDir, signal, listeners: [listener] });
    expect(stopped.status).toBe('interrupted');
    // Interrupted in its third epoch, the run logged that epoch's partial losses too (as metrics.jsonl does): the
    // resume must replace them, not add a second point at step 3.
    expect(folders(stopped.dir).train?.events.map((e) => e.step)).toEqual([0, 1, 2, 3]);
    expect(
      readMetricRows(stopped.dir)
        .filter((r) => r.split === 'train')
        .map((r) => r.epoch),
    ).toEqual([1, 2, 3]);
    const resumed = await resumeExperiment(stopped.id, { runsDir });
    expect(resumed.status).toBe('completed');
    const expected = folders(alone.dir);
    const got = folders(resumed.dir);
    expect(Object.keys(got)).toEqual(['test', 'train', 'val']);
    for (const split of ['train', 'val', 'test']) {
      const steps = (events: ReadEvent[] | undefined): number[] => (events ?? []).map((e) => e.step);
      expect(steps(got[split]?.events)).toEqual(steps(expected[split]?.events));
      expect(scalarSeries(got[split]?.events ?? [])).toEqual(scalarSeries(expected[split]?.events ?? []));
    }
    expect(got.train?.events.map((e) => e.step)).toEqual([0, 1, 2, 3, 4]);
  }, 60_000);
});
