import { tf } from '../../tf.js';
import { UsageError } from '../../errors.js';
import { buildHeads } from '../heads.js';
import { LayerStack } from '../layers/stack.js';
import { StepClock } from '../step-clock.js';
import { numberOption, OptionError } from '../../util/options.js';
import { kernelLayers } from '../experts.js';
import { layerDefinition } from '../layers/registry.js';
import type { LayerConfigBase } from '../layers/types.js';
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
 * Network Parser", ACL): penalty = Σ_l λ_l Σ_{i<j} ‖W_i^l − W_j^l‖²_F
 *
 * coupling: trace-norm (Yang & Hospedales 2017, "Trace Norm Regularised Deep Multi-Task Learning", ICLR workshop):
 * penalty = Σ_l λ_l ‖[W_1^l … W_T^l]‖_*, the nuclear norm of the task kernels of layer l stacked side by side
 * (fan_in × T·fan_out), which favours kernels spanning a common low-dimensional subspace. A conv2d kernel
 * [kh, kw, c_in, c_out] enters as the matrix [kh·kw·c_in, c_out] (one column per filter), so conv layers are coupled
 * the same way. TF.js has no SVD gradient; nuclear-norm.ts computes the norm from the eigen-decomposition of the
 * small Gram matrix and supplies the analytic gradient U Vᵀ through tf.customGrad.
 *
 * Only the towers' dense and conv2d kernels are coupled (biases, norms and the heads are free); the l2 term works on
 * kernels of any shape. `lambda` is one λ for every coupled layer (λ_l = λ, the papers' single strength) or a list
 * with one λ_l per coupled layer, in trunk order: λ_l = 0 leaves layer l free, so a list also picks which layers are
 * coupled, and lower layers can be tied more tightly than upper ones. Nothing is shared, so `sharedVariables` is empty
 * and there is no shared representation.
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
      type: ['number', 'array'],
      minimum: 0,
      items: { type: 'number', minimum: 0 },
      default: 0.01,
      description:
        'Weight λ of the coupling penalty added to the training loss: one number for every coupled layer, or a list ' +
        "with one λ per coupled layer (the trunk's dense and conv2d layers, in order).",
    },
  },
  hasSharedRepresentation: false,
  hasSharedParameters: false,
  checkConfig(config) {
    try {
      couplingStrengths(config, coupledLayerCount(config.trunk));
      return [];
    } catch (error) {
      if (error instanceof OptionError) return [{ path: ['lambda'], message: error.problem }];
      throw error;
    }
  },
  build(config, { inputSize, heads, rng }) {
    const coupling = (config['coupling'] ?? 'l2') as Coupling;
    if (!['l2', 'trace-norm', 'none'].includes(coupling))
      throw new UsageError(`soft-sharing: unknown coupling "${String(coupling)}"`);
    /** λ_l per coupled layer (read before any variable exists, so a wrong list leaves nothing behind). */
    const strengths = couplingStrengths(config, coupledLayerCount(config.trunk));
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
    if (kernels.length !== strengths.length)
      throw new Error(`internal: soft-sharing counted ${strengths.length} coupled layers, built ${kernels.length}`);
    /**
     * A kernel as a matrix [fan_in, fan_out]: dense [in, out] as it is, conv2d [kh, kw, c_in, c_out] → [kh·kw·c_in,
     * c_out].
     */
    const asMatrix = (kernel: tf.Tensor): tf.Tensor2D =>
      kernel.rank === 2 ? (kernel as tf.Tensor2D) : tf.reshape(kernel, [-1, kernel.shape[kernel.rank - 1]!]);

    const penalty = (): tf.Scalar =>
      tf.tidy(() => {
        const terms: tf.Scalar[] = [];
        kernels.forEach((layer, l) => {
          const strength = strengths[l]!;
          if (strength === 0) return;
          if (coupling === 'l2') {
            for (let i = 0; i < layer.length; i++) {
              for (let j = i + 1; j < layer.length; j++)
                terms.push(tf.mul(strength, tf.sum(tf.square(tf.sub(layer[i] as tf.Tensor, layer[j] as tf.Tensor)))));
            }
          } else if (coupling === 'trace-norm') {
            terms.push(tf.mul(strength, nuclearNorm(tf.concat(layer.map(asMatrix), 1))));
          }
        });
        return terms.length === 0 ? tf.scalar(0) : tf.addN(terms);
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
      ...(coupling === 'none' || strengths.every((strength) => strength === 0) ? {} : { penalty }),
      dispose() {
        for (const tower of towers) tower.dispose();
        for (const head of taskHeads) head.dispose();
      },
    };
    return model;
  },
};

/**
 * The number of layers soft sharing couples: the trunk's dense and conv2d layers, the built-in layer types that start
 * a block (splitBlocks) and the ones with a kernel (kernelLayers).
 */
function coupledLayerCount(trunk: readonly LayerConfigBase[]): number {
  return trunk.filter((layer) => layerDefinition(layer).startsBlock === true).length;
}

/** λ_l for each of `layerCount` coupled layers, from `model.lambda`: one number for all, or one per layer. */
export function couplingStrengths(config: Readonly<Record<string, unknown>>, layerCount: number): number[] {
  const value = config['lambda'];
  if (!Array.isArray(value)) {
    const lambda = numberOption(config, 'model.lambda', 0.01, { minimum: 0 });
    return Array.from({ length: layerCount }, () => lambda);
  }
  const strengths = value.filter((v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0);
  if (value.length !== layerCount || strengths.length !== layerCount) {
    throw new OptionError(
      'model.lambda',
      `one number ≥ 0, or a list of ${layerCount} numbers ≥ 0 (one per coupled layer: the trunk's ${layerCount} ` +
        'dense and conv2d layers, in order)',
      value,
    );
  }
  return strengths;
}
