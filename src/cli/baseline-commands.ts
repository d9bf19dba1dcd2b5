import type { BaselineKind } from '../analysis/types.js';
import { compareWithBaseline } from '../api/compare-baseline.js';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import type { BaselineSetting } from '../config/types.js';
import { ExitCode, UsageError } from '../errors.js';
import { out, printJson } from './output.js';
import { transferLines } from './transfer-table.js';

/**
 * The config of `mtl train CONFIG [--set …] [--baselines KIND]`. `--baselines X` is `--set baselines=X`: validated,
 * and recorded in the run's resolved config, like any field; a problem it causes is blamed on the flag as typed.
 */
export function loadTrainConfig(
  configFile: string,
  sets: string[],
  baselines: BaselineSetting | undefined,
): LoadedConfig {
  if (baselines === undefined) return loadConfig(configFile, sets);
  try {
    return loadConfig(configFile, [...sets, `baselines=${baselines}`]);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const flag = `--set baselines=${baselines}: `;
    const details = error.details.map((d) =>
      d.startsWith(flag) ? `--baselines ${baselines}: ${d.slice(flag.length)}` : d,
    );
    throw new UsageError(error.message, details);
  }
}

/** `mtl compare RUN --baseline single-task|towers`: the run against the baselines trained with it. */
export function compareBaselineCommand(
  runs: string[],
  flags: { runsDir?: string; json?: boolean; metric?: string; split?: string; baseline: BaselineKind },
): number {
  const [run, ...others] = runs;
  if (run === undefined || others.length > 0) {
    throw new UsageError(`mtl compare --baseline ${flags.baseline}: give one run (got ${runs.length}).`, [
      'it compares a run with the baselines trained inside it; to compare runs with each other, leave out --baseline',
    ]);
  }
  const comparison = compareWithBaseline(run, flags.baseline, {
    ...(flags.runsDir ? { runsDir: flags.runsDir } : {}),
    ...(flags.metric ? { metric: flags.metric } : {}),
    ...(flags.split ? { split: flags.split as 'val' | 'test' } : {}),
  });
  if (flags.json) printJson(comparison);
  else {
    out(`run ${comparison.run}`);
    for (const line of transferLines(comparison)) out(line);
  }
  return ExitCode.ok;
}
