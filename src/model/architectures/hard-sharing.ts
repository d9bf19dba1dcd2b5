import type { tf } from '../../tf.js';
import { buildHeads } from '../heads.js';
import { LayerStack } from '../layers/stack.js';
import { lastKernelLayerOfTrunk, lastKernelLayerVariables } from '../last-shared-layer.js';
import { StepClock } from '../step-clock.js';
import { ForwardTape, TaskTape } from '../tape.js';
import type { ArchitectureDefinition, MultiTaskModel } from '../types.js';

/**
 * Hard parameter sharing (Caruana 1997; seed 002 §2.1): one trunk shared by every task, then one head per task.
 *   z = trunk(x);  ŷ_t = head_t(z)
 * The trunk output z is the shared representation that representation-gradient strategies differentiate.
 */
export const hardSharing: ArchitectureDefinition = {
  name: 'hard-sharing',
  description: 'Shared trunk + one head per task',
  paper: 'Caruana, "Multitask Learning", Machine Learning 28, 1997',
  optionsSchema: {},
  hasSharedRepresentation: true,
  lastSharedLayer: (config) => lastKernelLayerOfTrunk(config, 'of the trunk'),
  build(config, { inputSize, heads, rng }) {
    const clock = new StepClock(rng.fork('dropout').seed31());
    const trunk = new LayerStack('shared', inputSize, config.trunk, rng.fork('trunk'), clock);
    const taskHeads = buildHeads(heads, trunk.outputSize, config.head, rng.fork('heads'), clock);
    const decode = (representation: tf.Tensor, training: boolean): Record<string, tf.Tensor2D> => {
      const outputs: Record<string, tf.Tensor2D> = {};
      for (const head of taskHeads) outputs[head.spec.name] = head.apply(representation as tf.Tensor2D, training);
      return outputs;
    };
    const headOf = (task: string): (typeof taskHeads)[number] => {
      const head = taskHeads.find((h) => h.spec.name === task);
      if (!head) throw new Error(`internal: no head for task "${task}"`);
      return head;
    };
    const model: MultiTaskModel = {
      architecture: 'hard-sharing',
      sharedVariables: trunk.trainable,
      lastSharedLayer: lastKernelLayerVariables([trunk]),
      taskVariables: Object.fromEntries(taskHeads.map((head) => [head.spec.name, head.trainable])),
      stateVariables: [...trunk.state, ...taskHeads.flatMap((head) => head.state)],
      setStep: (step) => {
        clock.step = step;
      },
      encode: (x, training) => trunk.apply(x, training),
      recordEncode: (x, training) => ForwardTape.record(trunk.layers, x, training),
      recordTasks: (x, training) =>
        TaskTape.record([trunk.layers], x, training, (outputs, task, tr) =>
          headOf(task).apply(outputs[0] as tf.Tensor2D, tr),
        ),
      decode,
      decodeTask: (representation, task, training) => headOf(task).apply(representation as tf.Tensor2D, training),
      forward(x, training) {
        const representation = trunk.apply(x, training);
        return { representation, outputs: decode(representation, training) };
      },
      dispose() {
        trunk.dispose();
        for (const head of taskHeads) head.dispose();
      },
    };
    return model;
  },
};
