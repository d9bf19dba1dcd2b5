import { tf } from '../tf.js';
import { Dense } from '../model/layers/dense.js';
import type { Rng } from '../util/rng.js';

/**
 * A discriminator: a small MLP (dense relu layers of `hidden` units, then one linear logit), built from our dense op
 * on its own variables (named `<name>/<i>/kernel|bias`), which are never part of the model's shared or task variables.
 *
 * The GAN objective (Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014; seed 000 §4.2.1), with D = σ(l):
 *
 *   discriminator: max log D(real) + log(1 − D(fake))
 *                  ⇔ min L_D = mean softplus(−l_real) + mean softplus(l_fake)   (sigmoid cross-entropy, real=1, fake=0)
 *   generator (non-saturating form, §3 of the paper): min L_G = −mean log D(fake) = mean softplus(−l_fake)
 */
export class Discriminator {
  readonly layers: Dense[];
  constructor(name: string, inputSize: number, hidden: readonly number[], rng: Rng) {
    const widths = [inputSize, ...hidden, 1];
    this.layers = widths.slice(1).map((units, i) => {
      const activation = i < hidden.length ? 'relu' : 'linear';
      return new Dense(`${name}/${i}`, widths[i]!, units, activation, true, rng);
    });
  }
  get variables(): tf.Variable[] {
    return this.layers.flatMap((layer) => layer.trainable);
  }
  /** The logit l per row ([rows]). */
  logits(features: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => {
      const out = this.layers.reduce((h, layer) => layer.apply(h), features);
      return tf.reshape(out, [-1]) as tf.Tensor1D;
    });
  }
  dispose(): void {
    for (const v of this.variables) v.dispose();
  }
}

/** L_D = mean softplus(−l_real) + mean softplus(l_fake): −(log D(real) + log(1 − D(fake))), each a batch mean. */
export function discriminatorLoss(realLogits: tf.Tensor1D, fakeLogits: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.add(tf.mean(tf.softplus(tf.neg(realLogits))), tf.mean(tf.softplus(fakeLogits))));
}

/** The non-saturating generator loss L_G = −mean log D(fake) = mean softplus(−l_fake). */
export function generatorLoss(fakeLogits: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.softplus(tf.neg(fakeLogits))));
}

/** How many rows the discriminator places on the right side: real with l > 0, fake with l < 0 (l = 0 counts wrong). */
export function correctCount(realLogits: ArrayLike<number>, fakeLogits: ArrayLike<number>): number {
  let correct = 0;
  for (let i = 0; i < realLogits.length; i++) if (realLogits[i]! > 0) correct++;
  for (let i = 0; i < fakeLogits.length; i++) if (fakeLogits[i]! < 0) correct++;
  return correct;
}
