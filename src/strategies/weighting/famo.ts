import { tf } from '../../tf.js';
import type { LossWeightingDefinition } from '../types.js';
import { enumOption, numberOption } from '../../util/options.js';
import { LastWeights, stopGradient } from './common.js';

/**
 * Fast Adaptive Multitask Optimization (FAMO): Liu, Feng, Stone & Liu, "FAMO: Fast Adaptive Multitask Optimization",
 * NeurIPS 2023, Algorithm 1, as in the authors' reference code (github.com/Cranial-XIX/FAMO, `famo.py`).
 *
 * Learned task logits ξ ∈ R^T (start at 0), z = softmax(ξ), and with the utopia point ℓ* = 0 (the reference code's
 * default `min_losses`) and ε = 1e-8, on each step's losses L_i:
 *
 *     D_i = L_i − ℓ*_i + ε,   c = Σ_i z_i / D_i  (a constant for the gradient),
 *     L   = (1/c) Σ_i z_i · log D_i,
 *
 * so ∂L/∂θ = Σ_i w_i ∂L_i/∂θ with w_i = z_i / (c·D_i), weights that sum to 1 (these are the weights reported).
 * The logits are not trained by the model's optimizer but by their own Adam (β = 0.9, 0.999, eps 1e-8, learning rate
 * `lr`, default 0.025, and coupled weight decay `gamma`, default 0.01 — PyTorch `Adam(weight_decay=γ)`, the reference
 * defaults) on the gradient
 *
 *     δ = J_softmax(ξ)ᵀ (log D(θ_t) − log D(θ_{t+1})) = z ⊙ (Δ − zᵀΔ),   Δ = log D(θ_t) − log D(θ_{t+1}),
 *     g = δ + γ·ξ,   m ← β1·m + (1−β1)·g,   v ← β2·v + (1−β2)·g²,   ξ ← ξ − lr·(m/(1−β1^k)) / (√(v/(1−β2^k)) + eps).
 *
 * Δ is measured as in the paper and the reference trainers (`delta: same-batch`, the default): after the optimizer
 * step the trainer runs one more forward pass on the *same* batch (training mode, the same dropout masks) and hands
 * the strategy L(θ_{t+1}) (`learnFromLossesAfterStep`); ξ is updated then, before the next step's weights are formed.
 * Cost: one extra forward pass per step (no backward pass, no read-back: ξ, the Adam moments and log D stay tensors).
 *
 * `delta: next-batch` is the cheaper variant, without the extra pass: log D(θ_t) is kept from the step and the ξ update
 * is done at the start of the next step, with L(θ_{t+1}) measured on the *next* batch. The update order is the same
 * (ξ is updated between the two weighted losses), but Δ then mixes the effect of the step with the difference between
 * two batches: batch-to-batch noise, and a bias towards tasks whose loss varies more between batches, that the
 * same-batch Δ does not have. The reference code also clips the shared gradient to norm 1 (`max_norm`); use
 * `training.grad_clip_norm: 1` for that.
 */
const deltaModes = ['same-batch', 'next-batch'] as const;

