import path from 'node:path';
import { locateConfigField, type LoadedConfig } from '../config/load.js';
import { masksTargets } from '../data/labels.js';
import { prepareConfigData } from '../data/multi-input.js';
import type { DataReport } from '../data/report.js';
import { splitSizeProblems } from '../data/split-sizes.js';
import { UsageError } from '../errors.js';
import { withSeed } from './groups.js';
import { subRunsAskedFor } from './sub-runs.js';

/**
 * Under `missing_targets: mask` the single-task baseline of task t trains and is measured on the multi-task run's rows
 * labelled for t, in its split (api/row-pinning.ts), and the split-size rule (data/split-sizes.ts) applies to those
 * rows. The multi-task run's splits count every row some task labels, so a task with few labels passes there and
 * fails its baseline, after the run has trained; this refuses it from the run's own label counts (`report`), before
 * the run exists. A pair run holds the rows of both its tasks, at least those of each one's baseline: the pairs
 * (which need `baselines: single-task`) pass when the baselines do. Without masking a baseline keeps all the run's
 * rows, so it passes whenever the run does.
 */
export function checkBaselineRows(loaded: LoadedConfig, report: DataReport, ofSeed?: number): void {
  const config = loaded.config;
  const failing = subRunsAskedFor(config).flatMap((entry) => {
    const [task] = entry.tasks;
    if (entry.kind !== 'single-task' || !task) return [];
    // Per task when labels are missing (in some task, or a task has its own data); else every task has every row.
    const sizes = report.labels?.[task.name] ?? report.splits;
    const problems = splitSizeProblems((task.data ?? config.data).split, sizes, task.name);
    const counts = `train ${sizes.train}, val ${sizes.val}, test ${sizes.test}`;
    return problems.length > 0 ? [{ task, line: `"${task.name}": ${counts}: ${problems.join('; ')}` }] : [];
  });
  const [first] = failing;
  if (!first) return;
  const names = failing.map(({ task }) => `"${task.name}"`).join(', ');
  const several = failing.length > 1;
  const { field, at } = locateConfigField(loaded, ['tasks', config.tasks.indexOf(first.task)]);
  throw new UsageError(
    `${at ? `${at}: ` : ''}${field}: the single-task baseline${several ? 's' : ''} of task${several ? 's' : ''} ` +
      `${names} would have too few labelled rows to train (a baseline trains and is measured only on the rows its ` +
      `task labels, in the multi-task run's split${ofSeed === undefined ? '' : ` of seed ${ofSeed}`}); rows ` +
      'labelled per split:',
    [
      ...failing.map(({ line }) => line),
      `label more rows of ${names}, change data.split so that more of ${several ? 'their' : 'its'} labelled rows ` +
        `are in each split, or leave ${several ? 'them' : 'it'} out of the baselines (remove the ` +
        `task${several ? 's' : ''}, or train without baselines: baselines: none)`,
    ],
  );
}

/**
 * {@link checkBaselineRows} for each seed of a seed group before its first member trains: each seed draws its own
 * split, so a baseline that passes with one seed may fail with another. The data is read once per seed, and only
 * when it can matter (single-task baselines of a config that masks missing labels).
 */
export async function checkBaselineRowsOfSeeds(loaded: LoadedConfig, seeds: readonly number[]): Promise<void> {
  const config = loaded.config;
  const masking = [config.data, ...config.tasks.map((task) => task.data)].some((data) => data && masksTargets(data));
  if (!masking || !subRunsAskedFor(config).some((entry) => entry.kind === 'single-task')) return;
  const configDir = loaded.file ? path.dirname(loaded.file) : process.cwd();
  for (const seed of seeds) {
    const member = withSeed(loaded, seed);
    const data = await prepareConfigData(member.config, configDir, (field) => locateConfigField(member, field));
    checkBaselineRows(member, data.report, seed);
  }
}
