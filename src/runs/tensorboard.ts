import * as fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { replaceDirAtomic, type FsJob } from './atomic.js';
import { eventFileName, tensorboardDir } from './layout.js';
import type { EpochRecord, MetricRow, MetricSplit } from './records.js';
import { decodeEventRecords, encodeEventRecords, EVENT_FILE_VERSION, type TensorBoardEvent } from './tfevents.js';

/**
 * A run's TensorBoard event files (runs/tfevents.ts), so that `tensorboard --logdir runs/` shows every run: one folder
 * per split under `tensorboard/`, step = epoch, scalars
 *
 * - `train/`: the rows of metrics.jsonl's train split (`<task>/loss`, `mean/loss`), and from the epoch's record
 *   `learning_rate`, `weights/<task>` (task weights), `cosine/<a>|<b>` (mean gradient cosine, for strategies that take
 *   task gradients) and `adversary/<name>/{loss,accuracy,chance}` (adversarial MTL);
 * - `val/`: every validation metric (metrics.jsonl's val rows);
 * - `test/`: the final test metrics, at the best epoch (metrics.jsonl's test row).
 *
 * Each record of an epoch is appended with the run's other logs (beside training, in the background worker): a few
 * hundred bytes. A resumed run replaces the whole folder at once with the points of the records it continues from.
 */
export class TensorBoardLog {
  /** Each split's event file, once its first event is written. */
  private readonly files = new Map<MetricSplit, string>();
  private readonly host = os.hostname().replace(/[^A-Za-z0-9._-]/g, '_') || 'localhost';

  constructor(
    readonly runDir: string,
    /** Seconds since the epoch (an event's wall time). */
    private readonly clock: () => number = () => Date.now() / 1000,
  ) {}

  /** The steps that append `points` (each to its split's file, made with its file-version event on first use). */
  appendSteps(points: readonly ScalarPoint[]): FsJob {
    const wallTime = this.clock();
    const job: FsJob = [];
    for (const point of points) {
      if (Object.keys(point.scalars).length === 0) continue;
      const event: TensorBoardEvent = { wallTime, step: point.step, scalars: point.scalars };
      const file = this.files.get(point.split);
      if (file) {
        job.push({ op: 'append', path: file, data: encodeEventRecords([event]) });
        continue;
      }
      const folder = path.join(tensorboardDir(this.runDir), point.split);
      const created = path.join(folder, eventFileName(wallTime, this.host));
      this.files.set(point.split, created);
      const header: TensorBoardEvent = { wallTime, step: 0, fileVersion: EVENT_FILE_VERSION };
      job.push(
        { op: 'mkdir', path: folder },
        { op: 'append', path: created, data: encodeEventRecords([header, event]) },
      );
    }
    return job;
  }

  /**
   * Replaces `tensorboard/` with the events of `points` (atomically: a crash leaves the old folder or the new one), for
   * a resumed run: what the stopped run had written after its checkpoint goes (later epochs, final test metrics), the
   * resumed epochs follow in the same files. Wall times are kept from the old files where they have the step (the
   * time axis stays true), else now.
   */
  rewrite(points: readonly ScalarPoint[]): void {
    const folder = tensorboardDir(this.runDir);
    const now = this.clock();
    const files: Record<string, Uint8Array> = {};
    this.files.clear();
    for (const split of SPLITS) {
      const mine = points.filter((p) => p.split === split && Object.keys(p.scalars).length > 0);
      if (mine.length === 0) continue;
      const old = readOldEvents(path.join(folder, split));
      const events: TensorBoardEvent[] = mine.map((p) => ({
        wallTime: old.wallTimes.get(p.step) ?? now,
        step: p.step,
        scalars: p.scalars,
      }));
      const start = Math.min(old.startedAt ?? now, ...events.map((e) => e.wallTime));
      const name = eventFileName(start, this.host);
      files[`${split}/${name}`] = encodeEventRecords([
        { wallTime: start, step: 0, fileVersion: EVENT_FILE_VERSION },
        ...events,
      ]);
      this.files.set(split, path.join(folder, split, name));
    }
    removeLeftovers(this.runDir);
    replaceDirAtomic(folder, files, { folders: [...this.files.keys()] });
  }
}

/** One split's scalars at a step. */
export interface ScalarPoint {
  split: MetricSplit;
  step: number;
  scalars: Readonly<Record<string, number>>;
}

const SPLITS: readonly MetricSplit[] = ['train', 'val', 'test'];

/** Whether a run writes TensorBoard event files: `logging.tensorboard`, on unless set to false. */
export function writesTensorBoard(config: { logging?: { tensorboard?: boolean } }): boolean {
  return config.logging?.tensorboard !== false;
}

/** The points of metrics.jsonl rows; an epoch's train row gets its record's training facts added. */
export function epochPoints(rows: readonly MetricRow[], record: EpochRecord | undefined): ScalarPoint[] {
  return rows.map((row) => ({
    split: row.split,
    step: row.epoch,
    scalars: row.split === 'train' && record ? { ...row.metrics, ...trainingScalars(record) } : row.metrics,
  }));
}

function trainingScalars(record: EpochRecord): Record<string, number> {
  const out: Record<string, number> = { learning_rate: record.learningRate };
  for (const [task, weight] of Object.entries(record.taskWeights)) out[`weights/${task}`] = weight;
  for (const [pair, cosine] of Object.entries(record.gradientCosines ?? {})) out[`cosine/${pair}`] = cosine;
  for (const [name, adversary] of Object.entries(record.adversaries ?? {})) {
    out[`adversary/${name}/loss`] = adversary.loss;
    out[`adversary/${name}/accuracy`] = adversary.accuracy;
    out[`adversary/${name}/chance`] = adversary.chance;
  }
  return out;
}

/**
 * Removes the temp and `.old` folders that a rewrite killed midway left beside `tensorboard/` (replaceDirAtomic's
 * `tensorboard.<hex>.tmp|old`): TensorBoard walks every folder under its logdir and would show them as runs.
 */
function removeLeftovers(runDir: string): void {
  const leftover = new RegExp(`^${path.basename(tensorboardDir(runDir))}\\.[0-9a-f]+\\.(tmp|old)$`);
  let names: string[];
  try {
    names = fs.readdirSync(runDir);
  } catch {
    return;
  }
  for (const name of names)
    if (leftover.test(name)) fs.rmSync(path.join(runDir, name), { recursive: true, force: true });
}

/** The wall times of a split's old events by step, and of its file-version event; nothing where none can be read. */
function readOldEvents(folder: string): { wallTimes: Map<number, number>; startedAt?: number } {
  const wallTimes = new Map<number, number>();
  let startedAt: number | undefined;
  let names: string[];
  try {
    names = fs.readdirSync(folder).filter((name) => name.includes('tfevents'));
  } catch {
    return { wallTimes };
  }
  for (const name of names.sort()) {
    let bytes: Uint8Array;
    try {
      bytes = fs.readFileSync(path.join(folder, name));
    } catch {
      continue;
    }
    for (const event of decodeEventRecords(bytes)) {
      if ('fileVersion' in event) startedAt ??= event.wallTime;
      else wallTimes.set(event.step, event.wallTime);
    }
  }
  return startedAt === undefined ? { wallTimes } : { wallTimes, startedAt };
}