export const famo: LossWeightingDefinition = {
  name: 'famo',
  family: 'loss-weighting',
  paper: 'Liu, Feng, Stone & Liu 2023, "FAMO: Fast Adaptive Multitask Optimization" (NeurIPS)',
  cost: '1',
  optionsSchema: {
    lr: {
      type: 'number',
      exclusiveMinimum: 0,
      default: 0.025,
      description: 'Learning rate of the task logits ξ (Adam).',
    },
    gamma: {
      type: 'number',
      minimum: 0,
      default: 0.01,
      description: 'Weight decay γ of the task logits (regularises ξ towards 0).',
    },
    delta: {
      type: 'string',
      enum: [...deltaModes],
      default: 'same-batch',
      description:
        'Where L(θ_{t+1}) for Δ is measured: same-batch (paper; one extra forward pass per step) or next-batch ' +
        '(no extra pass; Δ carries batch-to-batch noise).',
    },
  },
  needs: () => 'losses',
  create(options, { tasks }) {
    const T = tasks.length;
    const lr = numberOption(options, 'strategy.lr', 0.025);
    const gamma = numberOption(options, 'strategy.gamma', 0.01);
    const delta = enumOption(options, 'strategy.delta', deltaModes, 'same-batch');
    const beta1 = 0.9;
    const beta2 = 0.999;
    const adamEps = 1e-8;
    const eps = 1e-8;
    let xi: tf.Tensor1D = tf.keep(tf.zeros([T]));
    let m: tf.Tensor1D = tf.keep(tf.zeros([T]));
    let v: tf.Tensor1D = tf.keep(tf.zeros([T]));
    let prevLogD: tf.Tensor1D | undefined;
    let updates = 0;
    const last = new LastWeights(tasks.map(() => 1 / T));

    const replace = (next: { xi: tf.Tensor1D; m: tf.Tensor1D; v: tf.Tensor1D }): void => {
      const old = [xi, m, v];
      xi = tf.keep(next.xi);
      m = tf.keep(next.m);
      v = tf.keep(next.v);
      old.forEach((t) => t.dispose());
    };

    /** One Adam step of ξ from Δ = log D(θ_t) − log D(θ_{t+1}). */
    const updateLogits = (delta: tf.Tensor1D): void => {
      updates++;
      const bias1 = 1 - beta1 ** updates;
      const bias2 = 1 - beta2 ** updates;
      const next = tf.tidy(() => {
        const z = tf.softmax(xi);
        const jtDelta = tf.mul(z, tf.sub(delta, tf.sum(tf.mul(z, delta))));
        const g = gamma > 0 ? tf.add(jtDelta, tf.mul(xi, gamma)) : jtDelta;
        const m1 = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)) as tf.Tensor1D;
        const v1 = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)) as tf.Tensor1D;
        const step = tf.div(tf.div(m1, bias1), tf.add(tf.sqrt(tf.div(v1, bias2)), adamEps));
        return { xi: tf.sub(xi, tf.mul(step, lr)) as tf.Tensor1D, m: m1, v: v1 };
      });
      replace(next);
    };

    const read = (t: tf.Tensor | undefined): number[] | null => (t ? Array.from(t.dataSync()) : null);

    /** Keeps log D(θ_t) of this step's losses, first updating ξ from the kept one in the next-batch variant. */
    const rememberLogD = (logD: tf.Tensor1D): void => {
      if (prevLogD && delta === 'next-batch') updateLogits(tf.sub(prevLogD, logD));
      prevLogD?.dispose();
      prevLogD = tf.keep(logD);
    };

    const sameBatch = {
      /** Same batch, new parameters: Δ = log D(θ_t) − log D(θ_{t+1}) and one Adam step of ξ. */
      learnFromLossesAfterStep(losses: tf.Tensor1D): void {
        if (!prevLogD) return;
        const before = prevLogD;
        tf.tidy(() => updateLogits(tf.sub(before, tf.log(tf.add(losses, eps)))));
        before.dispose();
        prevLogD = undefined;
      },
    };

    return {
      name: 'famo',
      needs: 'losses',
      combineLosses: (losses) =>
        tf.tidy(() => {
          const stacked = tf.stack(losses) as tf.Tensor1D;
          const detached = tf.add(stopGradient(stacked), eps) as tf.Tensor1D;
          rememberLogD(tf.log(detached) as tf.Tensor1D);
          const z = tf.softmax(xi);
          const c = tf.sum(tf.div(z, detached));
          last.set(tf.div(z, tf.mul(c, detached)));
          return tf.div(tf.sum(tf.mul(z, tf.log(tf.add(stacked, eps)))), c);
        }),
      ...(delta === 'same-batch' ? sameBatch : {}),
      currentWeights: () => last.read(),
      state: () => ({ logits: read(xi), m: read(m), v: read(v), updates, prevLogD: read(prevLogD) }),
      restore(state) {
        const s = state as
          | { logits?: unknown; m?: unknown; v?: unknown; updates?: unknown; prevLogD?: unknown }
          | undefined;
        const isVector = (x: unknown): x is number[] =>
          Array.isArray(x) && x.length === T && x.every((n) => typeof n === 'number');
        if (
          !s ||
          !isVector(s.logits) ||
          !isVector(s.m) ||
          !isVector(s.v) ||
          typeof s.updates !== 'number' ||
          !(s.prevLogD === null || isVector(s.prevLogD))
        ) {
          throw new Error(`famo strategy state does not match ${T} tasks: ${JSON.stringify(state)}`);
        }
        replace({ xi: tf.tensor1d(s.logits), m: tf.tensor1d(s.m), v: tf.tensor1d(s.v) });
        updates = s.updates;
        prevLogD?.dispose();
        prevLogD = s.prevLogD === null ? undefined : tf.keep(tf.tensor1d(s.prevLogD));
      },
      dispose() {
        [xi, m, v].forEach((t) => t.dispose());
        prevLogD?.dispose();
        prevLogD = undefined;
        last.dispose();
      },
    };
  },
};
