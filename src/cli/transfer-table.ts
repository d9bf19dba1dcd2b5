import type { TransferReport } from '../analysis/types.js';
import { formatNumber, formatPercent as formatAnyPercent, table } from './output.js';

/** A percentage; a change that rounds to 0.00 % but is not 0 keeps its sign, as the verdict does (`-<0.01%`). */
function formatPercent(value: number | undefined): string {
  if (value !== undefined && value !== 0 && Math.abs(value) < 0.00005) return `${value < 0 ? '-' : '+'}<0.01%`;
  return formatAnyPercent(value);
}

const UNDEFINED_DELTA_M = 'n/a (a metric is missing, not finite, or 0 in a baseline)';

/**
 * "Did MTL help?": one row per task metric (MTL, baseline, relative gain), the task's gain and verdict on its first
 * row, then Δm; with pairs, the pairwise gains. Lines to print (train: stderr; compare --baseline: stdout).
 */
export function transferLines(report: TransferReport, options: { inSeedGroup?: boolean } = {}): string[] {
  const baselineName = report.baseline === 'towers' ? 'towers' : 'single-task';
  const rows = report.tasks.flatMap((task) =>
    task.metrics.map((metric, i) => [
      i === 0 ? task.task : '',
      `${metric.metric} ${metric.higherIsBetter ? '↑' : '↓'}`,
      formatNumber(metric.mtl),
      formatNumber(metric.single),
      formatPercent(metric.relativeGain ?? undefined),
      i === 0 ? formatPercent(task.gain ?? undefined) : '',
      i === 0 ? (task.verdict ?? 'n/a') : '',
    ]),
  );
  const lines = [
    `Did MTL help? ${report.split} split, MTL against ${baselineName} baselines:`,
    table(['task', 'metric', 'MTL', baselineName, 'relative', 'task gain', 'verdict'], rows),
    `Δm ${report.deltaM === null ? UNDEFINED_DELTA_M : formatPercent(report.deltaM)}`,
  ];
  // In a seed group the group summary confirms or not: the hint to train more seeds would be noise there.
  if (!options.inSeedGroup && report.tasks.some((task) => task.verdict === 'negative-transfer-unconfirmed')) {
    lines.push(
      'One seed cannot confirm negative transfer (it may be seed-to-seed noise): train with --seeds 0,1,2 to ' +
        'confirm it.',
    );
  }
  if (report.pairs) {
    const gains = Object.entries(report.pairs.gains).map(([key, gain]) => {
      const [from, to] = key.split('>');
      return [`${from ?? '?'} → ${to ?? '?'}`, formatPercent(gain)];
    });
    const missing = Object.keys(report.pairs.undefinedGains ?? {}).map((key) => [key.replace('>', ' → '), 'n/a']);
    lines.push('Adding task j to task i (gain of i in the run of {i, j} over its single-task run):');
    lines.push(table(['j → i', 'gain of i'], [...gains, ...missing]));
  }
  return lines;
}
