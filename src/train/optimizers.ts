import * as tf from '@tensorflow/tfjs';
import { ADAM_UPDATE_KERNEL, fusedAdamMaxSize, type AdamUpdateAttrs } from '../backend/wasm/index.js';
import type { TrainingConfig } from '../config/types.js';

/**
 * Optimizers written on our own variables rather than tf.train's, so the learning rate can follow a schedule, the
 * state can be saved for an exact resume, and AdamW's decoupled decay exists (tf.train has none).
 */
export interface Optimizer {
  /** Applies one update; `gradients` is keyed by variable name. Disposes nothing it was given. */
  apply(gradients: Record<string, tf.Tensor>, learningRate: number): void;
  /** Named slot variables (moments), for checkpoints. */
  slots(): tf.Variable[];
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
      const zeros = (suffix: string): tf.Variable => tf.tidy(() => tf.variable(tf.zerosLike(variable), false, `${variable.name}/${suffix}`));
      slots.set(variable.name, { m: zeros('m'), ...(needsSecondMoment ? { v: zeros('v') } : {}) });
    }
  }
  let step = 0;
  const { beta1, beta2, epsilon, momentum, weight_decay: decay } = config;
  // Classic L2 (added to the gradient) for sgd/momentum/adam; decoupled decay (Loshchilov & Hutter 2019) for adamw.
  const coupledDecay = config.optimizer === 'adamw' ? 0 : decay;

  const adamLike = config.optimizer === 'adam' || config.optimizer === 'adamw';

  return {
    apply(gradients, lr) {
      step++;
      const bias1 = 1 - beta1 ** step;
      const bias2 = 1 - beta2 ** step;
      // Where the backend has the fused Adam kernel (wasm, backend/wasm/adam.ts), small variables take it: one
      // kernel instead of 13 ops, bit-identical results. Checked per update: tests swap kernels and backends.
      const fusedAdam = adamLike && tf.getKernel(ADAM_UPDATE_KERNEL, tf.getBackend()) !== undefined;
      const fusedMaxSize = fusedAdam ? fusedAdamMaxSize() : 0;
      tf.tidy(() => {
        // The scalars of the op chain, made once per update rather than once per variable and op (the same float32
        // values a JS number passed to tf.mul/tf.add/tf.div becomes, so the same results).
        const cache = new Map<number, tf.Scalar>();
        const scalar = (value: number): tf.Scalar => {
          let t = cache.get(value);
          if (!t) cache.set(value, (t = tf.scalar(value)));
          return t;
        };
        for (const [name, rawGradient] of Object.entries(gradients)) {
          const variable = byName.get(name);
          if (!variable) continue;
          // A strategy's own parameters (log-variances, …) are not model weights: no decay pulls them to zero.
          const decays = !name.startsWith('strategy/');
          const slot = slots.get(name);
          if (fusedAdam && variable.size <= fusedMaxSize && variable.dtype === 'float32') {
            const s = slot as Required<Slots>;
            const attrs: AdamUpdateAttrs = {
              beta1,
              beta2,
              stepSize: lr / bias1,
              bias2,
              epsilon,
              coupledDecay: coupledDecay > 0 && decays ? coupledDecay : 0,
              decoupledDecay: config.optimizer === 'adamw' && decay > 0 && decays ? lr * decay : 0,
            };
            const inputs = { variable, gradient: rawGradient, m: s.m, v: s.v };
            const [w, m, v] = tf.engine().runKernel(ADAM_UPDATE_KERNEL, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
            s.m.assign(m as tf.Tensor);
            s.v.assign(v as tf.Tensor);
            variable.assign(w as tf.Tensor);
            continue;
          }
          const gradient = coupledDecay > 0 && decays ? tf.add(rawGradient, tf.mul(variable, scalar(coupledDecay))) : rawGradient;
          switch (config.optimizer) {
            case 'sgd':
              variable.assign(tf.sub(variable, tf.mul(gradient, scalar(lr))));
              break;
            case 'momentum': {
              const s = slot as Slots;
              const m = tf.add(tf.mul(s.m, scalar(momentum)), gradient);
              s.m.assign(m);
              variable.assign(tf.sub(variable, tf.mul(m, scalar(lr))));
              break;
            }
            case 'adam':
            case 'adamw': {
              const s = slot as Required<Slots>;
              const m = tf.add(tf.mul(s.m, scalar(beta1)), tf.mul(gradient, scalar(1 - beta1)));
              const v = tf.add(tf.mul(s.v, scalar(beta2)), tf.mul(tf.square(gradient), scalar(1 - beta2)));
              s.m.assign(m);
              s.v.assign(v);
              // lr·m̂/(√v̂ + ε) with m̂ = m/(1−β1^t), v̂ = v/(1−β2^t) (Kingma & Ba 2015, Alg. 1).
              let update = tf.div(tf.mul(m, scalar(lr / bias1)), tf.add(tf.sqrt(tf.div(v, scalar(bias2))), scalar(epsilon)));
              if (config.optimizer === 'adamw' && decay > 0 && decays) update = tf.add(update, tf.mul(variable, scalar(lr * decay)));
              variable.assign(tf.sub(variable, update));
              break;
            }
          }
        }
      });
    },
    slots: () => [...slots.values()].flatMap((s) => (s.v ? [s.m, s.v] : [s.m])),
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
