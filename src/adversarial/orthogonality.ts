import { tf } from '../tf.js';

/**
 * The orthogonality constraint of Liu, Qiu & Huang, "Adversarial Multi-task Learning for Text Classification"
 * (ACL 2017), §4.2, eq. (13): for task t, S_t and P_t are the shared and private features of its rows (one row per
 * example), and
 *
 *   L_diff = Σ_t ‖S_tᵀ P_t‖²_F
 *
 * which is 0 when every shared feature is orthogonal (over the rows) to every private feature, so the two spaces
 * hold different information. This is one task's term ‖SᵀP‖²_F.
 */
export function orthogonalityPenalty(shared: tf.Tensor2D, private_: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.square(tf.matMul(shared, private_, true, false))));
}
