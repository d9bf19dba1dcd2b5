import { DataFieldError } from '../../data/columns.js';
import type { TargetFitInput } from '../types.js';

/**
 * A task's target data that its kind cannot take, blaming the task's field to change (`path` in the task): `type`
 * where another kind would take the column, the target column (`targets[i]`) where the column is at fault. Where the
 * config is known, the field is named and located as the config writes it, by index, so the problem names the task
 * (`exp.yaml:6:5: tasks[0].type: binary task "y" needs …`); where not, the message is `input.field: problem`, the
 * task named by the field, as it was before the locating (`tasks[y]: a binary task needs …`). `problem` writes the
 * text for a task named `task`, or for the message without it (`task` undefined).
 */
export function targetError(
  input: TargetFitInput,
  path: readonly (string | number)[],
  problem: (task?: string) => string,
): DataFieldError {
  return new DataFieldError(
    { task: input.task.name, path },
    problem(input.task.name),
    [],
    `${input.field}: ${problem()}`,
  );
}
