import { tf } from '../tf.js';
import type { TrainingConfig } from '../config/types.js';
import { adamKernelLimit, adamUpdate } from '../ops/adam.js';

/**
 * Optimizers written on our own variables rather than tf.train's, so the learning rate can follow a schedule, the
 * state can be saved for an exact resume, and AdamW's decoupled decay exists (tf.train has none).
 */
export interface Optimizer {
  /** Applies one update; `gradients` is keyed by variable name. Disposes nothing it was given. */
  apply(gradients: Record<string, tf.Tensor>, learningRate: number): void;
  /**
   * The values the variables named in `gradients` would have after `apply(gradients, learningRate)` as the next
   * update (moments and update count as they are now), changing nothing: new tensors the caller disposes.
   */
  lookahead(gradients: Record<string, tf.Tensor>, learningRate: number): Record<string, tf.Tensor>;
  /** Named slot variables (moments), for checkpoints. */
  slots(): tf.Variable[];
  /** Updates applied so far (Adam's bias correction counts them): saved with the slots for an exact resume. */
  readonly updates: number;
  /** Continues from a saved count; the slots are restored by assigning them. */
  restoreUpdates(updates: number): void;
  dispose(): void;
}

interface Slots {
  m: tf.Variable;
  v?: tf.Variable;
}

export function createOptimizer(config: TrainingConfig, variables: readonly tf.Variable[]): Optimizer {
  const byName = new Map(variables.map((variable) => [variable.name, variable]));
  const slots = new Map<string, Slots>();
  const needsSecondMoment = config.optimizer === 'adam' || config.optimizer === 'adamw';
  const needsFirstMoment = needsSecondMoment || config.optimizer === 'momentum';
  if (needsFirstMoment) {
    for (const variable of variables) {
      // Inside tidy, so the zeros each slot starts from do not outlive it.
      const zeros = (suffix: string): tf.Variable =>
        tf.tidy(() => tf.variable(tf.zerosLike(variable), false, `${variable.name}/${suffix}`));
      slots.set(variable.name, { m: zeros('m'), ...(needsSecondMoment ? { v: zeros('v') } : {}) });
    }
  }
  let step = 0;
  const { beta1, beta2, epsilon, momentum, weight_decay: decay } = config;
  // Classic L2 (added to the gradient) for sgd/momentum/adam; decoupled decay (Loshchilov & Hutter 2019) for adamw.
  const coupledDecay = config.optimizer === 'adamw' ? 0 : decay;

  const adamLike = config.optimizer === 'adam' || config.optimizer === 'adamw';

  /**
   * The new value of one variable (and its moments) after one update with `rawGradient` at update number `step`: new
   * tensors in the caller's tidy scope, nothing assigned. `apply` assigns them; `lookahead` keeps only the value.
   */
  const updated = (
    name: string,
    variable: tf.Variable,
    rawGradient: tf.Tensor,
    lr: number,
    step: number,
    scalar: (value: number) => tf.Scalar,
    adamLimit: number,
  ): { variable: tf.Tensor; m?: tf.Tensor; v?: tf.Tensor } => {
    // A strategy's own parameters (log-variances, …) are not model weights: no decay pulls them to zero.
    const decays = !name.startsWith('strategy/');
    const slot = slots.get(name);
    if (adamLike) {
      const s = slot as Required<Slots>;
      const hyper = {
        beta1,
        beta2,
        stepSize: lr / (1 - beta1 ** step),
        bias2: 1 - beta2 ** step,
        epsilon,
        coupledDecay: coupledDecay > 0 && decays ? coupledDecay : 0,
        decoupledDecay: config.optimizer === 'adamw' && decay > 0 && decays ? lr * decay : 0,
      };
      return adamUpdate({ variable, gradient: rawGradient, m: s.m, v: s.v }, hyper, scalar, adamLimit);
    }
    const gradient =
      coupledDecay > 0 && decays ? tf.add(rawGradient, tf.mul(variable, scalar(coupledDecay))) : rawGradient;
    if (config.optimizer === 'sgd') return { variable: tf.sub(variable, tf.mul(gradient, scalar(lr))) };
    const s = slot as Slots;
    const m = tf.add(tf.mul(s.m, scalar(momentum)), gradient);
    return { variable: tf.sub(variable, tf.mul(m, scalar(lr))), m };
  };

  /** The scalars of the op chain, made once per update rather than once per variable and op. */
  const scalarCache = (): ((value: number) => tf.Scalar) => {
    // The same float32 values a JS number passed to tf.mul/tf.add/tf.div becomes, so the same results.
    const cache = new Map<number, tf.Scalar>();
    return (value) => {
      let t = cache.get(value);
      if (!t) {
        t = tf.scalar(value);
        cache.set(value, t);
      }
      return t;
    };
  };

  return {
    apply(gradients, lr) {
      step++;
      // Where the backend has the fused Adam kernel (wasm), variables up to this size take it (ops/adam.ts).
      const adamLimit = adamLike ? adamKernelLimit() : 0;
      tf.tidy(() => {
        const scalar = scalarCache();
        for (const [name, rawGradient] of Object.entries(gradients)) {
          const variable = byName.get(name);
          if (!variable) continue;
          const next = updated(name, variable, rawGradient, lr, step, scalar, adamLimit);
          const slot = slots.get(name);
          if (slot && next.m) slot.m.assign(next.m);
          if (slot?.v && next.v) slot.v.assign(next.v);
          variable.assign(next.variable);
        }
      });
    },
    lookahead(gradients, lr) {
      const adamLimit = adamLike ? adamKernelLimit() : 0;
      return tf.tidy(() => {
        const scalar = scalarCache();
        const out: Record<string, tf.Tensor> = {};
        for (const [name, gradient] of Object.entries(gradients)) {
          const variable = byName.get(name);
          if (variable) out[name] = updated(name, variable, gradient, lr, step + 1, scalar, adamLimit).variable;
        }
        return out;
      });
    },
    slots: () => [...slots.values()].flatMap((s) => (s.v ? [s.m, s.v] : [s.m])),
    get updates() {
      return step;
    },
    restoreUpdates(updates) {
      step = updates;
    },
    dispose() {
      for (const s of slots.values()) {
        s.m.dispose();
        s.v?.dispose();
      }
    },
  };
}

/** Learning rate for an epoch: linear warm-up, then the configured schedule (counted from the end of warm-up). */
export function learningRateAt(config: TrainingConfig, epoch: number): number {
  const base = config.lr;
  if (epoch < config.warmup_epochs) return (base * (epoch + 1)) / (config.warmup_epochs + 1);
  const e = epoch - config.warmup_epochs;
  const schedule = config.schedule;
  switch (schedule.type) {
    case 'constant':
      return base;
    case 'step':
      return base * schedule.gamma ** Math.floor(e / schedule.step_size);
    case 'exponential':
      return base * schedule.gamma ** e;
    case 'cosine': {
      const span = Math.max(1, config.epochs - config.warmup_epochs - 1);
      return schedule.min_lr + 0.5 * (base - schedule.min_lr) * (1 + Math.cos((Math.PI * Math.min(e, span)) / span));
    }
  }
}
