import * as tf from '@tensorflow/tfjs';
import { buildHeads } from '../heads.js';
import { Dense, DropoutSeeds, LayerStack } from '../layers.js';
import { applyBlock, splitBlocks, widthAfter, type Block, type InspectableModel } from '../experts.js';
import type { ArchitectureDefinition } from '../types.js';

/**
 * Multi-Task Attention Network (Liu, Johns & Davison 2019, CVPR; seed 001 §3.3), adapted from conv feature maps to dense trunks: one
 * shared trunk (the global feature pool) and, per task, a soft attention mask on the output h^j of every trunk block
 * (a dense layer with the dropout/norm layers after it):
 *
 *   a_t^0 = σ(W_t^0 h^0 + b_t^0),   a_t^j = σ(W_t^j [h^j ; â_t^{j−1}] + b_t^j)  (j ≥ 1),   â_t^j = a_t^j ⊙ h^j
 *   ŷ_t = head_t(â_t^J)
 *
 * Masks are computed from the shared features of the block and, as in MTAN, the task's attended features of the
 * block before (here concatenated, in place of MTAN's conv + pooling), and lie in (0, 1) elementwise. The trunk is
 * shared; masks and heads are task variables.
 *
 * Shared representation: z = [h^0, …, h^{J−1}] (all block outputs, concatenated); decode(z) splits it back and applies
 * the masks and heads, so representation-gradient strategies see every feature the masks read.
 */
export const attention: ArchitectureDefinition = {
  name: 'attention',
  description: 'MTAN-style: shared trunk + per-task sigmoid attention masks on every trunk block',
  paper: 'Liu, Johns & Davison, "End-to-End Multi-Task Learning with Attention", CVPR 2019',
  optionsSchema: {},
  hasSharedRepresentation: true,
  build(config, { inputSize, heads, rng }) {
    const dropoutSeeds = new DropoutSeeds(rng.fork('dropout').seed31());
    const trunk = new LayerStack('shared', inputSize, config.trunk, rng.fork('trunk'), dropoutSeeds);
    // An empty trunk still gets one (identity) block, so every task has one mask on the input itself.
    const blocks: Block[] = config.trunk.length === 0 ? [{ start: 0, end: 0 }] : splitBlocks(config.trunk);
    const widths = blocks.map((block) => widthAfter(trunk, inputSize, block.end));
    const attentionRng = rng.fork('attention');
    const masks = heads.map((spec) => {
      const taskRng = attentionRng.fork(spec.name);
      return widths.map((width, j) => new Dense(`tasks/${spec.name}/attention/${j}`, width + (j > 0 ? (widths[j - 1] as number) : 0), width, 'sigmoid', true, taskRng));
    });
    const taskHeads = buildHeads(heads, widths[widths.length - 1] as number, config.head, rng.fork('heads'), dropoutSeeds);

    const encode = (x: tf.Tensor2D, training: boolean): tf.Tensor2D =>
      tf.tidy(() => {
        let h = x;
        const features = blocks.map((block) => (h = applyBlock(trunk, block, h, training)));
        return features.length === 1 ? (features[0] as tf.Tensor2D) : tf.concat(features, 1);
      });

    /** Per task, the masks a_t^j and the attended features â_t^J. */
    const attend = (z: tf.Tensor2D, t: number): { masks: tf.Tensor2D[]; attended: tf.Tensor2D } => {
      const features = widths.length === 1 ? [z] : tf.split(z, widths, 1);
      const out: tf.Tensor2D[] = [];
      let attended: tf.Tensor2D | undefined;
      features.forEach((h, j) => {
        const input = attended === undefined ? h : tf.concat([h, attended], 1);
        const a = ((masks[t] as Dense[])[j] as Dense).apply(input as tf.Tensor2D);
        out.push(a);
        attended = tf.mul(a, h) as tf.Tensor2D;
      });
      return { masks: out, attended: attended as tf.Tensor2D };
    };

    const decode = (representation: tf.Tensor, training: boolean): Record<string, tf.Tensor2D> => {
      const results = tf.tidy(() => taskHeads.map((head, t) => head.apply(attend(representation as tf.Tensor2D, t).attended, training)));
      return Object.fromEntries(taskHeads.map((head, t) => [head.spec.name, results[t] as tf.Tensor2D]));
    };

    const model: InspectableModel = {
      architecture: 'attention',
      sharedVariables: trunk.trainable,
      taskVariables: Object.fromEntries(
        taskHeads.map((head, t) => [head.spec.name, [...(masks[t] as Dense[]).flatMap((dense) => dense.trainable), ...head.trainable]]),
      ),
      stateVariables: [...trunk.state, ...taskHeads.flatMap((head) => head.state)],
      setStep: (step) => {
        dropoutSeeds.step = step;
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
