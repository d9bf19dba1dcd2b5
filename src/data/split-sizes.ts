/**
 * The rule on split sizes, checked before anything is fitted (the same call for `mtl train` and `mtl validate`):
 *
 * - refused (exit 2): a training split of fewer than {@link MIN_TRAIN_ROWS} rows, and a split asked for by a
 *   fraction > 0 that gets no row (the data is too small for the fractions);
 * - warned: no validation rows (the best checkpoint and early stopping then follow the training loss), no test
 *   rows (a split column without "test"), and a val or test split of fewer than {@link MIN_EVAL_ROWS} rows, whose
 *   metrics say little.
 */
import type { SplitConfig } from '../config/types.js';
import { UsageError } from '../errors.js';
import type { SplitName } from './split.js';

/**
 * Fewer training rows than this cannot fit anything a val or test split could confirm: the data is most likely not
 * what the config meant to read (a truncated file, a filter or `missing: drop` that left almost nothing).
 */
export const MIN_TRAIN_ROWS = 5;
/** A validation or test split of fewer rows than this gets a warning: one row more or less moves its metrics. */
export const MIN_EVAL_ROWS = 10;

export type SplitSizes = Record<SplitName, number>;

/**
 * What the rule refuses in these split sizes (none: they are fine). With `task`, the sizes count the rows labelled for
 * that task (a single-task baseline under `missing_targets: mask` trains on those: api/baseline-rows.ts).
 */
export function splitSizeProblems(split: SplitConfig, sizes: SplitSizes, task?: string): string[] {
  const problems: string[] = [];
  const labelled = task === undefined ? '' : ` labelled for task "${task}"`;
  if (!('column' in split)) {
    for (const name of ['val', 'test'] as const) {
      if (split[name] > 0 && sizes[name] === 0) {
        // Usable rows fill a split by its fraction; how many of one task's labelled rows fall in it is chance.
        const needed = task === undefined ? `: it needs at least ${Math.ceil(0.5 / split[name])} usable rows` : '';
        problems.push(
          `the ${name} split (data.split.${name}: ${split[name]}) gets no row${labelled}${needed}` +
            (name === 'val' ? ' (or set data.split.val: 0 to train without validation)' : ''),
        );
      }
    }
  }
  if (sizes.train < MIN_TRAIN_ROWS) {
    problems.push(
      `the training split has ${sizes.train} row${sizes.train === 1 ? '' : 's'}${labelled}; at least ` +
        `${MIN_TRAIN_ROWS} are needed`,
    );
  }
  return problems;
}

/**
 * Throws when the split sizes are below the minimum; returns the warnings otherwise. `rows` counts the table's rows
 * and `usable` those left after the missing-value policy.
 */
export function checkSplitSizes(
  source: string,
  split: SplitConfig,
  sizes: SplitSizes,
  rows: { total: number; usable: number },
): string[] {
  const problems = splitSizeProblems(split, sizes);
  const counts = `train ${sizes.train}, val ${sizes.val}, test ${sizes.test}`;
  const dropped = rows.total - rows.usable;
  const droppedText = dropped > 0 ? ` (${dropped} of ${rows.total} dropped: missing values)` : '';
  const usable = `${rows.usable} usable rows${droppedText}`;
  if (problems.length > 0) {
    throw new UsageError(`${source}: too few rows for this split: ${usable} give ${counts}.`, [
      ...problems,
      'add rows, or change data.split',
    ]);
  }
  const warnings: string[] = [];
  if (sizes.val === 0) {
    warnings.push('no validation rows: the best checkpoint and early stopping follow the mean training loss');
  }
  if (sizes.test === 0) warnings.push('no test rows: the run will report no test metrics');
  for (const name of ['val', 'test'] as const) {
    if (sizes[name] > 0 && sizes[name] < MIN_EVAL_ROWS) {
      warnings.push(
        `the ${name} split has only ${sizes[name]} row${sizes[name] === 1 ? '' : 's'} (fewer than ${MIN_EVAL_ROWS}): ` +
          `its metrics say little; add rows${'column' in split ? '' : ` or raise data.split.${name}`}`,
      );
    }
  }
  return warnings;
}
