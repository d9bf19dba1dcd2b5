import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../errors.js';
import { buildHeads } from '../heads.js';
import { LayerStack } from '../layers/stack.js';
import { StepClock } from '../step-clock.js';
import { numberOption } from '../../util/options.js';
import { kernelLayers } from '../experts.js';
import { nuclearNorm } from '../nuclear-norm.js';
import type { ArchitectureDefinition, MultiTaskModel } from '../types.js';

export type Coupling = 'l2' | 'trace-norm' | 'none';

/**
 * Soft parameter sharing (seed 001 §3.2 and §4.2, seed 002 §3.2 and §4.2): every task has its own tower built from
 * `trunk`, and a penalty couples the towers' kernels (dense and conv2d) layer by layer instead of sharing them.
 *
 *   ŷ_t = head_t(tower_t(x)),  loss = Σ_t w_t L_t + penalty
 *
 * coupling: l2 (Duong et al. 2015, "Low Resource Dependency Parsing: Cross-lingual Parameter Sharing in a Neural
 * Network Parser", ACL): penalty = λ Σ_layers Σ_{i<j} ‖W_i^l − W_j^l‖²_F
 *
 * coupling: trace-norm (Yang & Hospedales 2017, "Trace Norm Regularised Deep Multi-Task Learning", ICLR workshop):
 * penalty = λ Σ_layers ‖[W_1^l … W_T^l]‖_*, the nuclear norm of the task kernels of layer l stacked side by side
 * (fan_in × T·fan_out), which favours kernels spanning a common low-dimensional subspace. A conv2d kernel
 * [kh, kw, c_in, c_out] enters as the matrix [kh·kw·c_in, c_out] (one column per filter), so conv layers are coupled
 * the same way. TF.js has no SVD gradient; nuclear-norm.ts computes the norm from the eigen-decomposition of the
 * small Gram matrix and supplies the analytic gradient U Vᵀ through tf.customGrad.
 *
 * Only the towers' dense and conv2d kernels are coupled (biases, norms and the heads are free); the l2 term works on
 * kernels of any shape. Nothing is shared, so `sharedVariables` is empty and there is no shared representation.
 */
export const softSharing: ArchitectureDefinition = {
  name: 'soft-sharing',
  description:
    'One tower per task from `trunk`, coupled by an L2 or trace-norm penalty on the tower kernels (dense and conv2d)',
  paper:
    'Duong et al., "Low Resource Dependency Parsing: Cross-lingual Parameter Sharing in a Neural Network Parser", ' +
    'ACL 2015 (L2); ' +
    'Yang & Hospedales, "Trace Norm Regularised Deep Multi-Task Learning", ICLR 2017 workshop (trace norm)',
  optionsSchema: {
    coupling: {
      enum: ['l2', 'trace-norm', 'none'],
      default: 'l2',
      description:
        'Penalty coupling the task towers: squared distance between kernels (l2), nuclear norm of the stacked ' +
        'kernels (trace-norm), or none.',
    },
    lambda: {
      type: 'number',
      minimum: 0,
      default: 0.01,
      description: 'Weight λ of the coupling penalty added to the training loss.',
    },
  },
  hasSharedRepresentation: false,
  build(config, { inputSize, heads, rng }) {
    const coupling = (config['coupling'] ?? 'l2') as Coupling;
    if (!['l2', 'trace-norm', 'none'].includes(coupling))
      throw new UsageError(`soft-sharing: unknown coupling "${String(coupling)}"`);
    const lambda = numberOption(config, 'model.lambda', 0.01);
    const clock = new StepClock(rng.fork('dropout').seed31());
    const towerRng = rng.fork('towers');
    const towers = heads.map(
      (spec) => new LayerStack(`tasks/${spec.name}/tower`, inputSize, config.trunk, towerRng.fork(spec.name), clock),
    );
    const towerOutput = towers[0]?.outputSize ?? inputSize;
    const taskHeads = buildHeads(heads, towerOutput, config.head, rng.fork('heads'), clock);
    /** kernels[l][t]: the kernel of the l-th dense or conv2d layer of task t's tower. */
    const kernels: tf.Variable[][] = kernelLayers(towers[0]!).map((_, l) =>
      towers.map((tower) => (kernelLayers(tower)[l] as { kernel: tf.Variable }).kernel),
    );
    /**
     * A kernel as a matrix [fan_in, fan_out]: dense [in, out] as it is, conv2d [kh, kw, c_in, c_out] → [kh·kw·c_in,
     * c_out].
     */
    const asMatrix = (kernel: tf.Tensor): tf.Tensor2D =>
      kernel.rank === 2 ? (kernel as tf.Tensor2D) : tf.reshape(kernel, [-1, kernel.shape[kernel.rank - 1]!]);

    const penalty = (): tf.Scalar =>
      tf.tidy(() => {
        const terms: tf.Scalar[] = [];
        for (const layer of kernels) {
          if (coupling === 'l2') {
            for (let i = 0; i < layer.length; i++) {
              for (let j = i + 1; j < layer.length; j++)
                terms.push(tf.sum(tf.square(tf.sub(layer[i] as tf.Tensor, layer[j] as tf.Tensor))));
            }
          } else if (coupling === 'trace-norm') {
            terms.push(nuclearNorm(tf.concat(layer.map(asMatrix), 1)));
          }
        }
        return terms.length === 0 ? tf.scalar(0) : tf.mul(lambda, tf.addN(terms));
      });

    const model: MultiTaskModel = {
      architecture: 'soft-sharing',
      sharedVariables: [],
      taskVariables: Object.fromEntries(
        heads.map((spec, t) => [spec.name, [...towers[t]!.trainable, ...(taskHeads[t]?.trainable ?? [])]]),
      ),
      stateVariables: [...towers.flatMap((tower) => tower.state), ...taskHeads.flatMap((head) => head.state)],
      setStep: (step) => {
        clock.step = step;
      },
      forward(x, training) {
        const outputs: Record<string, tf.Tensor2D> = {};
        taskHeads.forEach((head, t) => {
          outputs[head.spec.name] = tf.tidy(() => head.apply(towers[t]!.apply(x, training), training));
        });
        return { outputs };
      },
      ...(coupling === 'none' || lambda === 0 ? {} : { penalty }),
      dispose() {
        for (const tower of towers) tower.dispose();
        for (const head of taskHeads) head.dispose();
      },
    };
    return model;
  },
};
