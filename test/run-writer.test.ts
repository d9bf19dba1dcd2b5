/**
 * The run writer: appended logs (metrics.jsonl, metrics.csv, epochs.jsonl) hold what whole-file rewrites held, in
 * process and through the background worker; meta.json updates stay in order; a whole run leaves exactly its files.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { trainExperiment } from '../src/api/train.js';
import { parseConfigText } from '../src/config/load.js';
import { BackgroundTasks } from '../src/runs/atomic.js';
import type { RunMeta } from '../src/runs/meta.js';
import { RunWriter } from '../src/runs/writer.js';
import { higherIsBetter } from '../src/metrics/direction.js';
import type { EpochRecord } from '../src/runs/records.js';
import { tempDir } from './helpers.js';
import { smallDigitsConfig } from './helpers/configs.js';
import { FINISHED_RUN_FILES } from './helpers/runs.js';

function record(epoch: number, val: Record<string, number>): EpochRecord {
  return {
    epoch,
    learningRate: 0.001,
    trainLoss: { left: 0.5 / epoch, right: 0.25 / epoch + 1e-9 },
    val,
    taskWeights: { left: 1, right: 1 },
    monitor: { name: 'val/mean/accuracy', value: 0.1 * epoch, improved: epoch % 2 === 1 },
    seconds: 0.1234567,
    samplesPerSecond: 12345.6789,
  };
}

/** The run logs as the writer produced them before: every file rewritten whole from all rows so far. */
function logsBefore(
  records: EpochRecord[],
  final: { split: 'test'; epoch: number; metrics: Record<string, number> },
): Record<string, string> {
  const rows: { epoch: number; split: string; metrics: Record<string, number> }[] = [];
  const epochs: unknown[] = [];
  for (const r of records) {
    const train: Record<string, number> = {};
    let sum = 0;
    for (const [task, value] of Object.entries(r.trainLoss)) {
      train[`${task}/loss`] = value;
      sum += value;
    }
    train['mean/loss'] = sum / Object.keys(r.trainLoss).length;
    rows.push({ epoch: r.epoch, split: 'train', metrics: train });
    if (Object.keys(r.val).length > 0) rows.push({ epoch: r.epoch, split: 'val', metrics: r.val });
    const round = (x: number): number => Math.round(x * 1000) / 1000;
    epochs.push({
      epoch: r.epoch,
      learningRate: r.learningRate,
      taskWeights: r.taskWeights,
      monitor: r.monitor,
      seconds: round(r.seconds),
      samplesPerSecond: round(r.samplesPerSecond),
    });
  }
  rows.push({ epoch: final.epoch, split: final.split, metrics: final.metrics });
  const csv = ['epoch,split,task,metric,value,higher_is_better'];
  for (const row of rows) {
    for (const [key, value] of Object.entries(row.metrics)) {
      const slash = key.lastIndexOf('/');
      csv.push(
        `${row.epoch},${row.split},${key.slice(0, slash)},${key.slice(slash + 1)},${value},${higherIsBetter(key)}`,
      );
    }
  }
  return {
    'metrics.jsonl': `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`,
    'metrics.csv': `${csv.join('\n')}\n`,
    'epochs.jsonl': `${epochs.map((e) => JSON.stringify(e)).join('\n')}\n`,
  };
}

const meta = (id: string): RunMeta => ({
  id,
  name: 'w',
  status: 'running',
  startedAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  seed: 1,
  versions: { mtl: '0', node: 'v', tfjs: '4' },
  command: [],
  cwd: '/',
  overrides: [],
  epochsCompleted: 0,
});

describe('run writer', () => {
  it('appends the logs with the same content the whole-file rewrites had', async () => {
    const dir = tempDir();
    const writer = new RunWriter(dir, meta('a'));
    const val = {
      'left/loss': 0.1,
      'left/accuracy': 0.9,
      'right/loss': 0.2,
      'right/accuracy': 0.8,
      'mean/loss': 0.15,
      'mean/accuracy': 0.85,
    };
    const records = [record(1, val), record(2, {}), record(3, { ...val, 'left/accuracy': 1 / 3 })];
    for (const r of records) writer.recordEpoch(r);
    const final = { split: 'test' as const, epoch: 3, metrics: { 'left/accuracy': 0.7, 'mean/accuracy': 0.7 } };
    writer.recordFinal(final.split, final.epoch, final.metrics);
    for (const [file, text] of Object.entries(logsBefore(records, final)))
      expect(readFileSync(path.join(dir, file), 'utf8'), file).toBe(text);
    expect(readdirSync(dir).sort()).toEqual(['epochs.jsonl', 'metrics.csv', 'metrics.jsonl']);

    // The same through the background worker.
    const dir2 = tempDir();
    const background = new BackgroundTasks();
    const writer2 = new RunWriter(dir2, meta('a2'));
    for (const r of records) writer2.recordEpoch(r, background);
    await background.close();
    writer2.recordFinal(final.split, final.epoch, final.metrics);
    for (const [file, text] of Object.entries(logsBefore(records, final)))
      expect(readFileSync(path.join(dir2, file), 'utf8'), file).toBe(text);
  });

  it('writes meta.json in the background in order, and refuses to overtake pending updates', async () => {
    const dir = tempDir();
    const background = new BackgroundTasks();
    const writer = new RunWriter(dir, meta('b'));
    writer.updateMeta({ epochsCompleted: 0 });
    for (let epoch = 1; epoch <= 5; epoch++) writer.updateMetaInBackground({ epochsCompleted: epoch }, background);
    expect(() => writer.updateMeta({ status: 'completed' })).toThrow(/pending/);
    await background.settle();
    expect(JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8'))).toMatchObject({
      epochsCompleted: 5,
      status: 'running',
    });
    writer.updateMeta({ status: 'completed' });
    expect(JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8'))).toMatchObject({
      epochsCompleted: 5,
      status: 'completed',
    });
    expect(readdirSync(dir)).toEqual(['meta.json']); // no temp files left
    await background.close();
  });
});

describe('a whole run', () => {
  it('leaves exactly the run files, with meta.json final and checkpoints loadable', async () => {
    const runsDir = tempDir();
    const summary = await trainExperiment(parseConfigText(smallDigitsConfig(3)), { runsDir });
    expect(readdirSync(summary.dir).sort()).toEqual(FINISHED_RUN_FILES);
    expect(readdirSync(path.join(summary.dir, 'checkpoints')).sort()).toEqual(['best', 'last']);
    const metaJson = JSON.parse(readFileSync(path.join(summary.dir, 'meta.json'), 'utf8'));
    expect(metaJson).toMatchObject({ status: 'completed', epochsCompleted: 3, bestEpoch: summary.bestEpoch });
    expect(readFileSync(path.join(summary.dir, 'epochs.jsonl'), 'utf8').trim().split('\n')).toHaveLength(3);
    expect(existsSync(path.join(summary.dir, 'checkpoints', 'best', 'weights.bin'))).toBe(true);
  });
});
