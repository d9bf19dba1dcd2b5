import { existsSync } from 'node:fs';
import { readJsonLines, type JsonFields } from './json.js';
import { runFile } from './layout.js';
import type { EpochLogEntry, MetricRow } from './records.js';

/**
 * metrics.jsonl, one row per split and epoch in the order written (empty when the run has not finished an epoch).
 * Non-finite values were written as null and read back as NaN.
 */
export function readMetricRows(runDir: string): MetricRow[] {
  const file = runFile(runDir, 'metricsLog');
  if (!existsSync(file)) return [];
  return readJsonLines(file).map((line) => ({
    epoch: line.number('epoch'),
    split: line.oneOf('split', ['train', 'val', 'test']),
    metrics: line.metricValues('metrics'),
  }));
}

/** epochs.jsonl, one entry per epoch trained (empty when none finished). */
export function readEpochLog(runDir: string): EpochLogEntry[] {
  const file = runFile(runDir, 'epochsLog');
  if (!existsSync(file)) return [];
  return readJsonLines(file).map((line): EpochLogEntry => {
    const monitor = line.object('monitor');
    type PairKey = 'gradientCosines' | 'gradientConflicts' | 'taskAffinity';
    const pairs = (key: PairKey): Partial<Record<PairKey, Record<string, number>>> =>
      line.has(key) ? { [key]: line.object(key).numbersOrNaN() } : {};
    const cosines = { ...pairs('gradientCosines'), ...pairs('gradientConflicts'), ...pairs('taskAffinity') };
    const affinitySteps = line.has('affinitySteps') ? { affinitySteps: line.number('affinitySteps') } : {};
    const gradientSteps = line.has('gradientSteps') ? { gradientSteps: line.number('gradientSteps') } : {};
    const adversaries = line.has('adversaries') ? { adversaries: adversaryRecords(line.object('adversaries')) } : {};
    return {
      epoch: line.number('epoch'),
      learningRate: line.number('learningRate'),
      taskWeights: line.object('taskWeights').numbersOrNaN(),
      ...cosines,
      ...gradientSteps,
      ...affinitySteps,
      ...adversaries,
      monitor: {
        name: monitor.string('name'),
        value: monitor.numberOrNaN('value'),
        improved: monitor.boolean('improved'),
      },
      seconds: line.number('seconds'),
      samplesPerSecond: line.numberOrNaN('samplesPerSecond'),
    };
  });
}

/** epochs.jsonl's `adversaries`: per adversary its loss, accuracy and chance rate (null: not finite, read as NaN). */
export function adversaryRecords(
  fields: JsonFields,
): Record<string, { loss: number; accuracy: number; chance: number }> {
  return Object.fromEntries(
    Object.keys(fields.value).map((name) => {
      const entry = fields.object(name);
      const record = {
        loss: entry.numberOrNaN('loss'),
        accuracy: entry.numberOrNaN('accuracy'),
        chance: entry.numberOrNaN('chance'),
      };
      return [name, record];
    }),
  );
}
