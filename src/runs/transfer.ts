import { existsSync } from 'node:fs';
import type { MetricTransfer, PairTransfer, TaskTransfer, TransferReport, TransferVerdict } from '../analysis/types.js';
import { writeJsonAtomic } from './atomic.js';
import { JsonFields } from './json.js';
import { runFile } from './layout.js';

const VERDICTS: readonly TransferVerdict[] = [
  'negative-transfer',
  'negative-transfer-unconfirmed',
  'positive',
  'no-difference',
];

/** Writes transfer.json (replaced atomically): a non-finite value is stored as null. */
export function writeTransfer(runDir: string, report: TransferReport): void {
  writeJsonAtomic(runFile(runDir, 'transfer'), report);
}

/** A run's transfer.json, checked field by field, or undefined when the run has none (trained without baselines). */
export function readTransferIfAny(runDir: string): TransferReport | undefined {
  const file = runFile(runDir, 'transfer');
  if (!existsSync(file)) return undefined;
  const fields = JsonFields.read(file);
  const pairs = fields.optionalObject('pairs');
  return {
    baseline: fields.oneOf('baseline', ['single-task', 'towers']),
    split: fields.oneOf('split', ['test', 'val']),
    tasks: fields.objects('tasks').map(readTask),
    deltaM: nullableNumber(fields, 'deltaM'),
    baselineRuns: stringValues(fields.object('baselineRuns')),
    ...(fields.has('verdictRule') ? { verdictRule: fields.string('verdictRule') } : {}),
    ...(pairs ? { pairs: readPairs(pairs) } : {}),
  };
}

function readTask(task: JsonFields): TaskTransfer {
  return {
    task: task.string('task'),
    metrics: task.objects('metrics').map(readMetric),
    gain: nullableNumber(task, 'gain'),
    ...(task.has('verdict') ? { verdict: task.oneOf('verdict', VERDICTS) } : {}),
  };
}

function readMetric(metric: JsonFields): MetricTransfer {
  return {
    key: metric.string('key'),
    metric: metric.string('metric'),
    higherIsBetter: metric.boolean('higherIsBetter'),
    mtl: metric.numberOrNaN('mtl'),
    single: metric.numberOrNaN('single'),
    relativeGain: nullableNumber(metric, 'relativeGain'),
  };
}

function readPairs(pairs: JsonFields): PairTransfer {
  const undefinedGains = pairs.optionalObject('undefinedGains');
  return {
    gains: pairs.object('gains').numberValues(),
    runs: stringValues(pairs.object('runs')),
    ...(undefinedGains ? { undefinedGains: stringValues(undefinedGains) } : {}),
    ...(pairs.has('rule') ? { rule: pairs.string('rule') } : {}),
  };
}

/** A number that JSON may hold as null (undefined, or not finite when written). */
function nullableNumber(fields: JsonFields, key: string): number | null {
  const value = fields.numberOrNaN(key);
  return Number.isNaN(value) ? null : value;
}

function stringValues(fields: JsonFields): Record<string, string> {
  return Object.fromEntries(Object.keys(fields.value).map((key) => [key, fields.string(key)]));
}
