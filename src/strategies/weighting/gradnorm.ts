import { tf } from '../../tf.js';
import type { LossWeightingDefinition } from '../types.js';
import { numberOption } from '../../util/options.js';
import { LastWeights } from './common.js';

/**
 * GradNorm: Chen, Badrinarayanan, Lee & Rabinovich, "GradNorm: Gradient Normalization for Adaptive Loss Balancing in
 * Deep Multitask Networks", ICML 2018, Algorithm 1. Learned task weights w_i, starting at 1; the model is trained on
 *
 *     L = Σ_i w_i L_i                                    (w a constant for the model's gradient)
 *
 * and, on the same batch at the same parameters, with W the model's last shared layer of weights
 * (`MultiTaskModel.lastSharedLayer`, the kernel and bias of the last dense/conv2d layer every task goes through):
 *
 *     n_i = ‖∇_W L_i‖,   G_i = ‖∇_W w_i L_i‖ = w_i n_i,   Ḡ = mean_i G_i,
 *     L̃_i = L_i / L_i(0)   (L_i(0): the task's loss at the first step),   r_i = L̃_i / mean_j L̃_j,
 *     L_grad = Σ_i | G_i − Ḡ · r_i^α |,   the target Ḡ · r_i^α held constant (as the paper and LibMTL do),
 *
 * so ∂L_grad/∂w_i = sign(G_i − Ḡ r_i^α) · n_i. A task that trains slower than the others (r_i > 1) gets a larger target
 * gradient norm and its weight rises; α (asymmetry, default 1.5: LibMTL's default and the paper's value for NYUv2;
 * the paper's synthetic task used 0.12) sets how strongly. The weights take one step of their own Adam (β = 0.9,
 * 0.999, eps 1e-8, learning rate `lr`, default 0.025) on that gradient, then are renormalised, w ← T·w / Σ_j w_j, so
 * they always sum to T (Algorithm 1's last line; it decouples the weights from the global learning rate).
 *
 * Choices the paper leaves open, and how LibMTL (weighting/GradNorm.py) differs:
 * - Optimizer of w: the paper says "standard update rules" without a rate. LibMTL trains w with the model's own
 *   optimizer and learning rate, through w = T·softmax(θ) instead of the renormalisation. Here w has its own Adam and
 *   learning rate, so the model's schedule and weight decay do not act on it, and its Adam moments are not disturbed by
 *   the model's; the renormalisation is the paper's.
 * - L_i(0): the paper's loss at t = 0 (here the first step's batch loss, kept with the checkpoints). LibMTL trains the
 *   first epoch with equal weights and uses that epoch's mean loss.
 * - W: the paper's last shared layer; LibMTL measures the norms on all shared parameters (or the representation).
 * - A weight the Adam step would take below `min_weight` (default 1e-4; the paper does not say what to do with a
 *   negative weight, which would make the model ascend that task's loss) is set to it before the renormalisation.
 *
 * Cost: besides the step's forward and backward pass, per task a backward pass from the same forward pass through the
 * heads and W only (train/loss-step.ts computes n_i and hands them over, `learnFromLastSharedLayerNorms`). Everything
 * stays on the backend: no read-back per step.
 */
