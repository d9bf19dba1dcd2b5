import { tf } from '../../tf.js';

/** The activations a dense or conv2d layer can name. */
export const ACTIVATIONS = ['relu', 'elu', 'relu6', 'leaky-relu', 'tanh', 'sigmoid', 'gelu', 'linear'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

/** The schema of an `activation` option. */
export const activationSchema: Record<string, unknown> = { enum: [...ACTIVATIONS], default: 'relu' };

/** The activations TF.js can fuse into matMul and conv2d *and* differentiate there (tfjs-core getFusedDyActivation). */
export function isFusable(activation: Activation): activation is 'linear' | 'relu' {
  return activation === 'linear' || activation === 'relu';
}

export function activate(x: tf.Tensor, activation: Activation): tf.Tensor {
  switch (activation) {
    case 'linear':
      return x;
    case 'relu':
      return tf.relu(x);
    case 'relu6':
      return tf.relu6(x);
    case 'elu':
      return tf.elu(x);
    case 'leaky-relu':
      return tf.leakyRelu(x, 0.2);
    case 'tanh':
      return tf.tanh(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'gelu':
      // tanh approximation (Hendrycks & Gimpel 2016), as TF/PyTorch's "approximate" GELU.
      return tf.tidy(() => {
        const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
        return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
      });
  }
}
