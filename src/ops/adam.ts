import { tf } from '../tf.js';
import { ADAM_UPDATE_KERNEL, fusedAdamMaxSize, type AdamUpdateAttrs } from '../backend/wasm/index.js';

/**
 * One Adam/AdamW step (Kingma & Ba 2015, Alg. 1; AdamW's decoupled decay, Loshchilov & Hutter 2019) of a variable
 * and its moments:
 *
 *   g  = g + w·coupledDecay                      (classic L2; 0 for AdamW)
 *   m' = m·β1 + g·(1 − β1)
 *   v' = v·β2 + g²·(1 − β2)
 *   u  = m'·stepSize / (√(v' / bias2) + ε)       stepSize = lr/(1 − β1^t), bias2 = 1 − β2^t
 *   u  = u + w·decoupledDecay                    (lr·decay for AdamW; 0 otherwise)
 *   w' = w − u
 *
 * On a backend with the `MtlAdamUpdate` kernel (wasm: backend/wasm/adam.ts, installed with the wasm overrides) that is
 * one kernel instead of 13 ops for every variable up to the size where the kernel is faster; elsewhere TF.js's ops in
 * the order above. Both give the same values bit for bit (test/fast-paths.test.ts).
 */
export type AdamHyperparameters = AdamUpdateAttrs;

/** A variable, its gradient and its two moments (float32, one shape). */
export type AdamInputs = {
  variable: tf.Tensor;
  gradient: tf.Tensor;
  m: tf.Tensor;
  v: tf.Tensor;
};

/** The updated variable and moments: new tensors, for the caller to assign. */
export interface AdamOutputs {
  variable: tf.Tensor;
  m: tf.Tensor;
  v: tf.Tensor;
}

/**
 * The largest variable the active backend's Adam kernel should take: 0 where it has none. An optimizer looks it up
 * once per update rather than once per variable (tests swap kernels and backends between updates).
 */
export function adamKernelLimit(): number {
  return tf.getKernel(ADAM_UPDATE_KERNEL, tf.getBackend()) === undefined ? 0 : fusedAdamMaxSize();
}

/**
 * The step for one variable. `scalar` makes the float32 scalars of the op chain (an optimizer passes a cache shared by
 * its variables); `kernelLimit` is {@link adamKernelLimit}'s answer, looked up here when not given. Call it inside
 * `tf.tidy`: the op chain's intermediates (and the scalars, which may outlive one call) belong to the caller's scope.
 */
export function adamUpdate(
  inputs: AdamInputs,
  hyper: AdamHyperparameters,
  scalar: (value: number) => tf.Scalar = tf.scalar,
  kernelLimit = adamKernelLimit(),
): AdamOutputs {
  const { variable, gradient: rawGradient, m: previousM, v: previousV } = inputs;
  if (variable.size <= kernelLimit && variable.dtype === 'float32') {
    const [w, m, v] = tf.engine().runKernel(ADAM_UPDATE_KERNEL, inputs, hyper as unknown as tf.NamedAttrMap) as [
      tf.Tensor,
      tf.Tensor,
      tf.Tensor,
    ];
    return { variable: w, m, v };
  }
  const { beta1, beta2, stepSize, bias2, epsilon, coupledDecay, decoupledDecay } = hyper;
  const gradient = coupledDecay > 0 ? tf.add(rawGradient, tf.mul(variable, scalar(coupledDecay))) : rawGradient;
  const m = tf.add(tf.mul(previousM, scalar(beta1)), tf.mul(gradient, scalar(1 - beta1)));
  const v = tf.add(tf.mul(previousV, scalar(beta2)), tf.mul(tf.square(gradient), scalar(1 - beta2)));
  let update = tf.div(tf.mul(m, scalar(stepSize)), tf.add(tf.sqrt(tf.div(v, scalar(bias2))), scalar(epsilon)));
  if (decoupledDecay > 0) update = tf.add(update, tf.mul(variable, scalar(decoupledDecay)));
  return { variable: tf.sub(variable, update), m, v };
}
