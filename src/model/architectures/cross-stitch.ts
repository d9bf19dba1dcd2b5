import { tf } from '../../tf.js';
import { UsageError } from '../../errors.js';
import { buildHeads } from '../heads.js';
import { makeVariable } from '../layers/initialisers.js';
import { LayerStack } from '../layers/stack.js';
import { StepClock } from '../step-clock.js';
import { numberOption } from '../../util/options.js';
import { applyBlock, splitBlocks, type InspectableModel } from '../experts.js';
import type { ArchitectureDefinition } from '../types.js';

/**
 * Cross-stitch networks (Misra, Shrivastava, Gupta & Hebert 2016): one tower per task built from `trunk`; after each
 * block of the towers (a dense or conv2d layer plus the dropout/norm/pooling/flatten layers that follow it, see
 * splitBlocks) a learned T×T matrix α^l mixes the T task activations elementwise, whatever their shape (flat
 * features, or feature maps [height, width, channels] as in the paper's conv networks):
 *
 *   h̃_t^l = Σ_s α^l_{ts} h_s^l,   then tower t continues from h̃_t^l;   ŷ_t = head_t(h̃_t^L)
 *
 * α^l starts at α on the diagonal and (1 − α)/(T − 1) elsewhere (option `alpha`, 0.9 as the paper's
 * (α_S, α_D) = (0.9, 0.1) for two tasks), so every row sums to one. One scalar per task pair per block (the paper's
 * unit may also be per channel).
 *
 * Parameter roles: through the mixing, every tower block influences every task's loss, so the towers and the
 * cross-stitch matrices are all `sharedVariables`; only the heads are task parameters. Outputs mix per example, so
 * there is no single shared representation (hasSharedRepresentation: false).
 */
export const crossStitch: ArchitectureDefinition = {
  name: 'cross-stitch',
  description: 'Per-task towers whose activations are linearly mixed by learned cross-stitch units after each block',
  paper: 'Misra, Shrivastava, Gupta & Hebert, "Cross-stitch Networks for Multi-task Learning", CVPR 2016',
  optionsSchema: {
    alpha: {
      type: 'number',
      minimum: 0,
      maximum: 1,
      default: 0.9,
      description:
        'Initial weight a task keeps of its own activations; the rest, 1 − alpha, is spread evenly over the other ' +
        'tasks.',
    },
  },
  hasSharedRepresentation: false,
  build(config, { inputSize, heads, rng }) {
    const alpha = numberOption(config, 'model.alpha', 0.9);
    if (alpha < 0 || alpha > 1) throw new UsageError(`cross-stitch: model.alpha must be in [0, 1] (got ${alpha})`);
    const T = heads.length;
    const clock = new StepClock(rng.fork('dropout').seed31());
    const towerRng = rng.fork('towers');
    const towers = heads.map(
      (spec) => new LayerStack(`towers/${spec.name}`, inputSize, config.trunk, towerRng.fork(spec.name), clock),
    );
    const blocks = splitBlocks(config.trunk);
    const initial = new Float32Array(T * T);
    for (let t = 0; t < T; t++) {
      for (let s = 0; s < T; s++) initial[t * T + s] = t === s ? (T === 1 ? 1 : alpha) : (1 - alpha) / (T - 1);
    }
    const stitches = blocks.map((_, l) => makeVariable(`cross-stitch/${l}/alpha`, initial, [T, T]));
    const towerOutput = towers[0]?.outputSize ?? inputSize;
    const taskHeads = buildHeads(heads, towerOutput, config.head, rng.fork('heads'), clock);

    /** Runs the towers, recording pre- and post-mixing activations when asked. */
    const run = (x: tf.Tensor2D, training: boolean, record?: Record<string, tf.Tensor>): tf.Tensor2D[] => {
      let hs: tf.Tensor[] = towers.map(() => x);
      blocks.forEach((block, l) => {
        const pre = towers.map((tower, t) => applyBlock(tower, block, hs[t]!, training));
        // Any shape ([batch, width] or [batch, height, width, channels]): the mixing is elementwise.
        const shape = pre[0]!.shape;
        const size = pre[0]!.size;
        // [T, batch·features] rows mixed by α^l: row t of α^l · H is Σ_s α_ts h_s.
        const mixed = tf.matMul(stitches[l] as tf.Tensor2D, tf.reshape(tf.stack(pre), [T, size]));
        hs = tf.unstack(tf.reshape(mixed, [T, ...shape]));
        if (record) {
          heads.forEach((spec, t) => {
            record[`tower/${spec.name}/${l}`] = pre[t]!;
            record[`mixed/${spec.name}/${l}`] = hs[t]!;
          });
        }
      });
      // Towers end flat (a stack must), so these are [batch, width].
      return hs as tf.Tensor2D[];
    };

    const forward = (x: tf.Tensor2D, training: boolean): Record<string, tf.Tensor2D> => {
      const outputs: Record<string, tf.Tensor2D> = {};
      const results = tf.tidy(() => {
        const hs = run(x, training);
        return taskHeads.map((head, t) => head.apply(hs[t]!, training));
      });
      taskHeads.forEach((head, t) => {
        outputs[head.spec.name] = results[t]!;
      });
      return outputs;
    };

    const model: InspectableModel & { stitches: tf.Variable[] } = {
      architecture: 'cross-stitch',
      stitches,
      sharedVariables: [...towers.flatMap((tower) => tower.trainable), ...stitches],
      taskVariables: Object.fromEntries(taskHeads.map((head) => [head.spec.name, head.trainable])),
      stateVariables: [...towers.flatMap((tower) => tower.state), ...taskHeads.flatMap((head) => head.state)],
      setStep: (step) => {
        clock.step = step;
      },
      forward: (x, training) => ({ outputs: forward(x, training) }),
      inspect(x) {
        return tf.tidy(() => {
          const record: Record<string, tf.Tensor> = {};
          run(x, false, record);
          return record;
        });
      },
      dispose() {
        for (const tower of towers) tower.dispose();
        for (const head of taskHeads) head.dispose();
        for (const v of stitches) v.dispose();
      },
    };
    return model;
  },
};
