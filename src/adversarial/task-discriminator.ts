/**
 * The task discriminator of adversarial shared–private MTL (Liu, Qiu & Huang, "Adversarial Multi-task Learning for
 * Text Classification", ACL 2017, §4.1, eqs. (10)–(11)): D(s) = softmax(MLP(s)) over the T tasks, on the shared
 * features s = S(x) behind the gradient reversal layer R_λ (ops/gradient-reversal.ts), so one minimisation trains
 * both players:
 *
 *   L_adv = mean_rows CE(D(R_λ(S(x))), task of the row)
 *
 * D's variables descend L_adv (they learn to tell the tasks apart); S receives −λ · ∂L_adv/∂s and so ascends it (the
 * shared space moves to where the tasks cannot be told apart). A row's task is whose data it came from: in a
 * multi-input run, its data group; where several tasks read one group, its target is uniform over them (a row of
 * such a group belongs to each of them equally), and a prediction of any of them is correct.
 */
import { tf } from '../tf.js';
import { Dense } from '../model/layers/dense.js';
import type { RowGroups } from '../model/types.js';
import { gradientReversal } from '../ops/gradient-reversal.js';
import type { Rng } from '../util/rng.js';

export class TaskDiscriminator {
  readonly layers: Dense[];
  constructor(
    name: string,
    inputSize: number,
    hidden: readonly number[],
    readonly taskNames: readonly string[],
    rng: Rng,
  ) {
    const widths = [inputSize, ...hidden, taskNames.length];
    this.layers = widths.slice(1).map((units, i) => {
      const activation = i < hidden.length ? 'relu' : 'linear';
      return new Dense(`${name}/${i}`, widths[i]!, units, activation, true, rng);
    });
  }
  get variables(): tf.Variable[] {
    return this.layers.flatMap((layer) => layer.trainable);
  }
  logits(shared: tf.Tensor2D): tf.Tensor2D {
    return this.layers.reduce((h, layer) => layer.apply(h), shared);
  }
  /** Per row, the target distribution over the tasks: uniform over the tasks of the row's data group. */
  targets(groups: RowGroups): tf.Tensor2D {
    const T = this.taskNames.length;
    const values = new Float32Array(groups.ofRow.length * T);
    groups.ofRow.forEach((group, row) => {
      const tasks = groups.tasks[group] ?? [];
      for (const task of tasks) values[row * T + this.taskNames.indexOf(task)] = 1 / tasks.length;
    });
    return tf.tensor2d(values, [groups.ofRow.length, T]);
  }
  /** L_adv on the shared features behind R_λ: the term the model's penalty adds (times its weight). */
  loss(shared: tf.Tensor2D, groups: RowGroups, lambda: number): tf.Scalar {
    return tf.tidy(() => crossEntropy(this.logits(gradientReversal(shared, lambda)), this.targets(groups)));
  }
  /** L_adv, accuracy (argmax among the row's tasks) and chance (the largest group's share of the rows). */
  measure(shared: tf.Tensor2D, groups: RowGroups): { loss: number; accuracy: number; chance: number } {
    const { loss, predicted } = tf.tidy(() => {
      const logits = this.logits(shared);
      return { loss: crossEntropy(logits, this.targets(groups)), predicted: tf.argMax(logits, 1) };
    });
    const argmax = predicted.dataSync();
    const rows = groups.ofRow.length;
    let correct = 0;
    const perGroup = new Map<number, number>();
    groups.ofRow.forEach((group, row) => {
      const tasks = groups.tasks[group] ?? [];
      if (tasks.includes(this.taskNames[argmax[row]!] ?? '')) correct++;
      perGroup.set(group, (perGroup.get(group) ?? 0) + 1);
    });
    const result = {
      loss: loss.dataSync()[0]!,
      accuracy: correct / Math.max(1, rows),
      chance: Math.max(0, ...perGroup.values()) / Math.max(1, rows),
    };
    tf.dispose([loss, predicted]);
    return result;
  }
  dispose(): void {
    for (const v of this.variables) v.dispose();
  }
}

/** mean_rows −Σ_k target_k log softmax(logits)_k. */
function crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), 1))) as tf.Scalar);
}
