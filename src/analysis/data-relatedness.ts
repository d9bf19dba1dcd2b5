import type { TaskConfig } from '../config/types.js';
import type { EncodedRows, Preprocessing } from '../data/preprocess.js';
import { kindOf } from '../tasks/registry.js';
import { targetPair, type TargetColumn } from './target-relatedness.js';
import type { DataRelatedness, PairValues } from './types.js';

/**
 * A task's targets as columns (analysis/target-relatedness.ts): a multiclass task's class index is one categorical
 * column; every other kind's metric targets (values, 0/1, 0/1 per label) are numeric columns, one per output.
 */
function targetColumns(encoded: EncodedRows, preprocessing: Preprocessing, task: string): TargetColumn[] {
  const encoding = preprocessing.tasks.find((t) => t.name === task);
  const values = encoded.targets[task];
  if (!encoding || !values || encoded.rows === 0) return [];
  if (kindOf(encoding).metricLayout === 'multiclass') return [{ kind: 'categorical', codes: values }];
  const width = Math.max(1, Math.round(values.length / encoded.rows));
  return Array.from({ length: width }, (_, k) => ({
    kind: 'numeric',
    values: Float64Array.from({ length: encoded.rows }, (_, r) => values[r * width + k] ?? NaN),
  }));
}

/**
 * Association and mutual information of every pair of tasks' targets on the training rows both tasks label (all rows
 * when every task labels every row); a pair with fewer than two such rows is not measured (its keys are absent).
 */
export function dataRelatedness(
  train: EncodedRows,
  preprocessing: Preprocessing,
  tasks: readonly TaskConfig[],
): DataRelatedness {
  const columns = tasks.map((t) => targetColumns(train, preprocessing, t.name));
  const masks = train.labelled ?? {};
  const partial = tasks.some((t) => masks[t.name]?.includes(0));
  const pairRows: PairValues = {};
  const association: PairValues = {};
  const measure: Record<string, string> = {};
  const mutualInformation: PairValues = {};
  const normalisedMutualInformation: PairValues = {};
  tasks.forEach((a, i) =>
    tasks.forEach((b, j) => {
      if (j <= i) return;
      const key = `${a.name}|${b.name}`;
      const both = partial ? rowsLabelledByBoth(train.rows, masks[a.name], masks[b.name]) : undefined;
      if (both) pairRows[key] = both.length;
      if (both && both.length < 2) return;
      const pick = (cols: TargetColumn[]): TargetColumn[] => (both ? cols.map((c) => onRows(c, both)) : cols);
      const pair = targetPair(pick(columns[i] ?? []), pick(columns[j] ?? []));
      association[key] = pair.association;
      measure[key] = pair.measure;
      mutualInformation[key] = pair.mutualInformation;
      normalisedMutualInformation[key] = pair.normalisedMutualInformation;
    }),
  );
  return {
    split: 'train',
    rows: train.rows,
    association,
    measure,
    mutualInformation,
    normalisedMutualInformation,
    ...(partial ? { pairRows } : {}),
  };
}

function rowsLabelledByBoth(rows: number, a: Uint8Array | undefined, b: Uint8Array | undefined): number[] {
  return Array.from({ length: rows }, (_, r) => r).filter((r) => (a?.[r] ?? 1) === 1 && (b?.[r] ?? 1) === 1);
}

function onRows(column: TargetColumn, rows: readonly number[]): TargetColumn {
  return column.kind === 'categorical'
    ? { kind: 'categorical', codes: Float32Array.from(rows, (r) => column.codes[r]!) }
    : { kind: 'numeric', values: Float64Array.from(rows, (r) => column.values[r]!) };
}
