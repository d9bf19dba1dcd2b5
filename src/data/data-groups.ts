/**
 * A config's data groups (multi-input MTL, data/multi-input.ts): which tasks read which source. Read from the config
 * alone, so the commands that only describe stored runs (`mtl runs`, `mtl compare`) get them without loading the data
 * pipeline and, through the task registry, TF.js.
 */
import { isDeepStrictEqual } from 'node:util';
import type { DataConfig, ResolvedConfig, TaskConfig } from '../config/types.js';

export interface DataGroup {
  data: DataConfig;
  tasks: TaskConfig[];
  /** Where the source is written, for messages: `data` or `tasks[i].data` (its first task). */
  field: string;
  /** The same as a config path: ['data'] or ['tasks', i, 'data']. */
  path: (string | number)[];
}

/** Whether some task names its own data source. */
export function hasOwnData(config: ResolvedConfig): boolean {
  return config.tasks.some((task) => task.data !== undefined);
}

/** The tasks grouped by deep-equal data source, in the order of each group's first task. */
export function dataGroups(config: ResolvedConfig): DataGroup[] {
  const groups: DataGroup[] = [];
  config.tasks.forEach((task, index) => {
    const data = task.data ?? config.data;
    const group = groups.find((g) => isDeepStrictEqual(g.data, data));
    if (group) group.tasks.push(task);
    else if (task.data)
      groups.push({ data, tasks: [task], field: `tasks[${index}].data`, path: ['tasks', index, 'data'] });
    else groups.push({ data, tasks: [task], field: 'data', path: ['data'] });
  });
  return groups;
}
