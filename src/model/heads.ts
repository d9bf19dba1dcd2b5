import type { tf } from '../tf.js';
import type { LayerConfig } from '../config/types.js';
import type { Rng } from '../util/rng.js';
import { Dense } from './layers/dense.js';
import { LayerStack } from './layers/stack.js';
import type { StepClock } from './step-clock.js';
import type { HeadSpec } from './types.js';

/** One task's head: optional hidden layers, then a linear output layer of the task's output size. */
export class TaskHead {
  readonly hidden: LayerStack;
  readonly output: Dense;
  constructor(
    readonly spec: HeadSpec,
    inputSize: number,
    hiddenLayers: readonly LayerConfig[],
    rng: Rng,
    clock: StepClock,
  ) {
    this.hidden = new LayerStack(`tasks/${spec.name}/head`, inputSize, hiddenLayers, rng, clock, {
      label: 'model.head',
      input: 'the head input',
    });
    this.output = new Dense(`tasks/${spec.name}/output`, this.hidden.outputSize, spec.outputSize, 'linear', true, rng);
  }
  get trainable(): tf.Variable[] {
    return [...this.hidden.trainable, ...this.output.trainable];
  }
  get state(): tf.Variable[] {
    return this.hidden.state;
  }
  apply(x: tf.Tensor2D, training: boolean): tf.Tensor2D {
    return this.output.apply(this.hidden.apply(x, training));
  }
  dispose(): void {
    this.hidden.dispose();
    for (const v of this.output.trainable) v.dispose();
  }
}

export function buildHeads(
  heads: readonly HeadSpec[],
  inputSize: number,
  hiddenLayers: readonly LayerConfig[],
  rng: Rng,
  clock: StepClock,
): TaskHead[] {
  return heads.map((spec) => new TaskHead(spec, inputSize, hiddenLayers, rng.fork(spec.name), clock));
}
