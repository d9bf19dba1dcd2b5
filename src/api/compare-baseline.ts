import { existsSync } from 'node:fs';
import path from 'node:path';
import type { BaselineKind, TransferReport } from '../analysis/types.js';
import { transferReport, type SplitMetrics } from '../analysis/transfer.js';
import { UsageError } from '../errors.js';
import { metricName } from '../metrics/direction.js';
import { readResolvedConfig } from '../runs/inputs.js';
import { runFile, subRunPath } from '../runs/layout.js';
import { openRun, resolveRunsDir } from '../runs/store.js';
import { readSummary, readSummaryIfAny, type RunSummary } from '../runs/summary.js';

export interface BaselineCompareOptions {
  runsDir?: string;
  split?: 'test' | 'val';
  /** Only this metric name (e.g. `accuracy`), across tasks. */
  metric?: string;
}

/** `mtl compare RUN --baseline KIND`: the run against the baselines trained with it. */
export interface BaselineComparison extends TransferReport {
  /** The multi-task run's id and folder. */
  run: string;
  dir: string;
}

/**
 * A multi-task run against its own baselines (`baselines/<task>` or `baselines/towers`, trained by `mtl train
 * --baselines`), computed now from the summaries on `split` by analysis/transfer.ts: the numbers transfer.json holds
 * for the split it was written on. A run without them is a UsageError saying how to train them.
 */
export function compareWithBaseline(
  reference: string,
  baseline: BaselineKind,
  options: BaselineCompareOptions = {},
): BaselineComparison {
  const split = options.split ?? 'test';
  const { id, dir } = openRun(reference, resolveRunsDir(options.runsDir));
  const summary = readSummary(dir, id);
  const tasks = readResolvedConfig(dir).tasks.map((task) => task.name);
  const folders = baseline === 'towers' ? ['towers'] : tasks;
  const found = baselineStates(dir, baseline, tasks);
  if (found.every((entry) => !entry.started)) {
    throw new UsageError(
      `Run ${id} has no ${baseline} baseline${baseline === 'towers' ? '' : 's'} ` +
        `(no ${runFile(baselineDir(dir, folders[0] ?? baseline), 'summary')}).`,
      [`train the run with them: mtl train CONFIG --baselines ${baseline}`],
    );
  }
  // A task named "towers" has its single-task baseline where a towers baseline would be: tell them apart by tasks.
  for (const entry of found.filter((candidate) => candidate.started)) {
    const held = readResolvedConfig(baselineDir(dir, entry.folder)).tasks.map((task) => task.name);
    const expected = baseline === 'towers' ? tasks : [entry.folder];
    if (held.join('\n') !== expected.join('\n')) {
      throw new UsageError(
        `Run ${id} has no ${baseline} baseline at ${subRunPath('baselines', entry.folder)}: that run trained ` +
          `task${held.length === 1 ? '' : 's'} ${held.join(', ')}, not ${expected.join(', ')}.`,
        [`compare with the baselines it has: mtl compare ${id} --baseline ${otherKind(baseline)}`],
      );
    }
  }
  // An interrupted baseline has a summary, of a shorter training: it is no baseline to judge MTL by.
  const incomplete = found.filter((entry) => entry.summary?.status !== 'completed').map((entry) => entry.folder);
  if (incomplete.length > 0) {
    throw new UsageError(
      `Run ${id} lacks the ${baseline} baseline${incomplete.length === 1 ? '' : 's'} ` +
        `${incomplete.map((folder) => subRunPath('baselines', folder)).join(', ')}: not trained, or not completed ` +
        '(interrupted or failed).',
      [`complete them: mtl train --resume ${id}`],
    );
  }
  const only = (metrics: SplitMetrics): SplitMetrics =>
    options.metric === undefined
      ? metrics
      : Object.fromEntries(Object.entries(metrics).filter(([key]) => metricName(key) === options.metric));
  const baselines: Record<string, SplitMetrics> = {};
  const baselineRuns: Record<string, string> = {};
  for (const task of tasks) {
    const folder = baseline === 'towers' ? 'towers' : task;
    const entry = found.find((candidate) => candidate.folder === folder);
    baselines[task] = only(entry?.summary?.[split] ?? {});
    baselineRuns[task] = subRunPath('baselines', folder);
  }
  if (options.metric !== undefined && Object.values(baselines).every((m) => Object.keys(m).length === 0)) {
    throw new UsageError(`No metric "${options.metric}" in the baselines of run ${id} on the ${split} split.`, [
      `they report: ${[...new Set(Object.values(found).flatMap((e) => Object.keys(e.summary?.[split] ?? {})))]
        .map(metricName)
        .filter((name, i, all) => name !== 'loss' && all.indexOf(name) === i)
        .join(', ')}`,
    ]);
  }
  const report = transferReport({ baseline, split, tasks, mtl: summary[split], baselines, baselineRuns });
  return { run: id, dir, ...report };
}

/** A baseline a run's config asks for, as its folder holds it (or not yet). */
export interface BaselineState {
  /** The task's name, or `towers`. */
  folder: string;
  /** Relative to the multi-task run's folder: `baselines/<folder>`. */
  path: string;
  dir: string;
  /** Whether it was started: its meta.json exists. */
  started: boolean;
  /** Its summary.json: written when it ended, completed or not (see its status). */
  summary: RunSummary | undefined;
}

/**
 * The baselines of `kind` a multi-task run of `tasks` has or lacks, in task order: what `mtl compare RUN --baseline`
 * requires complete and `mtl runs` counts.
 */
export function baselineStates(runDir: string, kind: BaselineKind, tasks: readonly string[]): BaselineState[] {
  return (kind === 'towers' ? ['towers'] : tasks).map((folder) => {
    const dir = baselineDir(runDir, folder);
    return {
      folder,
      path: subRunPath('baselines', folder),
      dir,
      started: existsSync(runFile(dir, 'meta')),
      summary: readSummaryIfAny(dir),
    };
  });
}

function baselineDir(runDir: string, folder: string): string {
  return path.join(runDir, ...subRunPath('baselines', folder).split('/'));
}

function otherKind(baseline: BaselineKind): BaselineKind {
  return baseline === 'towers' ? 'single-task' : 'towers';
}
