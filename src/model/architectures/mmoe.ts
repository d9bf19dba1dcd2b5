import { tf } from '../../tf.js';
import { buildHeads } from '../heads.js';
import { lastKernelLayerOfTrunk, lastKernelLayerVariables } from '../last-shared-layer.js';
import { StepClock } from '../step-clock.js';
import { TaskTape } from '../tape.js';
import { integerOption } from '../../util/options.js';
import {
  buildExperts,
  gateBiasOption,
  gateBiasSchema,
  mixExperts,
  SoftmaxGate,
  stackVariables,
  type InspectableModel,
} from '../experts.js';
import type { ArchitectureDefinition } from '../types.js';

/**
 * Multi-gate Mixture-of-Experts (Ma, Zhao, Yi, Chen, Hong & Chi 2018, KDD): E experts f_e, each a stack of the
 * `trunk` layers, shared by all tasks; task t mixes them with its own softmax gate on the input,
 *
 *   g^t(x) = softmax(W_gt x) ∈ Δ^{E−1},   f^t(x) = Σ_e g^t(x)_e f_e(x),   ŷ_t = h^t(f^t(x))
 *
 * (eq. 5–6; `gate_bias: true` gives the gates a bias, softmax(W_gt x + b_gt), as LibMTL's MMoE has).
 * where the tower h^t is the `head` layers plus the output layer. The experts are shared variables, gates and towers
 * task variables. Each task sees its own mixture, so there is no single shared representation.
 */
export const mmoe: ArchitectureDefinition = {
  name: 'mmoe',
  description: 'Shared experts (each built from `trunk`) mixed per task by a softmax gate on the input',
  paper:
    'Ma, Zhao, Yi, Chen, Hong & Chi, "Modeling Task Relationships in Multi-task Learning with Multi-gate ' +
    'Mixture-of-Experts", KDD 2018',
  optionsSchema: {
    experts: {
      type: 'integer',
      minimum: 1,
      default: 4,
      description: 'Number of experts; each expert is a copy of the `trunk` layers with its own weights.',
    },
    ...gateBiasSchema,
  },
  hasSharedRepresentation: false,
  lastSharedLayer: (config) => lastKernelLayerOfTrunk(config, 'of every expert'),
  build(config, { inputSize, heads, rng }) {
    const count = integerOption(config, 'model.experts', 4, { minimum: 1 });
    const gateBias = gateBiasOption(config);
    const clock = new StepClock(rng.fork('dropout').seed31());
    const experts = buildExperts('experts/', count, inputSize, config.trunk, rng.fork('experts'), clock);
    const expertOutput = experts[0]?.outputSize ?? inputSize;
    const gateRng = rng.fork('gates');
    const gates = heads.map(
      (spec) => new SoftmaxGate(`tasks/${spec.name}/gate`, inputSize, count, gateRng.fork(spec.name), gateBias),
    );
    const towers = buildHeads(heads, expertOutput, config.head, rng.fork('heads'), clock);
    const expertVars = stackVariables(experts);

    const forward = (x: tf.Tensor2D, training: boolean): Record<string, tf.Tensor2D> => {
      const results = tf.tidy(() => {
        const outs = experts.map((expert) => expert.apply(x, training));
        return towers.map((tower, t) => tower.apply(mixExperts(outs, gates[t]!.apply(x)), training));
      });
      return Object.fromEntries(towers.map((tower, t) => [tower.spec.name, results[t]!]));
    };

    const model: InspectableModel = {
      architecture: 'mmoe',
      sharedVariables: expertVars.trainable,
      lastSharedLayer: lastKernelLayerVariables(experts),
      taskVariables: Object.fromEntries(
        towers.map((tower, t) => [tower.spec.name, [...gates[t]!.trainable, ...tower.trainable]]),
      ),
      stateVariables: [...expertVars.state, ...towers.flatMap((tower) => tower.state)],
      setStep: (step) => {
        clock.step = step;
      },
      forward: (x, training) => ({ outputs: forward(x, training) }),
      // Task t's output from the experts' recorded outputs: its gate and tower, as `forward` makes it.
      recordTasks: (x, training) =>
        TaskTape.record(
          experts.map((expert) => expert.layers),
          x,
          training,
          (outputs, task, tr) => {
            const t = towers.findIndex((tower) => tower.spec.name === task);
            if (t < 0) throw new Error(`internal: no tower for task "${task}"`);
            return towers[t]!.apply(mixExperts(outputs as tf.Tensor2D[], gates[t]!.apply(x)), tr);
          },
        ),
      inspect: (x) =>
        tf.tidy(() => Object.fromEntries(heads.map((spec, t) => [`gate/${spec.name}`, gates[t]!.apply(x)]))),
      dispose() {
        for (const expert of experts) expert.dispose();
        for (const gate of gates) gate.dispose();
        for (const tower of towers) tower.dispose();
      },
    };
    return model;
  },
};
