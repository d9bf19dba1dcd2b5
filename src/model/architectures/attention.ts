import { tf } from '../../tf.js';
import { AttentionModule, positionRows, withoutGradient } from '../attention-module.js';
import { buildHeads } from '../heads.js';
import { layerDefinition } from '../layers/registry.js';
import { shapeSize } from '../layers/shape.js';
import { LayerStack } from '../layers/stack.js';
import { lastKernelLayerOfTrunk, lastKernelLayerVariables } from '../last-shared-layer.js';
import { StepClock } from '../step-clock.js';
import {
  applyBlock,
  blockFeatureShape,
  shapeAfter,
  splitBlocks,
  widthAfter,
  type Block,
  type InspectableModel,
} from '../experts.js';
import type { ArchitectureDefinition } from '../types.js';

/**
 * Multi-Task Attention Network (Liu, Johns & Davison, "End-to-End Multi-Task Learning with Attention", CVPR 2019,
 * §3.2, eq. 1; authors' code github.com/lorenmt/mtan, LibMTL's architecture/MTAN.py). One shared trunk (the global
 * feature pool) cut into blocks j = 0..J−1 (a dense or conv2d layer with the layers after it, see splitBlocks); per
 * task i and block j an attention module g_i^(j) (attention-module.ts: [1×1 conv → BN → ReLU] → [1×1 conv → BN →
 * sigmoid]) computes a soft mask from the shared features inside the block, u^(j), and the task's attended features of
 * the block before, and the mask multiplies the block's output p^(j):
 *
 *   a_i^(0) = g_i^(0)(u^(0)),   a_i^(j) = g_i^(j)([u^(j) ; â_i^(j−1)])  (j ≥ 1),   â_i^(j) = a_i^(j) ⊙ p^(j)
 *   ŷ_i = head_i(â_i^(J−1))
 *
 * u^(j) is the input of block j's dense/conv2d layer: the features inside block j before its last layer, as in the
 * ResNet versions of the authors' and LibMTL's code (u = layer[:-1](x), p = layer[-1](u)) for a block of one layer.
 * So u^(j) = p^(j−1) for j ≥ 1, and u^(0) is the model input (after any layers before the first dense/conv2d). The mask
 * never reads the tensor it multiplies.
 *
 * MTAN's shared f^(j) (a 3×3 conv + pooling on â^(j−1)) brings the previous attended features to the channels and
 * resolution of u^(j). Here â_i^(j−1) has u^(j)'s shape already (both are block j−1's output), so f^(j) is the
 * identity; a shared f^(j) would also sit after the shared representation, where no shared variable may be.
 *
 * Masks are elementwise and lie in (0, 1):
 * - Flat block output p^(j) (dense trunks): g reads the flattened [u^(j) ; â^(j−1)] and outputs a mask of p's width.
 * - Image block output [H, W, C] (conv trunks; also a conv block that ends in `flatten`, whose output is seen as the
 *   image before the flatten): g is MTAN's 1×1 convolutions, one mask value per position and channel. u^(j) and
 *   â^(j−1) are brought to H × W by average pooling where the block shrank them (a valid conv or a pool; MTAN instead
 *   masks before its pool), or repeated at every position when flat.
 *
 * The trunk is shared; attention modules (with their batch-norm statistics) and heads belong to their task.
 *
 * Shared representation: z = [u^(0), p^(0), …, p^(J−1)] (flattened and concatenated); decode(z) splits it back and
 * applies the masks and heads, so representation-gradient strategies see every feature the masks read. When no
 * trainable layer lies below u^(0) (it is the model input, perhaps reshaped), decode passes it no gradient: those
 * coordinates of ∂L_t/∂z are zero, as they would reach no parameter, and do not enter a method's combination.
 */
