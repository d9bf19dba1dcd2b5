import * as fs from 'node:fs';
import { higherIsBetter, metricName, taskName } from '../metrics/direction.js';
import {
  runFsSteps,
  writeFileAtomic,
  writeFileAtomicSteps,
  writeJsonAtomic,
  type BackgroundTasks,
  type FsJob,
} from './atomic.js';
import { runFile } from './layout.js';
import { RUN_FORMAT, type RunMeta, type StoredRunMeta } from './meta.js';
import type { EpochLogEntry, EpochRecord, MetricRow, MetricSplit } from './records.js';
import { epochPoints, TensorBoardLog } from './tensorboard.js';

const CSV_HEADER = 'epoch,split,task,metric,value,higher_is_better\n';

/**
 * Writes a run's files into its (new, empty) directory. `meta.json` is a document and is replaced atomically on every
 * update. The logs (`metrics.jsonl`, `metrics.csv`, `epochs.jsonl`) only ever grow, so each record is appended: whole
 * lines in one `write` per file, bytes already written are never touched again. Rewriting the whole file through a
 * temp file and a rename cost ~0.3–0.8 ms per file and epoch (ext4 flushes a file renamed over another one), an
 * append ~15 µs. During training the appends and meta.json progress can go to a {@link BackgroundTasks} (then settle
 * it before writing here directly again). With `tensorboard`, the same points also go to TensorBoard event files
 * (runs/tensorboard.ts), in the same jobs.
 */
export class RunWriter {
  private csvStarted = false;
  /** Background meta.json writes queued and not yet done. */
  private metaPending = 0;
  meta: StoredRunMeta;
  private readonly tensorboard: TensorBoardLog | undefined;

  /** Nothing is written until the first update or record. */
  constructor(
    readonly dir: string,
    meta: RunMeta,
    options: { tensorboard?: boolean } = {},
  ) {
    this.meta = { format: RUN_FORMAT, ...meta };
    this.tensorboard = options.tensorboard ? new TensorBoardLog(dir) : undefined;
  }

  /** Replaces meta.json now. Not while a background update is pending (settle it first): it would overtake it. */
  updateMeta(patch: Partial<RunMeta>): void {
    if (this.metaPending > 0)
      throw new Error('RunWriter.updateMeta: a background meta.json update is pending; settle it first');
    this.meta = { ...this.meta, ...patch, updatedAt: new Date().toISOString() };
    writeJsonAtomic(this.metaFile(), this.meta);
  }

  /**
   * Replaces meta.json beside training (progress after each epoch: renaming over the old file costs ~0.3–2 ms), in
   * order with `background`'s other jobs; its failures come out of `background`.
   */
  updateMetaInBackground(patch: Partial<RunMeta>, background: BackgroundTasks): void {
    this.meta = { ...this.meta, ...patch, updatedAt: new Date().toISOString() };
    this.metaPending++;
    void background.run(writeFileAtomicSteps(this.metaFile(), `${JSON.stringify(this.meta, null, 2)}\n`)).then(() => {
      this.metaPending--;
    });
  }

  private metaFile(): string {
    return runFile(this.dir, 'meta');
  }

  /** Appends an epoch's rows and record to the logs; with `background`, queued there (in order with its other jobs). */
  recordEpoch(record: EpochRecord, background?: BackgroundTasks): void {
    const rows = epochRows(record);
    this.append(
      [
        ...this.rowSteps(rows),
        { op: 'append', path: runFile(this.dir, 'epochsLog'), data: `${JSON.stringify(epochLogEntry(record))}\n` },
        ...(this.tensorboard?.appendSteps(epochPoints(rows, record)) ?? []),
      ],
      background,
    );
  }

  /**
   * Replaces the logs with those of `records` (each file atomically), for a resumed run: what a killed run had
   * appended after its `last` checkpoint (an epoch, a line cut short, an interrupted epoch's partial record) goes,
   * and the resumed epochs follow as if the run had never stopped.
   */
  rewriteLogs(records: readonly EpochRecord[]): void {
    const rows = records.flatMap(epochRows);
    writeFileAtomic(runFile(this.dir, 'metricsLog'), rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    writeFileAtomic(runFile(this.dir, 'metricsCsv'), CSV_HEADER + csvLines(rows));
    const entries = records.map((r) => `${JSON.stringify(epochLogEntry(r))}\n`).join('');
    writeFileAtomic(runFile(this.dir, 'epochsLog'), entries);
    this.tensorboard?.rewrite(records.flatMap((record) => epochPoints(epochRows(record), record)));
    this.csvStarted = true;
  }

  /** Appends final metrics (after training: nothing is queued any more, so at once). */
  recordFinal(split: MetricSplit, epoch: number, metrics: Record<string, number>): void {
    const row: MetricRow = { epoch, split, metrics };
    this.append([...this.rowSteps([row]), ...(this.tensorboard?.appendSteps(epochPoints([row], undefined)) ?? [])]);
  }

  private rowSteps(rows: readonly MetricRow[]): FsJob {
    const csv = (this.csvStarted ? '' : CSV_HEADER) + csvLines(rows);
    this.csvStarted = true;
    return [
      { op: 'append', path: runFile(this.dir, 'metricsLog'), data: rows.map((r) => `${JSON.stringify(r)}\n`).join('') },
      { op: 'append', path: runFile(this.dir, 'metricsCsv'), data: csv },
    ];
  }

  private append(job: FsJob, background?: BackgroundTasks): void {
    if (background) void background.run(job);
    else runFsSteps(job, fs);
  }
}

function epochRows(record: EpochRecord): MetricRow[] {
  const rows: MetricRow[] = [{ epoch: record.epoch, split: 'train', metrics: prefixed(record.trainLoss, 'loss') }];
  if (Object.keys(record.val).length > 0) rows.push({ epoch: record.epoch, split: 'val', metrics: record.val });
  return rows;
}

function epochLogEntry(record: EpochRecord): EpochLogEntry {
  return {
    epoch: record.epoch,
    learningRate: record.learningRate,
    taskWeights: record.taskWeights,
    ...(record.gradientCosines ? { gradientCosines: record.gradientCosines } : {}),
    ...(record.gradientConflicts ? { gradientConflicts: record.gradientConflicts } : {}),
    ...(record.gradientSteps !== undefined ? { gradientSteps: record.gradientSteps } : {}),
    ...(record.taskAffinity ? { taskAffinity: record.taskAffinity, affinitySteps: record.affinitySteps ?? 0 } : {}),
    ...(record.adversaries ? { adversaries: record.adversaries } : {}),
    monitor: record.monitor,
    seconds: round(record.seconds),
    samplesPerSecond: round(record.samplesPerSecond),
  };
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
function csvLines(rows: readonly MetricRow[]): string {
  let out = '';
  for (const row of rows) {
    for (const [key, value] of Object.entries(row.metrics)) {
      out += `${row.epoch},${row.split},${taskName(key)},${metricName(key)},${value},${higherIsBetter(key)}\n`;
    }
  }
  return out;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
