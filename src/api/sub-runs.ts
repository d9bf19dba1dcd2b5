import path from 'node:path';
import type { ResolvedConfig, TaskConfig } from '../config/types.js';
import { subRunPath, type SubRunFolder } from '../runs/layout.js';

/**
 * Which runs a config asks to train with its multi-task run, from the resolved config alone: api/baseline-configs.ts
 * builds their configs from this list, and the readers that only need to know whether they are all there (a seed
 * group deciding whether a member is finished) use it without loading the config machinery.
 */

export type SubRunKind = 'single-task' | 'towers' | 'pair';

export interface SubRunEntry {
  kind: SubRunKind;
  folder: SubRunFolder;
  /** `a`, `towers`, `a+b`. */
  label: string;
  tasks: readonly TaskConfig[];
  /** Relative to the multi-task run's folder: `baselines/a`, `baselines/towers`, `pairs/a+b`. */
  path: string;
}

/** The sub-runs of a config in the order they train: the baselines, then the pair runs. */
export function subRunsAskedFor(config: ResolvedConfig): SubRunEntry[] {
  const entries: SubRunEntry[] = [];
  const add = (kind: SubRunKind, folder: SubRunFolder, label: string, tasks: readonly TaskConfig[]): void => {
    entries.push({ kind, folder, label, tasks, path: subRunPath(folder, label) });
  };
  const baselines = config.baselines ?? 'none';
  if (baselines === 'single-task') for (const task of config.tasks) add('single-task', 'baselines', task.name, [task]);
  else if (baselines === 'towers') add('towers', 'baselines', 'towers', config.tasks);
  if (config.analysis?.pairs === true && !pairIsTheRun(config)) {
    for (const [i, first] of config.tasks.entries()) {
      for (const second of config.tasks.slice(i + 1))
        add('pair', 'pairs', `${first.name}+${second.name}`, [first, second]);
    }
  }
  return entries;
}

/** With two tasks under `equal`, the run of the pair is the multi-task run itself: it is not trained again. */
export function pairIsTheRun(config: ResolvedConfig): boolean {
  return config.tasks.length === 2 && config.strategy.name === 'equal';
}

/** The folder of a sub-run inside its multi-task run's folder. */
export function subRunDirOf(runDir: string, entry: Pick<SubRunEntry, 'path'>): string {
  return path.join(runDir, ...entry.path.split('/'));
}
