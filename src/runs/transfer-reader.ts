import { existsSync } from 'node:fs';
import type { MetricTransfer, TaskTransfer, TransferReport } from '../analysis/types.js';
import { JsonFields } from './json.js';
import { runFile } from './layout.js';

/**
 * A run's transfer.json (written where the run was trained with single-task baselines), read and checked; undefined
 * when the run has none. A gain that JSON holds as null (undefined: a metric missing, or a baseline of 0) reads as
 * null.
 */
export function readTransferReportIfAny(runDir: string): TransferReport | undefined {
  const file = runFile(runDir, 'transfer');
  if (!existsSync(file)) return undefined;
  const fields = JsonFields.read(file);
  const baselineRuns = fields.object('baselineRuns');
  return {
    baseline: fields.oneOf('baseline', ['single-task', 'towers']),
    split: fields.oneOf('split', ['test', 'val']),
    tasks: fields.objects('tasks').map(readTaskTransfer),
    deltaM: numberOrNull(fields, 'deltaM'),
    baselineRuns: Object.fromEntries(Object.keys(baselineRuns.value).map((task) => [task, baselineRuns.string(task)])),
  };
}

function readTaskTransfer(fields: JsonFields): TaskTransfer {
  return {
    task: fields.string('task'),
    metrics: fields.objects('metrics').map(
      (metric): MetricTransfer => ({
        key: metric.string('key'),
        metric: metric.string('metric'),
        higherIsBetter: metric.boolean('higherIsBetter'),
        mtl: metric.numberOrNaN('mtl'),
        single: metric.numberOrNaN('single'),
        relativeGain: numberOrNull(metric, 'relativeGain'),
      }),
    ),
    gain: numberOrNull(fields, 'gain'),
  };
}

function numberOrNull(fields: JsonFields, key: string): number | null {
  return fields.value[key] === null ? null : fields.number(key);
}
