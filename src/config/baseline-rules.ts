import type { ConfigProblem } from './errors.js';
import type { ResolvedConfig } from './types.js';

/**
 * What `baselines:` and `analysis.pairs` need (issue #15): a baseline compares a multi-task run with runs of fewer
 * tasks, so it needs at least two tasks; the pairwise gains are measured against the single-task runs, so
 * `analysis.pairs` needs `baselines: single-task`.
 */
export function baselineProblems(config: ResolvedConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const baselines = config.baselines ?? 'none';
  const tasks = config.tasks.map((task) => task.name);
  if (baselines !== 'none' && tasks.length < 2) {
    problems.push({
      path: ['baselines'],
      message:
        `"${baselines}" compares a multi-task run with single-task ones, but this config has one task ` +
        `(${tasks.join(', ')}): there is nothing to compare. Add a task, or remove "baselines".`,
    });
  }
  if (config.analysis?.pairs === true && baselines !== 'single-task') {
    problems.push({
      path: ['analysis', 'pairs'],
      message:
        'the pairwise gains are measured against the single-task runs, which this config does not train ' +
        `(baselines: ${baselines}). Set baselines: single-task (or --baselines single-task), or remove pairs.`,
    });
  }
  return problems;
}
