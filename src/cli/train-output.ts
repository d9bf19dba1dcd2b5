import type { TrainOptions } from '../api/train.js';
import type { SubRunEvent, TrainedWithBaselines } from '../api/baselines.js';
import type { BackendChoice, BaselineSetting } from '../config/types.js';
import type { RunSummary } from '../runs/summary.js';
import { labelCountsLine } from './data-report.js';
import { dataReportLines } from './data-report.js';
import { adversarySummaryLines } from './adversary-output.js';
import { formatCount, formatNumber, log } from './output.js';
import { progressListener } from './progress.js';

/** The flags of `mtl train`. */
export type TrainFlags = {
  runsDir?: string;
  json?: boolean;
  set?: string[];
  backend?: BackendChoice;
  quiet?: boolean;
  resume?: string;
  seeds?: string;
  baselines?: BaselineSetting;
};

function isCi(): boolean {
  const ci = process.env['CI'];
  return ci !== undefined && ci !== '' && ci !== '0' && ci !== 'false';
}

/** What `mtl train` tells while a run trains (stderr): the data report, the model, the strategy, the progress. */
export function trainOutput(flags: TrainFlags): TrainOptions {
  const interactive = Boolean(process.stderr.isTTY) && !flags.quiet && !isCi();
  return {
    ...(flags.runsDir ? { runsDir: flags.runsDir } : {}),
    ...(flags.backend ? { backend: flags.backend } : {}),
    listeners: [progressListener({ interactive })],
    onDataPrepared: (report) => {
      for (const line of dataReportLines(report)) log(line);
      for (const warning of report.warnings) log(`warning: ${warning}`);
    },
    onModelBuilt: ({ architecture, parameterCount, backend, strategy }) => {
      const perTask = Object.entries(parameterCount.perTask)
        .map(([t, n]) => `${t} ${formatCount(n)}`)
        .join(', ');
      log(
        `${architecture} on ${backend}: ${formatCount(parameterCount.total)} trainable parameters ` +
          `(shared ${formatCount(parameterCount.shared)}; ${perTask})`,
      );
      const target = strategy.gradTarget === undefined ? '' : ` on ${strategy.gradTarget} gradients`;
      log(`strategy ${strategy.name}${target}`);
      for (const note of strategy.notes ?? []) log(`note: ${note}`);
    },
  };
}

/**
 * A finished run's status line and test metrics (stderr). With `stopped` (its baselines or pair runs did not all
 * train), the line is marked as the multi-task run's: {@link logSubRunsStopped} says what became of the others.
 */
export function logRunResult(summary: RunSummary, stopped?: TrainedWithBaselines['stopped']): void {
  const best = summary.bestEpoch > 0 ? `best epoch ${summary.bestEpoch}` : 'no best epoch';
  // A divergence's reason (the tasks, the remedy, what was kept) is too long for the status line's parentheses.
  const diverged = summary.status === 'diverged' && summary.statusReason !== undefined;
  const reason = summary.statusReason && !diverged ? ` (${summary.statusReason})` : '';
  const subject = stopped && summary.status === 'completed' ? 'multi-task run: ' : '';
  log(
    `${subject}status ${summary.status}${reason}; backend ${summary.backend}; ${summary.epochs} ` +
      `epoch${summary.epochs === 1 ? '' : 's'}, ${best}; ${summary.seconds}s`,
  );
  if (diverged) log(`diverged: ${summary.statusReason}`);
  if (summary.labels && someTaskMasked(summary.labels)) log(labelCountsLine(summary.labels));
  const keys = Object.keys(summary.test).filter((k) => !k.endsWith('/loss'));
  if (keys.length > 0) log(keys.map((k) => `test ${k}=${formatNumber(summary.test[k])}`).join('  '));
  for (const line of adversarySummaryLines(summary)) log(line);
}

/**
 * Why the baselines (or pair runs) stopped, last on stderr. After a completed multi-task run it says that run is
 * complete and how to train the rest, so the status line above is not read as the baselines' status.
 */
export function logSubRunsStopped(summary: RunSummary, stopped: NonNullable<TrainedWithBaselines['stopped']>): void {
  if (summary.status !== 'completed') {
    log(`baselines: ${stopped.reason}`);
    return;
  }
  log(
    `baselines: ${stopped.reason} (the multi-task run completed; ` +
      `train the rest with: mtl train --resume ${summary.id})`,
  );
}

/** Which baseline or pair run starts (stderr); its own run line and progress follow. */
export function logSubRunStart(event: SubRunEvent): void {
  log(`${event.kind === 'pair' ? 'pair run' : 'baseline'} ${event.index}/${event.count}: ${event.path}`);
}

/** Whether the label counts differ between tasks of a split (some task lacks labels some other task has). */
function someTaskMasked(counts: NonNullable<RunSummary['labels']>): boolean {
  const all = Object.values(counts);
  const first = all[0];
  return all.some((c) => c.train !== first?.train || c.val !== first.val || c.test !== first.test);
}
