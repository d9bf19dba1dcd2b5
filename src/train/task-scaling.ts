import { tf } from '../tf.js';
import type { TaskConfig } from '../config/types.js';
import type { MultiTaskModel } from '../model/types.js';
import type { GradientStrategy, StrategyContext } from '../strategies/types.js';

/** A gradient strategy's loss scaling for this step, or undefined when it has none (every scale 1). */
export type StepScaling = ((losses: readonly number[]) => ReturnType<TaskScalingHook['scale']>) | undefined;
type TaskScalingHook = NonNullable<GradientStrategy['lossScaling']>;

export function stepScaling(strategy: GradientStrategy, context: StrategyContext): StepScaling {
  const scaling = strategy.lossScaling;
  return scaling ? (losses) => scaling.scale(losses, context) : undefined;
}

/**
 * Turns the task gradients of L_i into those of c_i·L_i (c from the strategy's `lossScaling`), in place: the flat
 * shared gradients `flats[i]` and task i's own gradients in `gradients`; and adds the gradients of the strategy's
 * own variables (∂F/∂φ) to `gradients`. Scaling after differentiating is the same as differentiating c_i·L_i, since
 * c_i is a constant for the model's parameters, and needs no second pass.
 */
export function applyTaskScaling(
  scaling: StepScaling,
  losses: readonly number[],
  flats: Float32Array[],
  model: MultiTaskModel,
  tasks: readonly TaskConfig[],
  gradients: Record<string, tf.Tensor>,
): void {
  if (!scaling) return;
  const { scales, gradients: own } = scaling(losses);
  tasks.forEach((task, i) => {
    const scale = scales[i]!;
    if (scale === 1) return;
    flats[i] = flats[i]!.map((v) => v * scale);
    for (const variable of model.taskVariables[task.name] ?? []) {
      const gradient = gradients[variable.name];
      if (!gradient) continue;
      gradients[variable.name] = tf.mul(gradient, scale);
      gradient.dispose();
    }
  });
  Object.assign(gradients, own);
}
