import { tf } from '../tf.js';
import type { GradientStrategy, LossWeightingStrategy, StrategyContext, TaskLossScaling } from './types.js';

/**
 * A gradient strategy whose task gradients are first scaled by a loss-weighting strategy (`inner`): the shared
 * machinery of full IMTL (IMTL-G on the gradients of IMTL-L's scaled losses) and of weighted-average with
 * `weights_from` (the plain sum of the task gradients scaled by any loss-weighting method).
 *
 * With F = inner.combineLosses(L_1, …, L_T) — the scalar the method would differentiate as loss weighting — task i's
 * gradient is scaled by c_i = ∂F/∂L_i, evaluated at the batch's losses, and the inner method's own variables φ
 * (learned log-variances, IMTL-L's scales) get ∂F/∂φ, exactly what they get when the method runs alone. The inner
 * method keeps its full behaviour: F is evaluated once per step (so FAMO's logit update and RLW's draw happen once),
 * its epoch, batch and after-step hooks are forwarded, its variables are trained, its state is saved and restored.
 *
 * For a method that is a weighted sum Σ w_i L_i with constant w (static, dwa, rlw, loss-ratio, accuracy) c = w; for
 * the others c is the weight the method effectively gives each task's gradient: c·e^{−s_i} (uncertainty), e^{s_i}
 * (imtl-l), L/(T·L_i) (gls), z_i/(c·D_i) (famo).
 *
 * The weights reported for the run log are the effective weights on the raw task gradients, w_i = α_i·c_i with α the
 * combiner's weights on the scaled gradients (α = 1 for the plain sum), so that the update is Σ w_i ∇L_i.
 */
export function scaledByLossWeighting(
  base: GradientStrategy,
  inner: LossWeightingStrategy,
  name: string,
  taskCount: number,
): GradientStrategy {
  let scales: number[] | undefined;
  let weights: number[] | undefined;
  const lossScaling: TaskLossScaling = {
    scale(losses, context) {
      const result = lossScales(inner, losses, context);
      scales = result.scales;
      return result;
    },
  };
  return {
    name,
    needs: base.needs,
    combiner: {
      combine(input) {
        const result = base.combiner.combine(input);
        const alpha = result.weights ?? new Array<number>(taskCount).fill(1);
        weights = alpha.map((a, i) => a * (scales?.[i] ?? 1));
        return result;
      },
      state: () => base.combiner.state(),
      restore: (state) => base.combiner.restore(state),
    },
    lossScaling,
    ...(inner.variables ? { variables: () => inner.variables?.() ?? [] } : {}),
    currentWeights: () => weights ?? inner.currentWeights(),
    onEpochEnd: (summary) => inner.onEpochEnd?.(summary),
    ...(inner.onBatchMetrics ? { onBatchMetrics: (summary) => inner.onBatchMetrics?.(summary) } : {}),
    ...(inner.learnFromLossesAfterStep
      ? { learnFromLossesAfterStep: (losses) => inner.learnFromLossesAfterStep?.(losses) }
      : {}),
    state: () => ({ inner: inner.state(), gradient: base.state(), weights: weights ?? null }),
    restore(state) {
      const saved = state as { inner?: unknown; gradient?: unknown; weights?: unknown } | undefined;
      const isWeights = (w: unknown): w is number[] =>
        Array.isArray(w) && w.length === taskCount && w.every((x) => typeof x === 'number');
      if (!saved || typeof saved !== 'object' || !(saved.weights === null || isWeights(saved.weights))) {
        throw new Error(`${name} strategy state does not match ${taskCount} tasks: ${JSON.stringify(state)}`);
      }
      inner.restore(saved.inner);
      base.restore(saved.gradient);
      weights = saved.weights === null ? undefined : [...saved.weights];
    },
    dispose() {
      inner.dispose?.();
      base.dispose?.();
    },
  };
}

/**
 * c = ∂F/∂L and ∂F/∂φ for F = inner.combineLosses at the given loss values: F is built on constant leaves holding
 * the values (the model's graph is not needed: F depends on the parameters only through the losses), once.
 */
export function lossScales(
  inner: LossWeightingStrategy,
  losses: readonly number[],
  context: StrategyContext,
): { scales: number[]; gradients: Record<string, tf.Tensor> } {
  const variables = inner.variables?.() ?? [];
  const count = losses.length;
  const { scales, own } = tf.tidy(() => {
    const leaves = losses.map((loss) => tf.scalar(loss, 'float32'));
    const { value, grads } = tf.engine().gradients(
      () => inner.combineLosses(leaves, context),
      [...leaves, ...variables],
      undefined,
      // A task whose loss does not enter F (weight 0 in a sum that skips it) or a variable F does not read has
      // gradient 0, not an error.
      true,
    );
    value.dispose();
    const scaleTensors = leaves.map((leaf, i) => grads[i] ?? tf.zerosLike(leaf));
    return {
      scales: tf.stack(scaleTensors),
      own: variables.map((variable, k) => grads[count + k] ?? tf.zerosLike(variable)),
    };
  });
  const values = Array.from(scales.dataSync());
  scales.dispose();
  return { scales: values, gradients: Object.fromEntries(variables.map((v, k) => [v.name, own[k]!])) };
}
