import type { ResolvedConfig, TaskConfig } from '../config/types.js';

/**
 * The `data.*` overrides that keep a sub-run (a single-task baseline, a pair run, a sweep's task subset) on exactly
 * its multi-task run's rows and split, when it has only some of the tasks:
 *
 * - `missing_targets: drop`: the left-out tasks' targets go to `data.required_columns`, so rows missing one are
 *   still left out (the multi-task run dropped them).
 * - `missing_targets: mask`: they go to `data.row_label_columns`, so a row one of them labels is still kept before
 *   the split; after the split each split keeps the rows the sub-run's own tasks label (data/labels.ts). A
 *   single-task baseline of task t thus trains and is measured on the rows where t is labelled, in the same split as
 *   the multi-task run, and its `max_train_rows` picks the same rows (the order depends on the seed, the task and the
 *   training rows only).
 */
export function rowPinning(config: ResolvedConfig, tasks: readonly TaskConfig[]): Record<string, unknown> {
  const own = new Set(tasks.flatMap((task) => task.targets));
  const others = config.tasks.flatMap((task) => task.targets).filter((column) => !own.has(column));
  const changes: Record<string, unknown> = {};
  const masking = config.data.missing_targets === 'mask';
  const required = [...(config.data.required_columns ?? []), ...(masking ? [] : others)];
  if (required.length > 0) changes['data.required_columns'] = [...new Set(required)];
  const labelling = [...(config.data.row_label_columns ?? []), ...(masking ? others : [])];
  if (labelling.length > 0) changes['data.row_label_columns'] = [...new Set(labelling)];
  return changes;
}
