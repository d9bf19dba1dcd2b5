import * as tf from '@tensorflow/tfjs';
import { buildHeads } from '../heads.js';
import { Dense } from '../layers/dense.js';
import { LayerStack } from '../layers/stack.js';
import { lastKernelLayerOfTrunk, lastKernelLayerVariables } from '../last-shared-layer.js';
import { StepClock } from '../step-clock.js';
import {
  applyBlock,
  blockFeatureShape,
  splitBlocks,
  widthAfter,
  type Block,
  type InspectableModel,
} from '../experts.js';
import type { ArchitectureDefinition } from '../types.js';

/**
 * Multi-Task Attention Network (Liu, Johns & Davison 2019, CVPR; seed 001 §3.3): one shared trunk (the global feature
 * pool) and, per task, a soft attention mask on the output h^j of every trunk block (a dense or conv2d layer with the
 * layers after it, see splitBlocks):
 *
 *   a_t^0 = σ(W_t^0 h^0 + b_t^0),   a_t^j = σ(W_t^j [h^j ; c(â_t^{j−1})] + b_t^j)  (j ≥ 1),   â_t^j = a_t^j ⊙ h^j
 *   ŷ_t = head_t(â_t^J)
 *
 * Masks are elementwise, as in MTAN, and lie in (0, 1). They are computed from the shared features of the block and,
 * as in MTAN, the task's attended features of the block before, c(â_t^{j−1}):
 *
 * - Flat block output (dense trunks): W_t^j is a dense layer on [h^j ; â_t^{j−1}] (the previous attended features
 *   themselves, concatenated, in place of MTAN's conv + pooling).
 * - Image block output [H, W, C] (conv trunks; also a conv block that ends in `flatten`, whose output is seen as the
 *   image before the flatten): W_t^j is MTAN's 1×1 convolution — the same dense map over channels at every position —
 *   so a_t^j has one value per position and channel, like MTAN's masks. The context c(â_t^{j−1}) is the previous
 *   attended features, globally average-pooled to one value per channel when they are an image, broadcast to every
 *   position and concatenated with h^j on the channel axis; it stands in for MTAN's shared 3×3 conv + pooling, which
 *   brings â^{j−1} to block j's resolution (global pooling needs no resolution match and adds no shared variables).
 *
 * Each W_t^j is stored as a dense kernel [C_j + C_{j−1}, C_j] (C = channels, or the width of a flat output). The trunk
 * is shared; masks and heads are task variables.
 *
 * Shared representation: z = [h^0, …, h^{J−1}] (all block outputs, flattened and concatenated); decode(z) splits it
 * back and applies the masks and heads, so representation-gradient strategies see every feature the masks read.
 */
export const attention: ArchitectureDefinition = {
  name: 'attention',
  description:
    'MTAN-style: shared trunk + per-task sigmoid attention masks on every trunk block (1×1-conv masks on conv blocks)',
  paper: 'Liu, Johns & Davison, "End-to-End Multi-Task Learning with Attention", CVPR 2019',
  optionsSchema: {},
  hasSharedRepresentation: true,
  lastSharedLayer: (config) => lastKernelLayerOfTrunk(config, 'of the trunk (before its attention masks)'),
  build(config, { inputSize, heads, rng }) {
    const clock = new StepClock(rng.fork('dropout').seed31());
    const trunk = new LayerStack('shared', inputSize, config.trunk, rng.fork('trunk'), clock);
    // An empty trunk still gets one (identity) block, so every task has one mask on the input itself.
    const blocks: Block[] = config.trunk.length === 0 ? [{ start: 0, end: 0 }] : splitBlocks(config.trunk);
    const widths = blocks.map((block) => widthAfter(trunk, inputSize, block.end));
    /** The shape each block's mask works in: [width] or [height, width, channels]. */
    const shapes = blocks.map((block) => blockFeatureShape(trunk, inputSize, block));
    const channels = shapes.map((shape) => shape[shape.length - 1]!);
    const attentionRng = rng.fork('attention');
    const masks = heads.map((spec) => {
      const taskRng = attentionRng.fork(spec.name);
      return channels.map(
        (c, j) =>
          new Dense(
            `tasks/${spec.name}/attention/${j}`,
            c + (j > 0 ? channels[j - 1]! : 0),
            c,
            'sigmoid',
            true,
            taskRng,
          ),
      );
    });
    const taskHeads = buildHeads(heads, widths[widths.length - 1]!, config.head, rng.fork('heads'), clock);

    const encode = (x: tf.Tensor2D, training: boolean): tf.Tensor2D =>
      tf.tidy(() => {
        let h: tf.Tensor = x;
        const features = blocks.map((block, j) => {
          h = applyBlock(trunk, block, h, training);
          return tf.reshape(h, [x.shape[0], widths[j]!]) as tf.Tensor2D;
        });
        return features.length === 1 ? features[0]! : tf.concat(features, 1);
      });

    /** Per task, the masks a_t^j (in their block's shape) and the attended features â_t^J (flat). */
    const attend = (z: tf.Tensor2D, t: number): { masks: tf.Tensor[]; attended: tf.Tensor2D } => {
      const batch = z.shape[0];
      const features = widths.length === 1 ? [z] : tf.split(z, widths, 1);
      const out: tf.Tensor[] = [];
      let attended: tf.Tensor2D | undefined;
      /** c(â_t^{j−1}): [batch, C_{j−1}]. */
      let context: tf.Tensor2D | undefined;
      features.forEach((flat, j) => {
        const dense = masks[t]![j]!;
        const shape = shapes[j]!;
        let a: tf.Tensor;
        let attendedHere: tf.Tensor;
        if (shape.length === 1) {
          a = dense.apply((context === undefined ? flat : tf.concat([flat, context], 1)) as tf.Tensor2D);
          attendedHere = tf.mul(a, flat);
          attended = attendedHere as tf.Tensor2D;
          context = attended;
        } else {
          const [height, width, c] = shape as [number, number, number];
          const positions = height * width;
          // One row per (example, position): a 1×1 convolution is a dense map over its channels.
          let rows: tf.Tensor2D = tf.reshape(flat, [batch * positions, c]);
          if (context !== undefined) {
            const spread = tf.tile(tf.expandDims(context, 1), [1, positions, 1]);
            rows = tf.concat([rows, tf.reshape(spread, [batch * positions, context.shape[1]])], 1);
          }
          const h = tf.reshape(flat, [batch, height, width, c]);
          a = tf.reshape(dense.apply(rows), [batch, height, width, c]);
          attendedHere = tf.mul(a, h);
          attended = tf.reshape(attendedHere, [batch, positions * c]);
          context = tf.mean(attendedHere, [1, 2]) as tf.Tensor2D; // global average pooling
        }
        out.push(a);
      });
      return { masks: out, attended: attended as tf.Tensor2D };
    };

    const decode = (representation: tf.Tensor, training: boolean): Record<string, tf.Tensor2D> => {
      const results = tf.tidy(() =>
        taskHeads.map((head, t) => head.apply(attend(representation as tf.Tensor2D, t).attended, training)),
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
          [...masks[t]!.flatMap((dense) => dense.trainable), ...head.trainable],
        ]),
      ),
      stateVariables: [...trunk.state, ...taskHeads.flatMap((head) => head.state)],
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
            attend(z, t).masks.forEach((a, j) => {
              record[`mask/${spec.name}/${j}`] = a;
            });
          });
          return record;
        });
      },
      dispose() {
        trunk.dispose();
        for (const dense of masks.flat()) for (const v of dense.trainable) v.dispose();
        for (const head of taskHeads) head.dispose();
      },
    };
    return model;
  },
};
