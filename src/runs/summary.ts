import { existsSync } from 'node:fs';
import { UsageError } from '../errors.js';
import type { MetricValues } from '../metrics/types.js';
import { writeJsonAtomic } from './atomic.js';
import { JsonFields } from './json.js';
import { adversaryRecords } from './logs.js';
import { runFile, type CheckpointName } from './layout.js';
import { readParameterCount, RUN_STATUSES, type ParameterCount, type RunStatus } from './meta.js';

/** A finished run's final metrics and facts: summary.json, written once at the end of `mtl train`. */
export interface RunSummary {
  id: string;
  name: string;
  dir: string;
  status: RunStatus;
  statusReason?: string;
  backend: string;
  epochs: number;
  bestEpoch: number;
  /** Which checkpoint the final metrics come from; none for a run that diverged before any good epoch. */
  checkpoint?: CheckpointName;
  /** Final metrics. A non-finite value (a diverged run) is stored as null and reads back as NaN. */
  test: MetricValues;
  val: MetricValues;
  /** For every metric key: whether higher is better. */
  directions: Record<string, boolean>;
  parameterCount: ParameterCount;
  seconds: number;
  /**
   * Under `data.missing_targets: mask` (data/labels.ts): per task, the rows of each split that have its label, i.e.
   * the rows its training loss and metrics read (after `max_train_rows`). Absent in runs that dropped such rows.
   */
  labels?: Record<string, Record<'train' | 'val' | 'test', number>>;
  /**
   * Adversaries (adversarial tasks, the domain discriminator; issue #18) on the final checkpoint, per split: loss,
   * accuracy and chance (the majority rate of their targets). Not in `test`/`val`, so no aggregate or Δm counts them.
   */
  adversaries?: { val: Record<string, AdversaryRecord>; test: Record<string, AdversaryRecord> };
  /**
   * Domain-adversarial runs (`data.domains`): the main tasks' metrics on the target domain's rows of each split.
   */
  targetDomain?: { domain: string; val: MetricValues; test: MetricValues };
}

/** An adversary's loss, accuracy and chance rate (EpochRecord.adversaries has the same per epoch). */
export interface AdversaryRecord {
  loss: number;
  accuracy: number;
  chance: number;
}

export function writeSummary(runDir: string, summary: RunSummary): void {
  writeJsonAtomic(runFile(runDir, 'summary'), summary);
}

/** Reads a run's summary.json; a run without one (still running, or failed before the end) is a UsageError. */
export function readSummary(runDir: string, id: string): RunSummary {
  const summary = readSummaryIfAny(runDir);
  if (!summary) {
    throw new UsageError(
      `Run ${id} has no summary yet (${runFile(runDir, 'summary')} is missing): it is still running, or it ended ` +
        `before its final evaluation.`,
      ["`mtl runs` shows each run's status; compare finished runs, or evaluate a checkpoint with `mtl eval`"],
    );
  }
  return summary;
}

/** A run's summary.json, or undefined when there is none yet. */
export function readSummaryIfAny(runDir: string): RunSummary | undefined {
  const file = runFile(runDir, 'summary');
  if (!existsSync(file)) return undefined;
  const fields = JsonFields.read(file);
  return {
    id: fields.string('id'),
    name: fields.string('name'),
    dir: fields.string('dir'),
    status: fields.oneOf('status', RUN_STATUSES),
    statusReason: fields.optionalString('statusReason'),
    backend: fields.string('backend'),
    epochs: fields.number('epochs'),
    bestEpoch: fields.number('bestEpoch'),
    ...(fields.has('checkpoint') ? { checkpoint: fields.oneOf<CheckpointName>('checkpoint', ['best', 'last']) } : {}),
    test: fields.metricValues('test'),
    val: fields.metricValues('val'),
    directions: fields.object('directions').booleanValues(),
    parameterCount: readParameterCount(fields.object('parameterCount')),
    seconds: fields.number('seconds'),
    ...(fields.has('labels') ? { labels: readLabelCounts(fields.object('labels')) } : {}),
    ...(fields.has('adversaries') ? { adversaries: readAdversaries(fields.object('adversaries')) } : {}),
    ...(fields.has('targetDomain') ? { targetDomain: readTargetDomain(fields.object('targetDomain')) } : {}),
  };
}

function readLabelCounts(fields: JsonFields): Record<string, Record<'train' | 'val' | 'test', number>> {
  return Object.fromEntries(
    Object.keys(fields.value).map((task) => {
      const counts = fields.object(task);
      return [task, { train: counts.number('train'), val: counts.number('val'), test: counts.number('test') }];
    }),
  );
}

function readAdversaries(fields: JsonFields): NonNullable<RunSummary['adversaries']> {
  return { val: adversaryRecords(fields.object('val')), test: adversaryRecords(fields.object('test')) };
}

function readTargetDomain(fields: JsonFields): NonNullable<RunSummary['targetDomain']> {
  return { domain: fields.string('domain'), val: fields.metricValues('val'), test: fields.metricValues('test') };
}
