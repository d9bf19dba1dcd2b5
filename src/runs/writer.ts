import path from 'node:path';
import type { EpochRecord } from '../train/trainer.js';
import { higherIsBetter } from '../train/evaluate.js';
import { writeFileAtomic, writeJsonAtomic } from './atomic.js';
import type { RunMeta } from './meta.js';

export interface MetricRow {
  epoch: number;
  split: 'train' | 'val' | 'test';
  metrics: Record<string, number>;
}

/**
 * Writes a run's files. Every write replaces the whole file atomically (the files are small), so a reader or a kill
 * never sees half a line.
 */
export class RunWriter {
  private readonly rows: MetricRow[] = [];
  private readonly epochs: unknown[] = [];
  constructor(
    readonly dir: string,
    public meta: RunMeta,
  ) {}

  updateMeta(patch: Partial<RunMeta>): void {
    this.meta = { ...this.meta, ...patch, updatedAt: new Date().toISOString() };
    writeJsonAtomic(path.join(this.dir, 'meta.json'), this.meta);
  }

  recordEpoch(record: EpochRecord): void {
    this.rows.push({ epoch: record.epoch, split: 'train', metrics: prefixed(record.trainLoss, 'loss') });
    if (Object.keys(record.val).length > 0) this.rows.push({ epoch: record.epoch, split: 'val', metrics: record.val });
    this.epochs.push({
      epoch: record.epoch,
      learningRate: record.learningRate,
      taskWeights: record.taskWeights,
      ...(record.gradientCosines ? { gradientCosines: record.gradientCosines } : {}),
      monitor: record.monitor,
      seconds: round(record.seconds),
      samplesPerSecond: round(record.samplesPerSecond),
    });
    this.flush();
  }

  recordFinal(split: 'test' | 'val' | 'train', epoch: number, metrics: Record<string, number>): void {
    this.rows.push({ epoch, split, metrics });
    this.flush();
  }

  private flush(): void {
    writeFileAtomic(path.join(this.dir, 'metrics.jsonl'), this.rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    writeFileAtomic(path.join(this.dir, 'metrics.csv'), toCsv(this.rows));
    writeFileAtomic(path.join(this.dir, 'epochs.jsonl'), this.epochs.map((e) => JSON.stringify(e)).join('\n') + '\n');
  }
}

function prefixed(perTask: Record<string, number>, metric: string): Record<string, number> {
  const out: Record<string, number> = {};
  let sum = 0;
  for (const [task, value] of Object.entries(perTask)) {
    out[`${task}/${metric}`] = value;
    sum += value;
  }
  out[`mean/${metric}`] = sum / Math.max(1, Object.keys(perTask).length);
  return out;
}

/** Long format, one value per line: easy to load in pandas or a spreadsheet. */
function toCsv(rows: readonly MetricRow[]): string {
  const lines = ['epoch,split,task,metric,value,higher_is_better'];
  for (const row of rows) {
    for (const [key, value] of Object.entries(row.metrics)) {
      const slash = key.lastIndexOf('/');
      lines.push(`${row.epoch},${row.split},${key.slice(0, slash)},${key.slice(slash + 1)},${value},${higherIsBetter(key)}`);
    }
  }
  return lines.join('\n') + '\n';
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
