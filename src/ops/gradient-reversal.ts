import { tf } from '../tf.js';

/**
 * The gradient reversal layer of Ganin & Lempitsky, "Unsupervised Domain Adaptation by Backpropagation" (ICML 2015),
 * §3.2: R_λ(x) = x in the forward pass, dR_λ/dx = −λ·I in the backward pass.
 *
 *   forward:  y = x
 *   backward: ∂L/∂x = −λ · ∂L/∂y
 *
 * So a head behind it learns to predict its target as usual while everything before it receives −λ times that
 * head's gradient: the layers below move to make the head's task harder. Seed 000's code sample multiplies the
 * forward pass by −λ instead; that changes what the head sees and is not a reversal layer (test/gradient-reversal).
 * λ = 0 passes no gradient at all (the head trains, the layers below do not hear from it).
 */
export function gradientReversal<T extends tf.Tensor>(x: T, lambda: number): T {
  if (!Number.isFinite(lambda) || lambda < 0) {
    throw new Error(`gradient reversal needs a finite λ ≥ 0, got ${lambda}`);
  }
  const reverse = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.clone(args[0] as tf.Tensor),
    gradFunc: (dy: tf.Tensor | tf.Tensor[]) => tf.mul(dy as tf.Tensor, -lambda),
  }));
  return reverse(x) as T;
}
