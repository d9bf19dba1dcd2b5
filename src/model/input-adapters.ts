/**
 * Per-source input adapters for multi-input MTL (issue #17: "a per-task input adapter layer when widths differ"):
 * a task whose own data encodes its features with another layout than the shared input gets a dense layer from its
 * width to the shared width, learned with the model (the "input-specific encoder" of multi-domain/multi-input
 * networks, e.g. Rebuffi et al., "Learning multiple visual domains with residual adapters", NeurIPS 2017, here a
 * full linear map since the layouts have nothing in common).
 *
 * Input layout (data/multi-input.ts `mergeGroupRows`): a row of data group g is its own encoding x_g ∈ ℝ^{w_g},
 * zero-padded to P = max_g w_g, followed by G group indicators (one-hot, 1 at P + g). The model reads
 *
 *   h = Σ_g e_g · A_g(x[:, 0:w_g]),   A_g(u) = u·K_g + b_g  (K_g: w_g × W)  or  A_g(u) = u  (w_g = W, same layout),
 *
 * e_g the row's indicator of group g, W the shared width (the first group's). Every A_g is computed on the whole
 * batch and masked by e_g, so a row reaches its own group's adapter only: K_g gets gradient from g's rows only.
 * Names: `adapters/<task>/kernel` and `/bias`, <task> the group's first task. A group of one task owns its adapter
 * (in that task's variables, as its head); a group of several tasks shares it among them (in `sharedVariables`).
 */
import { tf } from '../tf.js';
import type { InputAdapters } from '../data/preprocess.js';
import { denseLinear } from '../ops/dense.js';
import type { Rng } from '../util/rng.js';
import { glorotUniform, makeVariable } from './layers/initialisers.js';
import type { MultiTaskModel } from './types.js';

interface Adapter {
  width: number;
  kernel?: tf.Variable;
  bias?: tf.Variable;
}

/** Wraps a model built on the shared width with the groups' adapters (`groupTasks[g]`: the tasks of group g). */
export function withInputAdapters(
  inner: MultiTaskModel,
  spec: InputAdapters,
  groupTasks: string[][],
  rng: Rng,
): MultiTaskModel {
  const padded = Math.max(...spec.groups.map((g) => g.width));
  const adapters: Adapter[] = spec.groups.map((group) => {
    if (group.adapter === undefined) return { width: group.width };
    const name = `adapters/${group.adapter}`;
    const fork = rng.fork(group.adapter);
    return {
      width: group.width,
      kernel: makeVariable(`${name}/kernel`, glorotUniform(fork, group.width, spec.sharedWidth), [
        group.width,
        spec.sharedWidth,
      ]),
      bias: makeVariable(`${name}/bias`, new Float32Array(spec.sharedWidth), [spec.sharedWidth]),
    };
  });
  const owned = (a: Adapter): tf.Variable[] => (a.kernel && a.bias ? [a.kernel, a.bias] : []);
  const sharedAdapters = adapters.flatMap((a, g) => ((groupTasks[g] ?? []).length > 1 ? owned(a) : []));
  const taskVariables = { ...inner.taskVariables };
  adapters.forEach((a, g) => {
    const tasks = groupTasks[g] ?? [];
    if (tasks.length === 1 && tasks[0] !== undefined && a.kernel) {
      taskVariables[tasks[0]] = [...(taskVariables[tasks[0]] ?? []), ...owned(a)];
    }
  });
  const adapt = (x: tf.Tensor2D): tf.Tensor2D =>
    tf.tidy(() => {
      const rows = x.shape[0];
      let sum: tf.Tensor2D | undefined;
      adapters.forEach((a, g) => {
        const own = tf.slice2d(x, [0, 0], [rows, a.width]);
        const mapped = a.kernel && a.bias ? denseLinear(own, a.kernel, a.bias) : own;
        const part = tf.mul<tf.Tensor2D>(mapped, tf.slice2d(x, [0, padded + g], [rows, 1]));
        sum = sum ? tf.add<tf.Tensor2D>(sum, part) : part;
      });
      if (!sum) throw new Error('input adapters without groups');
      return sum;
    });
  const model: MultiTaskModel = {
    architecture: inner.architecture,
    sharedVariables: [...inner.sharedVariables, ...sharedAdapters],
    taskVariables,
    stateVariables: inner.stateVariables,
    // Task-owned adapters are read before the representation (representation-gradient steps train them via encode).
    inputVariables: adapters.flatMap((a, g) => ((groupTasks[g] ?? []).length === 1 ? owned(a) : [])),
    // The adapted input stays alive as the layers' own intermediates do: a gradient tape may hold it, and the
    // caller's tidy disposes it.
    forward: (x, training) => inner.forward(adapt(x), training),
    setStep: (step) => inner.setStep(step),
    ...(inner.lastSharedLayer ? { lastSharedLayer: inner.lastSharedLayer } : {}),
    dispose: () => {
      inner.dispose();
      for (const a of adapters) for (const v of owned(a)) v.dispose();
    },
  };
  const { encode, decode, penalty } = inner;
  if (encode) {
    model.encode = (x, training) => encode.call(inner, adapt(x), training);
  }
  if (decode) model.decode = (representation, training) => decode.call(inner, representation, training);
  if (penalty) model.penalty = () => penalty.call(inner);
  return model;
}
