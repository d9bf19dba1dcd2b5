import { existsSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { builtinDatasets } from '../data/builtin/index.js';
import { suggest } from '../util/suggest.js';
import { problemsFromAjv, type ConfigProblem } from './errors.js';
import type { DataConfig, ResolvedConfig } from './types.js';

/**
 * Checks of a data source (the top-level `data`, or a task's own `tasks[].data` in multi-input MTL) that need more
 * than the schema: the built-in dataset and its options, the CSV file, the split fractions. `at` is the source's
 * path in the config, for the error's file:line. Fills the dataset's own split column when the user wrote no split.
 */
export function dataSourceProblems(
  data: DataConfig,
  at: (string | number)[],
  configDir: string,
  explicit: boolean,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (data.dataset !== undefined) {
    const dataset = builtinDatasets.get(data.dataset);
    if (!dataset) {
      const hint = suggest(data.dataset, [...builtinDatasets.keys()]);
      problems.push({
        path: [...at, 'dataset'],
        message:
          `unknown built-in dataset "${data.dataset}"${hint ? `; did you mean "${hint}"?` : ''} Known: ` +
          `${[...builtinDatasets.keys()].join(', ')} (see \`mtl datasets\`).`,
      });
    } else {
      const validate = optionsAjv.compile({
        type: 'object',
        ...dataset.optionsSchema,
      });
      if (!validate(data.options)) {
        for (const problem of problemsFromAjv(validate.errors ?? [])) {
          problems.push({ ...problem, path: [...at, 'options', ...problem.path] });
        }
      }
      if (dataset.splitColumn && isFractionSplit(data.split) && !explicit) {
        // The dataset controls its own split (e.g. to keep source images out of two splits): use it.
        (data as { split: unknown }).split = { column: dataset.splitColumn };
      }
    }
  } else if (data.csv !== undefined) {
    const csvPath = path.resolve(configDir, data.csv);
    if (!existsSync(csvPath)) {
      problems.push({
        path: [...at, 'csv'],
        message: `file not found: ${csvPath} (paths are relative to the config file)`,
      });
    }
    if (Object.keys(data.options).length > 0) {
      problems.push({
        path: [...at, 'options'],
        message: 'options apply to built-in datasets only; remove them for a CSV',
      });
    }
  }

  if (isFractionSplit(data.split)) {
    const sum = data.split.train + data.split.val + data.split.test;
    if (Math.abs(sum - 1) > 1e-6) {
      problems.push({
        path: [...at, 'split'],
        message: `train + val + test must sum to 1 (they sum to ${round(sum)})`,
      });
    }
  }
  return problems;
}

/**
 * Multi-input MTL (tasks with their own `data`, data/multi-input.ts): each task's source is checked as the top-level
 * one is. (`init`, baselines and pairs work with them: sub-runs keep each task's own data, api/row-pinning.ts.)
 */
export function multiInputProblems(config: ResolvedConfig, configDir: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const own = config.tasks.flatMap((task, index) => (task.data ? [{ data: task.data, index }] : []));
  for (const { data, index } of own) {
    problems.push(...dataSourceProblems(data, ['tasks', index, 'data'], configDir, explicitSplitOf(data)));
  }
  if (own.length === 0) {
    if (config.training.multi_input) {
      problems.push({
        path: ['training', 'multi_input'],
        atKey: true,
        message: 'applies only when tasks have their own data (tasks[].data), and none has; remove it',
      });
    }
    return problems;
  }
  return problems;
}

const optionsAjv = new Ajv({ allErrors: true, useDefaults: true, strict: false, verbose: true });

function isFractionSplit(split: DataConfig['split']): split is { train: number; val: number; test: number } {
  return 'train' in split;
}

const explicitSplits = new WeakSet<object>();
/** Marks data sources whose split was written by the user (set by the loader before defaults are applied). */
export function markExplicitSplitOf(data: object): void {
  explicitSplits.add(data);
}
function explicitSplitOf(data: object): boolean {
  return explicitSplits.has(data);
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
