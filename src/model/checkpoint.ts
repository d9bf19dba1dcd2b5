import type { tf } from '../tf.js';
import type { MultiTaskModel } from './types.js';

/**
 * The variables a checkpoint holds, in a fixed order: shared, then each task's, then state (batch-norm moving
 * statistics). Their names (`shared/0/kernel`) are the keys in the stored weights; runs/checkpoint.ts reads and
 * writes the files.
 */
export function checkpointVariables(model: MultiTaskModel): tf.Variable[] {
  return [...model.sharedVariables, ...Object.values(model.taskVariables).flat(), ...model.stateVariables];
}