export const attention: ArchitectureDefinition = {
  name: 'attention',
  description:
    'MTAN: shared trunk + per-task attention modules (1×1 conv → BN → ReLU → 1×1 conv → BN → sigmoid) masking every ' +
    'trunk block',
  paper: 'Liu, Johns & Davison, "End-to-End Multi-Task Learning with Attention", CVPR 2019',
  optionsSchema: {},
  hasSharedRepresentation: true,
  lastSharedLayer: (config) => lastKernelLayerOfTrunk(config, 'of the trunk (before its attention masks)'),
  build(config, { inputSize, heads, rng }) {
    const clock = new StepClock(rng.fork('dropout').seed31());
    const trunk = new LayerStack('shared', inputSize, config.trunk, rng.fork('trunk'), clock);
    // An empty trunk still gets one (identity) block, so every task has one mask on the input itself.
    const blocks: Block[] = config.trunk.length === 0 ? [{ start: 0, end: 0 }] : splitBlocks(config.trunk);
    // u^(0) is the input of block 0's first dense/conv2d layer (the layers before it are shared preprocessing).
    const firstBlock = blocks[0]!;
    const firstKernel = config.trunk
      .slice(firstBlock.start, firstBlock.end)
      .findIndex((layer) => layerDefinition(layer).startsBlock === true);
    const sharedInputEnd = Math.max(firstKernel, 0);
    const sharedInputShape = shapeAfter(trunk, inputSize, sharedInputEnd);
    // u^(0) is usually the model input itself (or a reshape of it): no parameter lies below it.
    const sharedInputTrained = trunk.layers.slice(0, sharedInputEnd).some((layer) => layer.trainable.length > 0);
    const widths = blocks.map((block) => widthAfter(trunk, inputSize, block.end));
    /** The shape of u^(j) (and of â^(j−1)) per block. */
    const insideShapes = blocks.map((block, j) =>
      j === 0 ? sharedInputShape : shapeAfter(trunk, inputSize, block.start),
    );
    /** The shape each block's mask works in: [width] or [height, width, channels]. */
    const maskShapes = blocks.map((block) => blockFeatureShape(trunk, inputSize, block));
    const moduleInputWidth = (j: number): number => {
      const inside = insideShapes[j]!;
      const perSource = maskShapes[j]!.length === 3 ? inside[inside.length - 1]! : shapeSize(inside);
      return j === 0 ? perSource : 2 * perSource;
    };
    const attentionRng = rng.fork('attention');
    const modules = heads.map((spec) => {
      const taskRng = attentionRng.fork(spec.name);
      return maskShapes.map((shape, j) => {
        const maskWidth = shape[shape.length - 1]!;
        return new AttentionModule(`tasks/${spec.name}/attention/${j}`, moduleInputWidth(j), maskWidth, taskRng, clock);
      });
    });
    const taskHeads = buildHeads(heads, widths[widths.length - 1]!, config.head, rng.fork('heads'), clock);
    const sharedInputWidth = shapeSize(sharedInputShape);

    const encode = (x: tf.Tensor2D, training: boolean): tf.Tensor2D =>
      tf.tidy(() => {
        const batch = x.shape[0];
        let h: tf.Tensor = applyBlock(trunk, { start: 0, end: sharedInputEnd }, x, training);
        const pieces = [tf.reshape(h, [batch, sharedInputWidth])];
        blocks.forEach((block, j) => {
          h = applyBlock(trunk, { start: j === 0 ? sharedInputEnd : block.start, end: block.end }, h, training);
          pieces.push(tf.reshape(h, [batch, widths[j]!]));
        });
        return tf.concat(pieces, 1) as tf.Tensor2D;
      });

    /** Per task, the masks a^(j) (in their block's shape) and the attended features â^(J−1) (flat). */
    const attend = (z: tf.Tensor2D, t: number, training: boolean): { masks: tf.Tensor[]; attended: tf.Tensor2D } => {
      const batch = z.shape[0];
      const [sharedInput, ...outputs] = tf.split(z, [sharedInputWidth, ...widths], 1) as tf.Tensor2D[];
      const masks: tf.Tensor[] = [];
      /** â^(j−1), flat [batch, size of u^(j)]. */
      let previous: tf.Tensor2D | undefined;
      outputs.forEach((output, j) => {
        const inside = j > 0 ? outputs[j - 1]! : sharedInputTrained ? sharedInput! : withoutGradient(sharedInput!);
        const sources = previous === undefined ? [inside] : [inside, previous];
        const module = modules[t]![j]!;
        const shape = maskShapes[j]!;
        if (shape.length === 1) {
          const mask = module.apply(sources.length === 1 ? inside : tf.concat(sources, 1), training);
          masks.push(mask);
          previous = tf.mul(mask, output) as tf.Tensor2D;
        } else {
          const [height, width, channels] = shape as [number, number, number];
          const rows = sources.map((source) => positionRows(source, insideShapes[j]!, height, width));
          const mask = tf.reshape(module.apply(rows.length === 1 ? rows[0]! : tf.concat(rows, 1), training), [
            batch,
            height,
            width,
            channels,
          ]);
          masks.push(mask);
          previous = tf.reshape(tf.mul(mask, tf.reshape(output, [batch, height, width, channels])), [batch, -1]);
        }
      });
      return { masks, attended: previous! };
    };

    const decode = (representation: tf.Tensor, training: boolean): Record<string, tf.Tensor2D> => {
      const results = tf.tidy(() =>
        taskHeads.map((head, t) => head.apply(attend(representation as tf.Tensor2D, t, training).attended, training)),
      );
      return Object.fromEntries(taskHeads.map((head, t) => [head.spec.name, results[t]!]));
    };

    const model: InspectableModel = {
      architecture: 'attention',
      sharedVariables: trunk.trainable,
      lastSharedLayer: lastKernelLayerVariables([trunk]),
      taskVariables: Object.fromEntries(
        taskHeads.map((head, t) => [
          head.spec.name,
          [...modules[t]!.flatMap((module) => module.trainable), ...head.trainable],
        ]),
      ),
      stateVariables: [
        ...trunk.state,
        ...modules.flat().flatMap((module) => module.state),
        ...taskHeads.flatMap((head) => head.state),
      ],
      setStep: (step) => {
        clock.step = step;
      },
      encode,
      decode,
      forward(x, training) {
        const representation = encode(x, training);
        return { representation, outputs: decode(representation, training) };
      },
      inspect(x) {
        return tf.tidy(() => {
          const z = encode(x, false);
          const record: Record<string, tf.Tensor> = {};
          heads.forEach((spec, t) => {
            const { masks, attended } = attend(z, t, false);
            masks.forEach((a, j) => {
              record[`mask/${spec.name}/${j}`] = a;
            });
            record[`attended/${spec.name}`] = attended;
          });
          return record;
        });
      },
      dispose() {
        trunk.dispose();
        for (const module of modules.flat()) module.dispose();
        for (const head of taskHeads) head.dispose();
      },
    };
    return model;
  },
};
