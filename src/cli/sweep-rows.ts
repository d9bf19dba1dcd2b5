import type { PlannedTrial } from '../api/sweep.js';

/** A planned trial as the sweep commands print it (tables, `--json`): what names it and what it changes. */
export function describeTrial(trial: PlannedTrial): {
  index: number;
  /** index + 1: the number the text output and `mtl sweep status` give the trial. */
  trial: number;
  hash: string;
  id: string;
  seed: number;
  tasks?: string[];
  overrides: string[];
} {
  return {
    index: trial.index,
    trial: trial.index + 1,
    hash: trial.hash,
    id: trial.id,
    seed: trial.seed,
    ...(trial.tasks ? { tasks: [...trial.tasks] } : {}),
    overrides: trial.overrides,
  };
}