export const gradnorm: LossWeightingDefinition = {
  name: 'gradnorm',
  family: 'loss-weighting',
  paper:
    'Chen, Badrinarayanan, Lee & Rabinovich 2018, "GradNorm: Gradient Normalization for Adaptive Loss Balancing in ' +
    'Deep Multitask Networks" (ICML)',
  cost: '1 + T to the last shared layer',
  optionsSchema: {
    alpha: {
      type: 'number',
      minimum: 0,
      default: 1.5,
      description: 'Asymmetry α: how strongly slower tasks get larger target gradient norms (0 = equal norms).',
    },
    lr: {
      type: 'number',
      exclusiveMinimum: 0,
      default: 0.025,
      description: 'Learning rate of the task weights (their own Adam).',
    },
    min_weight: {
      type: 'number',
      exclusiveMinimum: 0,
      default: 1e-4,
      description: 'Floor of a task weight after its Adam step, before the renormalisation to Σ w = T.',
    },
  },
  usesLastSharedLayer: true,
  needs: () => 'losses',
  create(options, { tasks }) {
    const T = tasks.length;
    const alpha = numberOption(options, 'strategy.alpha', 1.5, { minimum: 0 });
    const lr = numberOption(options, 'strategy.lr', 0.025);
    const minWeight = numberOption(options, 'strategy.min_weight', 1e-4);
    const beta1 = 0.9;
    const beta2 = 0.999;
    const adamEps = 1e-8;
    let w: tf.Tensor1D = tf.keep(tf.ones([T]));
    let m: tf.Tensor1D = tf.keep(tf.zeros([T]));
    let v: tf.Tensor1D = tf.keep(tf.zeros([T]));
    let initialLosses: tf.Tensor1D | undefined;
    let updates = 0;
    const last = new LastWeights(tasks.map(() => 1));

    const replace = (next: { w: tf.Tensor1D; m: tf.Tensor1D; v: tf.Tensor1D }): void => {
      const old = [w, m, v];
      w = tf.keep(next.w);
      m = tf.keep(next.m);
      v = tf.keep(next.v);
      old.forEach((t) => t.dispose());
    };

    const read = (t: tf.Tensor | undefined): number[] | null => (t ? Array.from(t.dataSync()) : null);

    return {
      name: 'gradnorm',
      needs: 'losses',
      combineLosses: (losses) =>
        tf.tidy(() => {
          last.set(tf.clone(w));
          return tf.sum(tf.mul(w, tf.stack(losses)));
        }),
      learnFromLastSharedLayerNorms(norms, losses) {
        initialLosses ??= tf.keep(tf.clone(losses));
        const L0 = initialLosses;
        updates++;
        const bias1 = 1 - beta1 ** updates;
        const bias2 = 1 - beta2 ** updates;
        const next = tf.tidy(() => {
          const G = tf.mul(w, norms);
          const ratio = tf.div(losses, L0);
          const r = tf.div(ratio, tf.mean(ratio));
          const target = tf.mul(tf.mean(G), tf.pow(r, alpha));
          const g = tf.mul(tf.sign(tf.sub(G, target)), norms);
          const m1 = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)) as tf.Tensor1D;
          const v1 = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)) as tf.Tensor1D;
          const step = tf.div(tf.div(m1, bias1), tf.add(tf.sqrt(tf.div(v1, bias2)), adamEps));
          const stepped = tf.maximum(tf.sub(w, tf.mul(step, lr)), minWeight);
          return { w: tf.mul(stepped, tf.div(T, tf.sum(stepped))) as tf.Tensor1D, m: m1, v: v1 };
        });
        replace(next);
      },
      currentWeights: () => last.read(),
      state: () => ({ weights: read(w), m: read(m), v: read(v), updates, initialLosses: read(initialLosses) }),
      restore(state) {
        const s = state as
          | { weights?: unknown; m?: unknown; v?: unknown; updates?: unknown; initialLosses?: unknown }
          | undefined;
        const isVector = (x: unknown): x is number[] =>
          Array.isArray(x) && x.length === T && x.every((n) => typeof n === 'number');
        if (
          !s ||
          !isVector(s.weights) ||
          !isVector(s.m) ||
          !isVector(s.v) ||
          typeof s.updates !== 'number' ||
          !(s.initialLosses === null || isVector(s.initialLosses))
        ) {
          throw new Error(`gradnorm strategy state does not match ${T} tasks: ${JSON.stringify(state)}`);
        }
        replace({ w: tf.tensor1d(s.weights), m: tf.tensor1d(s.m), v: tf.tensor1d(s.v) });
        updates = s.updates;
        initialLosses?.dispose();
        initialLosses = s.initialLosses === null ? undefined : tf.keep(tf.tensor1d(s.initialLosses));
        last.set(tf.clone(w));
      },
      dispose() {
        [w, m, v].forEach((t) => t.dispose());
        initialLosses?.dispose();
        initialLosses = undefined;
        last.dispose();
      },
    };
  },
};
