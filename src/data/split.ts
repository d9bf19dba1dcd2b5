import { UsageError } from '../errors.js';
import type { SplitConfig } from '../config/types.js';
import { createRng } from '../util/rng.js';
import { lineOf } from './cells.js';
import { cellText, columnOf, DataFieldError } from './columns.js';
import type { DataTable } from './types.js';

export type SplitName = 'train' | 'val' | 'test';
export const SPLITS: readonly SplitName[] = ['train', 'val', 'test'];

/**
 * Assigns each usable row to train/val/test: by the values of a split column, or by fractions over a permutation
 * drawn from the seed (the same seed gives the same split on every machine).
 */
export function splitRows(
  table: DataTable,
  rows: Int32Array,
  split: SplitConfig,
  seed: number,
): Record<SplitName, Int32Array> {
  if ('column' in split) {
    // A missing column is named with a close match and the columns there, as every other column field is.
    const column = columnOf(table, split.column, { data: ['split', 'column'] });
    const groups: Record<SplitName, number[]> = { train: [], val: [], test: [] };
    for (const row of rows) {
      const label = cellText(column, row);
      const name = label === 'validation' ? 'val' : label;
      if (name !== 'train' && name !== 'val' && name !== 'test') {
        throw new UsageError(
          `${table.source}: line ${lineOf(row, table)}: split column "${split.column}" holds "${label}"; expected ` +
            `train, val or test.`,
        );
      }
      groups[name].push(row);
    }
    if (groups.train.length === 0) {
      throw new UsageError(
        `${table.source}: no usable row has split "train" in column "${split.column}"; mark the training rows "train".`,
      );
    }
    return {
      train: Int32Array.from(groups.train),
      val: Int32Array.from(groups.val),
      test: Int32Array.from(groups.test),
    };
  }
  const permutation = createRng(seed).fork('split').permutation(rows.length);
  const shuffled = Int32Array.from(permutation, (i) => rows[i]!);
  const testCount = Math.round(rows.length * split.test);
  const valCount = Math.round(rows.length * split.val);
  const trainCount = rows.length - testCount - valCount;
  if (trainCount <= 0) {
    throw new DataFieldError(
      { data: ['split'] },
      `${rows.length} usable rows split ${split.train}/${split.val}/${split.test} leave none for training (val ` +
        `${valCount}, test ${testCount} rows); raise data.split.train or add rows.`,
    );
  }
  // Within each split rows keep file order, so outputs line up with the input file.
  const sorted = (a: Int32Array): Int32Array => a.sort();
  return {
    train: sorted(shuffled.slice(0, trainCount)),
    val: sorted(shuffled.slice(trainCount, trainCount + valCount)),
    test: sorted(shuffled.slice(trainCount + valCount)),
  };
}
